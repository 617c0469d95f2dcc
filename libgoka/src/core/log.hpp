#pragma once
// Logging through ClientOptions: lines less severe than options.log_level
// are dropped; the rest go to options.log, or to stderr when it is empty.

#include <cstdint>
#include <string>
#include <string_view>

#include "goka/client_options.hpp"

namespace goka::core {

void log(const ClientOptions& options, LogLevel level, const std::string& line);

// Where an event happened, the prefix of its log line: "group=G topic=T
// partition=P: ", leaving out an empty group or topic and a partition < 0.
std::string event_prefix(std::string_view group, std::string_view topic, int32_t partition = -1);

// options with every line it logs (its own and librdkafka's) prefixed by
// "group=G ", for the views and clients a processor of group G makes.
ClientOptions with_group(ClientOptions options, const std::string& group);

}  // namespace goka::core
