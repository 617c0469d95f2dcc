#pragma once
// PartitionSlot: what a Processor holds for one assigned partition number
// (internal): the storages of its group table and joined tables, its
// PartitionProcessor once recovered, and its counters.
//
// Ownership: the slot owns its storages and its processor. The storages are
// declared first, so they are destroyed last: the processor writes them, and
// acknowledgements of its outputs (on the producer's thread) write the
// table's offset. A slot whose processor still waits for acknowledgements
// when its partition is revoked is kept by the Processor (retired) until
// they arrived or the producer is gone, so storages outlive everything that
// can acknowledge into them.
//
// Thread-safety, per member: `run thread` members are touched only by the
// Processor's run() thread; `processor mutex` ones are written by the run
// thread holding the Processor's mutex and read by any thread holding it;
// atomics are shared with the pool's tasks of this partition.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "core/output_gate.hpp"
#include "core/partition_processor.hpp"
#include "goka/record.hpp"
#include "goka/state.hpp"
#include "goka/storage.hpp"

namespace goka::core {

struct PartitionSlot {
  PartitionSlot(int32_t partition, std::shared_ptr<Storage> table_storage,
                std::map<std::string, std::shared_ptr<Storage>> join_storages)
      : number(partition), table(std::move(table_storage)), joins(std::move(join_storages)) {}
  PartitionSlot(const PartitionSlot&) = delete;
  PartitionSlot& operator=(const PartitionSlot&) = delete;

  const int32_t number;
  // The group table's storage (null without a persist edge), and one per
  // joined table. Shared only with the recovery views writing into them.
  const std::shared_ptr<Storage> table;
  const std::map<std::string, std::shared_ptr<Storage>> joins;
  // Exactly once: the partition's way to the producer (its processor's
  // producer), set with the processor and kept when it is replaced.
  std::unique_ptr<OutputGate::Lane> lane;
  // Set by the run thread once the tables are recovered; then used by the
  // pool's tasks of this partition.
  std::unique_ptr<PartitionProcessor> processor;
  // Exactly once: processor->mark() at the cut of the transaction being
  // committed; written by the partition's task at the cut, read by the run
  // thread once every partition passed it.
  uint64_t cut_mark = 0;

  // Processor mutex.
  TableState state = TableState::recovering;
  std::map<std::string, int64_t> committed;  // topic -> next offset committed
  std::map<std::string, int64_t> next;       // topic -> offset after the last record handed over
  std::map<std::string, int64_t> first;      // topic -> offset of the first record handed over
  int64_t table_recovered_high = -1;         // the table's high watermark when recovered

  // Run thread.
  bool paused_for_backpressure = false;

  std::atomic<bool> revoked{false};
  std::atomic<int64_t> processed{0};
  std::atomic<int64_t> bytes{0};
  std::atomic<int64_t> queued{0};   // records handed to the pool, not processed yet
  std::atomic<int64_t> dropped{0};  // records at or below one already handed over
  const std::chrono::steady_clock::time_point assigned_at = std::chrono::steady_clock::now();

  // Whether record continues its topic right after the last record handed
  // over: true advances next; false (a record the consumer delivered again,
  // already in flight or done) counts it as dropped.
  // REQUIRES: the run thread, holding the processor mutex.
  bool accept(const Record& record) {
    auto [it, fresh] = next.try_emplace(record.topic, record.offset + 1);
    if (fresh) {
      first.try_emplace(record.topic, record.offset);
      return true;
    }
    if (record.offset < it->second) {
      dropped.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    it->second = record.offset + 1;
    return true;
  }
};

}  // namespace goka::core
