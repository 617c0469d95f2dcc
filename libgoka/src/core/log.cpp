#include "core/log.hpp"

#include <fmt/format.h>

#include <cstdio>

namespace goka::core {

void log(const ClientOptions& options, LogLevel level, const std::string& line) {
  if (static_cast<int>(level) > static_cast<int>(options.log_level)) return;
  if (options.log) {
    options.log(level, line);
  } else {
    std::fprintf(stderr, "goka: %s\n", line.c_str());
  }
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
  options.log = [next = options.log, prefix = "group=" + group + " "](LogLevel level,
                                                                      const std::string& line) {
    const std::string text = line.starts_with("topic=")
                                 ? prefix + line
                                 : prefix.substr(0, prefix.size() - 1) + ": " + line;
    if (next) {
      next(level, text);
    } else {
      std::fprintf(stderr, "goka: %s\n", text.c_str());
    }
  };
  return options;
}

}  // namespace goka::core
