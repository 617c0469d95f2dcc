#include "core/log.hpp"

#include <fmt/format.h>

#include <cstdio>

namespace goka::core {
namespace {

// To handler, or to stderr when there is none.
void deliver(const LogHandler& handler, LogLevel level, const std::string& line) {
  if (handler) {
    handler(level, line);
  } else {
    std::fprintf(stderr, "goka: %s\n", line.c_str());
  }
}

}  // namespace

void log(const ClientOptions& options, LogLevel level, const std::string& line) {
  if (static_cast<int>(level) > static_cast<int>(options.log_level)) return;
  deliver(options.log, level, line);
}

std::string event_prefix(std::string_view group, std::string_view topic, int32_t partition) {
  std::string out;
  if (!group.empty()) out += fmt::format("group={} ", group);
  if (!topic.empty()) out += fmt::format("topic={} ", topic);
  if (partition >= 0) out += fmt::format("partition={} ", partition);
  if (!out.empty()) out.back() = ':';
  out += ' ';
  return out;
}

ClientOptions with_group(ClientOptions options, const std::string& group) {
  // An event line ("topic=T ...: ...") gets the group in its prefix.
  options.log = [next = options.log, prefix = "group=" + group](LogLevel level,
                                                                const std::string& line) {
    deliver(next, level, prefix + (line.starts_with("topic=") ? " " : ": ") + line);
  };
  return options;
}

}  // namespace goka::core
