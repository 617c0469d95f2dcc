#pragma once
// Goka's key-to-partition mapping, byte-compatible with Go Goka.

#include <cstdint>
#include <string_view>

namespace goka {

// FNV-1a 32-bit hash of the raw key bytes.
uint32_t fnv1a32(std::string_view key) noexcept;

// The partition Goka assigns to key among partitions:
// p = int32(fnv1a32(key)) % partitions (truncating), negated when negative.
// REQUIRES: partitions > 0.
int32_t partition_for(std::string_view key, int32_t partitions) noexcept;

}  // namespace goka
