#include "goka/hasher.hpp"

namespace goka {

uint32_t fnv1a32(std::string_view key) noexcept {
  uint32_t hash = 0x811C9DC5u;
  for (unsigned char byte : key) {
    hash ^= byte;
    hash *= 0x01000193u;
  }
  return hash;
}

int32_t partition_for(std::string_view key, int32_t partitions) noexcept {
  // Go Goka: int32(hash) % n, truncating toward zero, then the absolute value.
  auto signed_hash = static_cast<int32_t>(fnv1a32(key));
  int32_t p = signed_hash % partitions;
  return p < 0 ? -p : p;
}

}  // namespace goka
