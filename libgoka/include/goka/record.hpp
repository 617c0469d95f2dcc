#pragma once
// Records as they are read from and written to Kafka.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace goka {

// Kafka record headers in their order; a name may repeat.
using Headers = std::vector<std::pair<std::string, std::string>>;

// A record read from a topic. A null value (std::nullopt) is a tombstone.
struct Record {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp = 0;  // milliseconds since the epoch, as the broker reports it
  std::optional<std::string> key;
  std::optional<std::string> value;
  Headers headers;
};

}  // namespace goka
