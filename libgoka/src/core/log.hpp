#pragma once
// Logging through ClientOptions: lines less severe than options.log_level
// are dropped; the rest go to options.log, or to stderr when it is empty.

#include <string>

#include "goka/client_options.hpp"

namespace goka::core {

void log(const ClientOptions& options, LogLevel level, const std::string& line);

}  // namespace goka::core
