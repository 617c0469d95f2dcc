#pragma once
// PartitionProcessor: processes the messages of ONE partition of a processor
// group, in order (internal; the heart of Processor and Tester).
//
// Partition p of a group is partition p of every input topic and of the loop
// topic, with partition p of the group table and of every joined table. The
// processor runs the graph's callback for each message with a Context whose
// calls act on the storages and the producer given here:
//
//   set_value / delete_value  write config.table at once (under the
//                             processor's storage lock), then produce to
//                             <group>-table, partition p; once acknowledged,
//                             the storage's offset advances to the record's
//                             offset (monotonically: never backwards)
//   emit                      produce to the output, partition_for(key, n)
//                             with n = config.partition_count(topic)
//   loopback                  produce to <group>-loop, partition of key
//   join / lookup             read config.joins[table] / config.lookup
//   defer_commit              a completion the message's commit waits for
//
// Every output is tracked by a CommitTracker (core/commit_tracker.hpp):
// committable() tells, per topic, the offset to commit.
//
// The run loop that owns it (Processor, Tester):
//
//   PartitionProcessor pp(config);            // after the tables are recovered
//   for each record of partition p (inputs and loop topic, in offset order):
//     pp.process(record);                     // throws the processor's error
//   commit(pp.committable());                 // from time to time
//   // and the shared producer's DeliveryHandler forwards every report:
//   //   PartitionProcessor::deliver(delivery, tag);
//
// Before destroying it (revoke, shutdown): stop feeding it, flush the
// producer, then drain() (waits for deferred completions too), commit
// committable() one last time.
//
// Errors: the first failure (callback exception, fail(), emit to an
// undeclared topic, codec error, failed produce, failed deferred
// completion) is kept: error() returns it, and process() throws it, now and
// on every later call. It names the failed message's topic, partition and
// offset. Nothing at or after that message becomes committable.
//
// Thread-safety: process() is called by one thread at a time. deliver() is
// called from the producer's thread. committable(), error(), drain(),
// in_flight() and deliveries() may be called from any thread. The storages
// may be read from any thread (Storage's contract) while it runs.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/backend.hpp"
#include "core/commit_tracker.hpp"
#include "goka/emitter.hpp"
#include "goka/error.hpp"
#include "goka/graph.hpp"
#include "goka/record.hpp"
#include "goka/storage.hpp"

namespace goka::core {

// The value of key in lookup table table (a full copy of every partition);
// std::nullopt when it has none. May throw goka::Error (which fails the
// message). Called from the processing thread.
using LookupFunction =
    std::function<std::optional<std::string>(const std::string& table, std::string_view key)>;

// The partition count of a topic the processor produces into (outputs, the
// loop topic). May throw goka::Error (which fails the message). Called from
// the processing thread, at most once per topic (the result is cached).
using PartitionCountFunction = std::function<int32_t(const std::string& topic)>;

// What a PartitionProcessor works with. Nothing is owned: everything must
// outlive the processor.
struct PartitionProcessorConfig {
  // The group graph. REQUIRES: validated.
  const GroupGraph* graph = nullptr;
  // The partition processed.
  int32_t partition = 0;
  // The group table's storage of this partition, recovered. REQUIRES: set
  // iff the graph has a persist edge. The processor is its only writer.
  Storage* table = nullptr;
  // Joined table -> its storage of this partition (recovered, kept up to
  // date by its owner). REQUIRES: an entry for every join edge.
  std::map<std::string, const Storage*> joins;
  // REQUIRES: set when the graph has lookup edges.
  LookupFunction lookup;
  // Produces every output, with a CommitTracker::Message* as tag; its
  // DeliveryHandler must forward every report to deliver().
  Producer* producer = nullptr;
  // REQUIRES: set when the graph has output or loop edges.
  PartitionCountFunction partition_count;
  // false: set_value/delete_value write the table storage at once, and each
  // acknowledgement stores the table offset. true: they go to an overlay
  // that the callbacks read (their own writes), which flush() writes to the
  // storage as one batch with the newest acknowledged offset: one storage
  // write per key and batch instead of two per message.
  bool batch_writes = false;
};

class PartitionProcessor {
 public:
  // Throws Errc::usage when config misses something the graph needs.
  explicit PartitionProcessor(PartitionProcessorConfig config);
  // REQUIRES: deliveries() == 0 (flush the producer first). Deferred
  // completions may outlive it (calling them then does nothing).
  ~PartitionProcessor();
  PartitionProcessor(const PartitionProcessor&) = delete;
  PartitionProcessor& operator=(const PartitionProcessor&) = delete;

  int32_t partition() const { return partition_; }
  const GroupGraph& graph() const { return graph_; }

