#pragma once
// Which partitions of a topic a reader reads: the requested ones, sorted and
// without repeats, or all of them when none were requested.

#include <cstdint>
#include <string>
#include <vector>

#include "core/backend.hpp"

namespace goka::core {

struct PartitionSelection {
  int32_t count = 0;                // the topic's partitions
  std::vector<int32_t> partitions;  // those to read, ascending
};

// Throws Errc::not_found (naming the topic) when it does not exist, and
// Errc::usage for a requested partition it does not have. Never creates it.
PartitionSelection select_partitions(Admin& admin, const std::string& topic,
                                     std::vector<int32_t> requested);

}  // namespace goka::core
