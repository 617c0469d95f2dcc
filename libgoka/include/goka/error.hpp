#pragma once
// goka::Error: the one exception type of libgoka.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace goka {

// What kind of failure an Error is. goka-cli maps each to an exit code.
enum class Errc {
  runtime,      // anything else going wrong while running (exit 1)
  kafka,        // the broker or librdkafka reported an error (exit 1)
  decode,       // a codec could not decode or encode a value (exit 1)
  usage,        // the API or a command was used wrongly (exit 2)
  config,       // a configuration value is invalid (exit 2)
  not_found,    // a topic, key, group or file does not exist (exit 3)
  timeout,      // an operation did not finish in its time limit (exit 4)
  interrupted,  // stopped by a signal or stop() (exit 130)
};

// Where an error happened. Every field is optional; what() includes those set.
struct ErrorContext {
  std::optional<std::string> topic{};
  std::optional<int32_t> partition{};
  std::optional<int64_t> offset{};
  std::optional<std::string> detail{};  // free text, e.g. "line 17" or "brokers localhost:1"
};

// Thrown for setup errors and API misuse; returned from run() of processors.
// what() is "<message> (<topic=..., partition=..., offset=..., detail>)" with
// the context part left out when empty. Thread-safe to copy.
class Error : public std::runtime_error {
 public:
  Error(Errc code, std::string message, ErrorContext context = {});

  Errc code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  const ErrorContext& context() const noexcept { return context_; }
  // The context alone, "topic=t, partition=1, offset=7", or "" when empty.
  std::string context_text() const;

 private:
  Errc code_;
  std::string message_;
  ErrorContext context_;
};

}  // namespace goka