  // Processes one message: runs its topic's callback (or not, for a null
  // value under NilHandling::ignore) and tracks its outputs. Returns when
  // the callback returned; its outputs are acknowledged later.
  // Throws the processor's error (see the file comment) when this or an
  // earlier message failed, and Errc::usage, without failing the processor,
  // for a record of another partition, of a topic the graph does not
  // consume, or with an offset not above the last one of its topic.
  void process(const Record& record);

  // Forwards a delivery report of a record produced with a tracker's tag.
  static void deliver(const Delivery& delivery, void* tag) noexcept {
    CommitTracker::deliver(delivery, tag);
  }

  // Writes the overlay (see PartitionProcessorConfig::batch_writes) and the
  // newest acknowledged table offset to the table storage. Without
  // batch_writes only the offset is left to write, and nothing is.
  // REQUIRES: not concurrent with process() (the processing thread, or
  // another once process() is not called any more).
  void flush();
  // The newest acknowledged table offset (-1: none), stored or not yet.
  int64_t table_offset() const;

  // Exactly once, with batch_writes: the overlay of the transaction being
  // committed is sealed, while the messages after it (the next
  // transaction's) write a new overlay. Reads see the new overlay, then the
  // sealed one, then the storage.
  //
  // seal_overlay() makes the current overlay the sealed one (merging it
  // into a sealed overlay not applied yet). REQUIRES: as flush().
  void seal_overlay();
  // Writes the sealed overlay and table_offset (when above the stored one)
  // to the table storage as one batch, and drops the sealed overlay; the
  // current overlay stays. Any thread; not concurrent with seal_overlay().
  // REQUIRES: table_offset is table_offset() read once the sealed overlay's
  // transaction committed and before any record of the next one went to
  // the producer.
  void apply_sealed(int64_t table_offset);
  // See CommitTracker::mark() and wait_through().
  uint64_t mark() const { return tracker_.mark(); }
  bool wait_through(uint64_t mark, std::chrono::milliseconds timeout) const {
    return tracker_.wait_through(mark, timeout);
  }

  // Per topic, the offset to commit (see CommitTracker::committable()).
  std::map<std::string, int64_t> committable() const { return tracker_.committable(); }
  // The first failure, if any.
  std::optional<Error> error() const { return tracker_.error(); }
  // Waits until every message processed is complete, or the processor
  // failed and no record is in flight. Returns false on timeout.
  bool drain(std::chrono::milliseconds timeout) const { return tracker_.wait(timeout); }
  // Messages processed and not complete yet; records not acknowledged yet.
  std::size_t in_flight() const { return tracker_.in_flight(); }
  std::size_t deliveries() const { return tracker_.deliveries(); }

 private:
  class MessageContext;

  std::optional<Error> on_delivery(const Delivery& delivery);
  // Writes value (std::nullopt: a delete) of key to the overlay or storage.
  void write(const std::string& key, std::optional<std::string_view> value);
  int32_t partitions_of(const std::string& topic);

  const GroupGraph& graph_;
  const int32_t partition_;
  Storage* const table_;
  const std::map<std::string, const Storage*> joins_;
  const LookupFunction lookup_;
  Producer* const producer_;
  const PartitionCountFunction partition_count_;
  const std::optional<std::string> table_topic_;
  const std::optional<std::string> loop_topic_;
  // Topic consumed -> its callback (inputs and the loop topic).
  std::map<std::string, ProcessCallback, std::less<>> callbacks_;
  std::set<std::string, std::less<>> outputs_;                    // declared outputs
  std::set<std::string, std::less<>> lookups_;                    // declared lookup tables
  std::map<std::string, int32_t, std::less<>> partition_counts_;  // processing thread only

  const bool batch_writes_;
  // Key -> value (std::nullopt: deleted) written and not flushed yet;
  // processing thread (see flush()).
  std::unordered_map<std::string, std::optional<std::string>> overlay_;
  // The sealed overlay (see seal_overlay()); guarded by storage_mutex_.
  // has_sealed_: it may be non-empty (reads skip the mutex otherwise).
  std::unordered_map<std::string, std::optional<std::string>> sealed_;
  std::atomic<bool> has_sealed_{false};

  // Serialises the writes of the group table storage: set/erase by the
  // processing thread, set_offset by the producer's thread.
  mutable std::mutex storage_mutex_;
  int64_t table_offset_ = -1;   // newest acknowledged; guarded by storage_mutex_
  int64_t stored_offset_ = -1;  // in the storage; guarded by storage_mutex_

  CommitTracker tracker_;  // last: destroyed first
};

}  // namespace goka::core
