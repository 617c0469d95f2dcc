#pragma once
// ExecHandler: the `run-group --exec CMD` handler process, speaking JSON lines
// on its stdin and stdout (CLI.md): one request per message, one response
// per request, with lookup requests in between.

#include <sys/types.h>

#include <cstdio>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

namespace goka::cli {

class ExecHandler {
 public:
  // Answers a lookup request: the value of key in table (null when none).
  using Lookup = std::function<nlohmann::json(const std::string& table, const std::string& key)>;

  // Starts `/bin/sh -c command` with pipes on its stdin and stdout; its
  // stderr is ours. Throws goka::Error(Errc::runtime) when it cannot.
  explicit ExecHandler(const std::string& command);
  // Closes its stdin, gives it a moment to exit, then kills it.
  ~ExecHandler();
  ExecHandler(const ExecHandler&) = delete;
  ExecHandler& operator=(const ExecHandler&) = delete;

  // Sends request and returns the response object, answering lookups on the
  // way. Thread-safe: one exchange at a time. Throws goka::Error
  // (Errc::runtime) when the handler died, closed its output, or answered
  // something that is not a JSON object.
  nlohmann::json call(const nlohmann::json& request, const Lookup& lookup);

 private:
  [[noreturn]] void died(const std::string& what);
  // Closes its stdin, gives it a moment to exit, then kills it; closes its
  // stdout. Idempotent.
  void stop();

  std::string command_;
  pid_t pid_ = -1;
  FILE* to_ = nullptr;    // the handler's stdin
  FILE* from_ = nullptr;  // the handler's stdout
  std::mutex mutex_;
};

}  // namespace goka::cli
