#pragma once
// Statistics of a Processor's partitions (internal). Never wait for the
// cluster: watermarks are those the consumer's last fetch saw.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/backend.hpp"
#include "core/partition_slot.hpp"
#include "goka/processor.hpp"

namespace goka::core {

// What one consumed partition still has to process: from the next offset
// committed, else from right after the last record handed over, else from
// where the consumer starts (the low watermark for StartPolicy::earliest,
// the end for latest), to high; never from below low (records trimmed).
// std::nullopt when that start is not known yet (earliest, low unknown).
std::optional<int64_t> input_lag(int64_t high, std::optional<int64_t> low,
                                 std::optional<int64_t> committed,
                                 std::optional<int64_t> next_handed_over, StartPolicy start);

// A snapshot of slot's figures; consumed are the topics it reads (inputs and
// loop). REQUIRES: the processor mutex held (see PartitionSlot).
ProcessorPartitionStats slot_stats(const PartitionSlot& slot, const GroupConsumer& consumer,
                                   const std::vector<std::string>& consumed, StartPolicy start,
                                   std::chrono::steady_clock::time_point now);

}  // namespace goka::core
