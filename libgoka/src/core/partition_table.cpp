#include "core/partition_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <exception>
#include <utility>

#include "goka/error.hpp"

namespace goka::core {

PartitionTable::PartitionTable(std::string topic, int32_t partition,
                               std::unique_ptr<Storage> storage, PartitionTableOptions options)
    : topic_(std::move(topic)),
      partition_(partition),
      options_(std::move(options)),
      storage_(std::move(storage)) {
  if (!storage_) {
    throw Error(Errc::usage, "a partition table needs a storage",
                {.topic = topic_, .partition = partition_});
  }
  stats_.topic = topic_;
  stats_.partition = partition_;
}

PartitionTable::~PartitionTable() {
  try {
    storage_->close();
  } catch (...) {
    // close() loses nothing (every write is in the storage's log); a failure
    // to release has nowhere to go from a destructor.
  }
}

void PartitionTable::log(LogLevel level, const std::string& line) const {
  if (options_.log) options_.log(level, line);
}

void PartitionTable::set_state(TableState state) {
  if (state_.exchange(state) == state) return;
  {
    std::lock_guard lock(stats_mutex_);
    stats_.state = state;
  }
  if (options_.on_state) options_.on_state(state);
}

int64_t PartitionTable::start(const Watermarks& watermarks) {
  if (state_.load() != TableState::idle) {
    throw Error(Errc::usage, "partition table started twice",
                {.topic = topic_, .partition = partition_});
  }
  std::optional<int64_t> stored = storage_->get_offset();
  int64_t from = watermarks.low;
  if (stored) {
    if (*stored + 1 > watermarks.high) {
      throw Error(Errc::config,
                  fmt::format("local storage is ahead of the table topic: stored offset {}, "
                              "high watermark {}",
                              *stored, watermarks.high),
                  {.topic = topic_,
                   .partition = partition_,
                   .offset = *stored,
                   .detail = "the topic was recreated or the storage belongs to another topic; "
                             "delete the storage to recover from scratch"});
    }
    if (*stored + 1 < watermarks.low) {
      log(LogLevel::warning,
          fmt::format("topic={} partition={}: stored offset {} is below the low watermark {}: "
                      "offsets {}..{} are gone from the topic; continuing from {} with the "
                      "local data kept, so updates and deletes in that gap are missing",
                      topic_, partition_, *stored, watermarks.low, *stored + 1, watermarks.low - 1,
                      watermarks.low));
    } else {
      from = *stored + 1;
    }
  }
  next_offset_ = from;
  end_offset_ = watermarks.high;
  {
    std::lock_guard lock(stats_mutex_);
    stats_.stored_offset = stored.value_or(-1);
    stats_.start_offset = from;
    stats_.high_watermark = watermarks.high;
    stats_.recovery_started = std::chrono::system_clock::now();
  }
  if (from >= end_offset_) {
    finish_recovery();
  } else {
    log(LogLevel::info, fmt::format("topic={} partition={}: recovering offsets {}..{}", topic_,
                                    partition_, from, end_offset_ - 1));
    set_state(TableState::recovering);
  }
  return from;
}

void PartitionTable::apply(const Record& record) {
  TableState state = state_.load();
  if (state != TableState::recovering && state != TableState::running) {
    throw Error(Errc::usage,
                fmt::format("record applied to a partition table in state {}", to_string(state)),
                {.topic = topic_, .partition = partition_, .offset = record.offset});
  }
  if (record.offset < next_offset_) return;  // read twice
  if (options_.stop_at_end && record.offset >= end_offset_) return;
  next_offset_ = record.offset + 1;
  std::string_view key = record.key ? std::string_view(*record.key) : std::string_view();
  int64_t bytes = static_cast<int64_t>(key.size() + (record.value ? record.value->size() : 0));
  if (key == kOffsetKey) {
    log(LogLevel::warning,
        fmt::format("topic={} partition={} offset={}: skipped a record with the reserved key "
                    "\"{}\"",
                    topic_, partition_, record.offset, kOffsetKey));
    std::lock_guard lock(stats_mutex_);
    ++stats_.skipped;
  } else {
    if (record.value) {
      batch_.put(key, *record.value);
    } else {
      batch_.erase(key);
    }
    ++batch_records_;
    batch_bytes_ += bytes;
  }
  batch_.set_offset(record.offset);
  if (record.offset >= end_offset_ && options_.on_change) changes_.push_back(record);
  if (state == TableState::recovering && next_offset_ >= end_offset_) {
    finish_recovery();
  } else if (batch_.count() >= options_.max_batch_records ||
             batch_.approximate_bytes() >= options_.max_batch_bytes) {
    flush();
  }
}

void PartitionTable::reached(int64_t position) {
  if (state_.load() == TableState::recovering && position >= end_offset_) finish_recovery();
}

void PartitionTable::finish_recovery() {
  flush();
  {
    std::lock_guard lock(write_mutex_);
    storage_->mark_recovered();
  }
  std::string line;
  {
    std::lock_guard lock(stats_mutex_);
    stats_.recovery_finished = std::chrono::system_clock::now();
    line = fmt::format(
        "topic={} partition={}: recovered, {} records in {:.3f} s, stored offset {}", topic_,
        partition_, stats_.records,
        std::chrono::duration<double>(*stats_.recovery_finished -
                                      stats_.recovery_started.value_or(*stats_.recovery_finished))
            .count(),
        stats_.stored_offset);
  }
  log(LogLevel::info, line);
  recovered_ = true;
  set_state(TableState::running);
}

void PartitionTable::flush() {
  if (batch_.empty()) return;
  {
    std::lock_guard lock(write_mutex_);
    storage_->apply(batch_);
  }
  {
    std::lock_guard lock(stats_mutex_);
    stats_.stored_offset = batch_.offset().value_or(stats_.stored_offset);
    stats_.high_watermark = std::max(stats_.high_watermark, next_offset_);
    stats_.records += batch_records_;
    stats_.bytes += batch_bytes_;
  }
  batch_records_ = 0;
  batch_bytes_ = 0;
  batch_.clear();
  std::vector<Record> changes;
  changes.swap(changes_);
  for (const Record& change : changes) {
    try {
      options_.on_change(change);
    } catch (const std::exception& e) {
      throw Error(Errc::runtime, fmt::format("change callback failed: {}", e.what()),
                  {.topic = topic_, .partition = partition_, .offset = change.offset});
    } catch (...) {
      throw Error(Errc::runtime, "change callback failed",
                  {.topic = topic_, .partition = partition_, .offset = change.offset});
    }
  }
}

void PartitionTable::stop() noexcept {
  try {
    set_state(TableState::stopped);
  } catch (...) {
    // on_state must not throw; nothing to do if it does.
  }
}

PartitionStats PartitionTable::stats() const {
  std::lock_guard lock(stats_mutex_);
  return stats_;
}

void PartitionTable::evict(std::string_view key) {
  std::lock_guard lock(write_mutex_);
  storage_->erase(key);
}

}  // namespace goka::core
