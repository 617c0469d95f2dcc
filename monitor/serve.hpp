#pragma once
// The `--serve HOST:PORT` HTTP server of `view` and `run-group` (CLI.md,
// "Operations"):
//   GET /tables/TABLE/KEY  the value as JSON; 404 with {"error":...} when the
//                          table is not held here or has no such key (KEY is
//                          URL-decoded and may contain '/')
//   GET /stats             JSON (monitor/stats_report.hpp)
//   GET /history           the last 5 minutes of totals, one sample a second
//                          (monitor/stats_history.hpp), for the page's chart
//   GET /metrics           Prometheus text format
//   GET /                  the live monitor page (monitor/monitor_page.hpp)
// Anything else gets a 4xx; an exception in a handler a 500; every error
// status a {"error":...} body. HEAD is answered as GET. The server is our own
// (monitor/http_server.hpp). Handlers run on the server's own threads and
// must be thread-safe.

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "cli/value_codec.hpp"

namespace goka::cli {

// Where the server gets its answers.
struct ServeSource {
  // GET /stats and GET /metrics.
  std::function<nlohmann::json()> stats;
  std::function<std::string()> metrics;
  // GET /tables/TABLE/KEY: the stored value, or std::nullopt for a missing
  // key. Throws goka::Error: Errc::not_found for a table not held here (and
  // for a key whose partition is not).
  std::function<std::optional<std::string>(const std::string& table, const std::string& key)>
      lookup;
  // The codec the values of table are answered with (a value that does not
  // decode is a 500 naming it).
  std::function<ValueCodec(const std::string& table)> codec;
};

class Server {
 public:
  // Listens on address ("HOST:PORT", "[V6]:PORT", ":PORT" or "PORT"; no host:
  // 127.0.0.1; port 0: any free port) and serves on threads of its own.
  // Says "goka-cli: serving http://HOST:PORT/" on stderr when announce (the
  // commands pass "not -q"). Throws goka::Error: Errc::usage for an address
  // that does not parse, Errc::runtime when it cannot listen.
  Server(const std::string& address, ServeSource source, bool announce = true);
  // Stops listening and waits for the server's threads.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The port listened on.
  int port() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace goka::cli
