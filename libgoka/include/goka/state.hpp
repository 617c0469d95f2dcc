#pragma once
// TableState and PartitionStats: the life cycle and the progress of a table
// partition and of a View (Goka's State_Idle, State_Recovering,
// State_Running, State_Stopped).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace goka {

enum class TableState {
  idle,        // created, not reading yet
  recovering,  // reading the table topic up to the high watermark seen at start
  running,     // recovered: the local copy is up to date and follows new records
  stopped,     // stopped (by stop(), at the end of a non-following view, or by an error)
};

// "idle", "recovering", "running" or "stopped".
constexpr std::string_view to_string(TableState state) noexcept {
  switch (state) {
    case TableState::idle:
      return "idle";
    case TableState::recovering:
      return "recovering";
    case TableState::running:
      return "running";
    case TableState::stopped:
      return "stopped";
  }
  return "unknown";
}

// A snapshot of one table partition's progress. Recovery progress is
// (stored_offset + 1 - start_offset) of (high_watermark - start_offset)
// offsets; records / elapsed recovery time is its rate.
struct PartitionStats {
  std::string topic;
  int32_t partition = -1;
  TableState state = TableState::idle;
  // The offset of the newest record written to local storage (its
  // "__offset"); -1 when the storage has none.
  int64_t stored_offset = -1;
  // The first offset recovery read (stored offset + 1, or the low watermark);
  // -1 before recovery started.
  int64_t start_offset = -1;
  // The high watermark seen when recovery started: recovery reads up to it.
  // Once running, raised to the offset after the newest record applied.
  int64_t high_watermark = -1;
  // Records applied (puts and deletes) since the start, recovery included,
  // and the bytes of their keys and values.
  int64_t records = 0;
  int64_t bytes = 0;
  // Records that were not applied: a key equal to "__offset", which would
  // overwrite the storage offset (Go Goka's storage would let it).
  int64_t skipped = 0;
  // When recovery started and when the partition became running.
  std::optional<std::chrono::system_clock::time_point> recovery_started;
  std::optional<std::chrono::system_clock::time_point> recovery_finished;
};

}  // namespace goka
