#include "core/log.hpp"

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

}  // namespace goka::core
