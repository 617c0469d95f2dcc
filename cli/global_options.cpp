#include "cli/global_options.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <atomic>
#include <mutex>

#include "cli/proto_options.hpp"
#include "goka/error.hpp"

namespace goka::cli {

namespace {

// The level log() writes up to; set once from -q/-v when parsing completes.
std::atomic<int> log_threshold{static_cast<int>(LogLevel::warning)};

LogLevel wanted_level(const GlobalOptions& g) {
  if (g.quiet > 0) return LogLevel::error;
  if (g.verbose >= 2) return LogLevel::debug;
  if (g.verbose == 1) return LogLevel::info;
  return LogLevel::warning;
}

}  // namespace

void add_global_options(CLI::App& app, GlobalOptions& g) {
  app.add_option("-b,--brokers", g.brokers,
                 "Bootstrap servers (default: $GOKA_BROKERS, else localhost:9092)")
      ->envname("GOKA_BROKERS")
      ->type_name("LIST");
  app.add_option("-X,--property", g.properties,
                 "librdkafka property KEY=VALUE (repeatable: TLS, SASL, timeouts, ...)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  app.add_option("-F,--config", g.config_file,
                 "librdkafka key=value properties file (default: $GOKA_CLI_CONFIG)")
      ->envname("GOKA_CLI_CONFIG")
      ->type_name("FILE");
  app.add_flag("-q,--quiet", g.quiet, "Less on stderr: errors only");
  app.add_flag("-v,--verbose", g.verbose, "More on stderr (-vv: librdkafka's debug log too)");
  app.add_option("--timeout", g.timeout_seconds,
                 "Seconds to wait for an unreachable cluster before failing")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.parse_complete_callback(
      [&g] { log_threshold = static_cast<int>(wanted_level(g)); });
}

namespace {

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::error: return "error";
    case LogLevel::warning: return "warning";
    case LogLevel::info: return "info";
    case LogLevel::debug: return "debug";
  }
  return "log";
}

}  // namespace

void log(LogLevel level, const std::string& text) {
  if (static_cast<int>(level) > log_threshold.load()) return;
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  std::fprintf(stderr, "goka-cli: %s: %s\n", level_name(level), text.c_str());
}

void note(const std::string& text) {
  if (log_threshold.load() < static_cast<int>(LogLevel::warning)) return;
  std::fprintf(stderr, "goka-cli: %s\n", text.c_str());
}

bool stderr_is_tty() { return isatty(STDERR_FILENO) == 1; }

ClientOptions client_options(const GlobalOptions& g) {
  ClientOptions options;
  options.brokers = g.brokers.empty() ? "localhost:9092" : g.brokers;
  if (!g.config_file.empty()) options.properties = read_properties_file(g.config_file);
  for (const auto& property : g.properties) set_property(options.properties, property);
  std::erase_if(options.properties,
                [](const auto& entry) { return entry.first.starts_with(proto_property_prefix); });
  options.timeout = std::chrono::milliseconds(static_cast<int64_t>(g.timeout_seconds * 1000));
  options.log_level = wanted_level(g);
  options.log = [](LogLevel level, const std::string& line) { log(level, line); };
  return options;
}

}  // namespace goka::cli
