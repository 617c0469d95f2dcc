#pragma once
// NAME:PARTITIONS, as `broker -t` and `topics create` take a topic.

#include <cstdint>
#include <string>
#include <utility>

namespace goka::cli {

// Splits spec at its last ':' into a name and a partition count >= 1. Throws
// goka::Error(Errc::usage) naming spec and what (e.g. "--topic") otherwise.
std::pair<std::string, int32_t> parse_topic_spec(const std::string& spec, const std::string& what);

}  // namespace goka::cli
