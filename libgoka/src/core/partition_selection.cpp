#include "core/partition_selection.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace goka::core {

PartitionSelection select_partitions(Admin& admin, const std::string& topic,
                                     std::vector<int32_t> requested) {
  std::optional<int32_t> count = admin.partitions(topic);
  if (!count) throw Error(Errc::not_found, "topic does not exist", {.topic = topic});
  if (requested.empty()) {
    for (int32_t p = 0; p < *count; ++p) requested.push_back(p);
  }
  std::sort(requested.begin(), requested.end());
  requested.erase(std::unique(requested.begin(), requested.end()), requested.end());
  for (int32_t p : requested) {
    if (p < 0 || p >= *count) {
      throw Error(Errc::usage, fmt::format("no partition {}: the topic has {}", p, *count),
                  {.topic = topic});
    }
  }
  return {*count, std::move(requested)};
}

}  // namespace goka::core
