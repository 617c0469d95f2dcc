#pragma once
// The options every goka-cli subcommand shares, and what they turn into.

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "goka/client_options.hpp"

namespace goka::cli {

struct GlobalOptions {
  std::string brokers;                  // -b; default $GOKA_BROKERS, else localhost:9092
  std::vector<std::string> properties;  // -X key=value, repeatable
  std::string config_file;              // -F; default $GOKA_CLI_CONFIG
  int quiet = 0;                        // -q
  int verbose = 0;                      // -v (repeatable)
  double timeout_seconds = 10;          // --timeout
};

// Adds -b, -X, -F, -q, -v, --timeout to app (inherited by subcommands),
// filled into options, which main() owns and passes to every command. Once
// parsed, -q and -v set the level of log().
void add_global_options(CLI::App& app, GlobalOptions& options);

// Client options from the global options: -F file first, then -X on top,
// without goka-cli's own goka.proto.* keys (cli/proto_options.hpp).
// Throws goka::Error (Errc::config / not_found) for a bad file or property.
ClientOptions client_options(const GlobalOptions& global);

// Writes "goka-cli: <level>: <text>" to stderr unless quiet; info needs -v
// and debug -vv (as set by the parsed -q/-v; warnings before that).
// Thread-safe.
void log(LogLevel level, const std::string& text);

// Writes "goka-cli: <text>" to stderr unless -q: a command's summary line.
void note(const std::string& text);

// True when stderr is a terminal and progress may be drawn.
bool stderr_is_tty();

}  // namespace goka::cli
