#pragma once
// PartitionTable: the local copy of ONE partition of a table topic, kept in a
// Storage: recovery from the stored offset to the high watermark seen at
// start, then following new records (internal; used by View, later by the
// processor's group and joined tables).
//
// It does not read Kafka itself: one driver thread reads many partitions with
// one core::PartitionReader (256 partitions must not mean 256 threads) and
// feeds each table its records:
//
//   int64_t from = table.start(admin.watermarks(topic, partition));
//   if (!table.recovered()) reader->start(partition, from);
//   while (...) {
//     reader->poll(records, wait);
//     for (const Record& r : records) table.apply(r);       // the partition's own records
//     table.reached(reader->position(partition));          // gaps at the end
//     table.flush();                                       // visible to readers now
//   }
//
// Recovery writes WriteBatches of at most max_batch_records records and about
// max_batch_bytes bytes, each with its offset, so memory stays flat however
// large the table is (Goka issue #209) and a crash loses a suffix of batches,
// never consistency. A tombstone (null value) deletes its key; a null key is
// stored under the empty key, as Go Goka does.
//
// Thread-safety: start, apply, reached, flush and stop are called by one
// driver thread. state(), recovered(), stats(), storage() reads and evict()
// may be called from any thread at any time.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "goka/client_options.hpp"
#include "goka/record.hpp"
#include "goka/state.hpp"
#include "goka/storage.hpp"
#include "goka/topic_manager.hpp"

namespace goka::core {

struct PartitionTableOptions {
  // A batch is written once it holds this many records ...
  std::size_t max_batch_records = 10000;
  // ... or this many bytes (WriteBatch::approximate_bytes()), whichever first.
  std::size_t max_batch_bytes = 4 * 1024 * 1024;
  // true: records at or past the high watermark seen at start are ignored
  // (a recovery that ends there); false: they are applied (a view that follows).
  bool stop_at_end = false;
  // Receives warnings (e.g. a trimmed topic). Called from the driver thread;
  // must not throw. Empty: dropped.
  LogHandler log;
  // Called from flush() for every record at or past the high watermark seen
  // at start (a change after recovery), once it is in the storage, in offset
  // order. An exception it throws makes flush() throw Errc::runtime.
  std::function<void(const Record&)> on_change;
  // Called from the driver thread on every state change, with the new state.
  // Must not throw.
  std::function<void(TableState)> on_state;
};

class PartitionTable {
 public:
  // Takes ownership of storage, the local copy of partition of topic.
  // REQUIRES: storage != nullptr.
  PartitionTable(std::string topic, int32_t partition, std::unique_ptr<Storage> storage,
                 PartitionTableOptions options = {});
  // Closes the storage. Does not flush.
  ~PartitionTable();
  PartitionTable(const PartitionTable&) = delete;
  PartitionTable& operator=(const PartitionTable&) = delete;

  const std::string& topic() const { return topic_; }
  int32_t partition() const { return partition_; }

  // Starts recovery given the partition's watermarks now and returns the
  // offset to read from: the stored offset + 1, or the low watermark when
  // the storage has no offset. The high watermark is the end of recovery;
  // when there is nothing to read the table goes straight to running.
  //
  // A stored offset + 1 below the low watermark (records were deleted by
  // retention or trimmed before this copy read them) logs a warning and
  // reads from the low watermark, keeping the stored data, as Go Goka does:
  // values whose updates or deletes were lost stay as they are.
  //
  // Throws Errc::config naming topic, partition, stored offset and high
  // watermark when the stored offset + 1 is above the high watermark (the
  // topic was recreated, or the storage belongs to another topic); the
  // errors of the storage.
  // REQUIRES: state() == idle.
  int64_t start(const Watermarks& watermarks);

  // Applies one record of this partition: adds a put (or a delete for a
  // tombstone) and its offset to the current batch, and writes the batch
  // when it is full. Records must come in offset order; one at or below the
  // offset already applied is ignored (read twice after a reconnect). The
  // record that reaches the end of recovery writes the batch, marks the
  // storage recovered and makes the table running.
  // Throws the storage's errors, and what flush() throws.
  // REQUIRES: state() is recovering or running; record.partition == partition().
  void apply(const Record& record);

  // Tells the table that its reader has passed every offset below position
  // (-1: unknown). Completes recovery when position reaches its end, which
  // matters when the last offsets are no records (compaction, transaction
  // markers). Throws as flush().
  void reached(int64_t position);

  // Writes the current batch (if any), then calls on_change for the changes
  // in it. Call after each round of apply() so that readers see the records.
  // Throws the storage's errors, and Errc::runtime when on_change threw.
  void flush();

  // Makes the table stopped. Does not flush (call flush() first for a clean
  // stop); the storage stays open for reads until destruction. Idempotent.
  void stop() noexcept;

  // The offset to continue reading at: the newest offset applied + 1 (or
  // the start offset before any record).
  int64_t next_offset() const { return next_offset_; }
  // The end of recovery (the high watermark seen at start); -1 before start().
  int64_t end_offset() const { return end_offset_; }

  TableState state() const { return state_.load(); }
  // Whether recovery completed (running, or stopped after running).
  bool recovered() const { return recovered_.load(); }
  // Records and bytes count once their batch is stored (flush()).
  PartitionStats stats() const;

  // The local copy, for reads (has, get, iterators: thread-safe).
  const Storage& storage() const { return *storage_; }
  // Removes key from the local copy only (the table topic is untouched): a
  // later record of key brings it back. Serialised with the table's writes.
  void evict(std::string_view key);

 private:
  void set_state(TableState state);
  void finish_recovery();
  void log(LogLevel level, const std::string& line) const;

  const std::string topic_;
  const int32_t partition_;
  const PartitionTableOptions options_;
  std::unique_ptr<Storage> storage_;

  // Driver thread only.
  WriteBatch batch_;
  std::vector<Record> changes_;  // records of batch_ to report to on_change
  // Records and bytes in batch_, added to stats_ when it is stored (one
  // lock per batch rather than per record).
  int64_t batch_records_ = 0;
  int64_t batch_bytes_ = 0;
  int64_t next_offset_ = -1;
  int64_t end_offset_ = -1;

  std::atomic<TableState> state_{TableState::idle};
  std::atomic<bool> recovered_{false};

  std::mutex write_mutex_;  // serialises storage writes (driver's and evict's)
  mutable std::mutex stats_mutex_;
  PartitionStats stats_;  // guarded by stats_mutex_
};

}  // namespace goka::core
