#pragma once
// Processor::Impl, libgoka's own: the run loop, rebalances, dispatch and
// commit are in processor.cpp, the transactions of exactly once in
// processor_transactions.cpp.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/backend.hpp"
#include "core/buffer_limit.hpp"
#include "core/log.hpp"
#include "core/output_gate.hpp"
#include "core/partition_processor.hpp"
#include "core/partition_slot.hpp"
#include "core/processor_stats.hpp"
#include "core/table_recovery.hpp"
#include "core/transaction.hpp"
#include "core/worker_pool.hpp"
#include "goka/hasher.hpp"
#include "goka/processor.hpp"
#include "goka/topic_manager.hpp"

namespace goka {
namespace core {

// The first error of a processor; any thread.
class FirstError {
 public:
  void set(const Error& error) {
    std::lock_guard lock(mutex_);
    if (!error_) error_ = error;
  }
  std::optional<Error> get() const {
    std::lock_guard lock(mutex_);
    return error_;
  }

 private:
  mutable std::mutex mutex_;
  std::optional<Error> error_;
};

// Errors that abort a transaction rather than stop the processor: the
// cluster's, not the callbacks'.
inline bool abortable(const Error& error) {
  return error.code() == Errc::kafka || error.code() == Errc::timeout;
}

}  // namespace core

// Threads: run() (the run thread) polls the consumer, hands records to the
// pool, starts recovered partitions, applies back-pressure and commits; the
// rebalance handler runs on it too, inside poll(). The pool's threads run
// the callbacks, one task per partition and poll. The producer's thread
// delivers acknowledgements into the slots' processors.
class Processor::Impl final : public core::RebalanceHandler, public core::DeliveryHandler {
 public:
  Impl(GroupGraph graph, ProcessorOptions options, std::shared_ptr<core::Backend> backend)
      : graph_(std::move(graph)), options_(std::move(options)), backend_(std::move(backend)) {
    graph_.validate();
  }

  ~Impl() override {
    stop();
    consumer_.reset();  // first: closing it may revoke through this object
  }

  void run();
  void stop() { stopping_ = true; }

  std::optional<std::string> table_topic() const { return graph_.table_topic(); }
  std::optional<std::string> get(std::string_view table, std::string_view key) const;
  bool recovered() const;
  ProcessorStats stats() const;

  // core::DeliveryHandler: outputs of messages, on the producer's thread.
  void on_delivery(const Delivery& delivery, void* tag) noexcept override {
    core::PartitionProcessor::deliver(delivery, tag);
  }

  // core::RebalanceHandler, on the run thread inside poll().
  void on_assigned(const std::vector<core::TopicPartition>& assigned) override;
  void on_revoked(const std::vector<core::TopicPartition>& revoked) override;

 private:
  using Clock = std::chrono::steady_clock;
  using PartitionSlot = core::PartitionSlot;

  void prepare_topics();
  void prepare_outputs();
  void start_lookups();
  void loop();
  void start_recovered();
  // One partition's records of a poll, left where poll() put them: the runs
  // [begin, end) of the polled records that the partition accepted.
  struct Batch {
    std::shared_ptr<const std::vector<Record>> polled;  // shared by a poll's batches
    std::vector<std::pair<std::size_t, std::size_t>> runs;
    std::size_t size = 0;  // records in the runs
  };
  // Takes the records (leaving the vector empty, with room for as many) and
  // posts one batch per partition.
  void dispatch(std::vector<Record>& records);
  void process_batch(PartitionSlot& slot, const Batch& batch);
  void check_backpressure();
  void commit(bool final);
  int64_t past_markers(const PartitionSlot& slot, const std::string& topic, int64_t next) const;
  bool exactly_once() const { return options_.guarantee == Guarantee::exactly_once; }
  std::unique_ptr<core::PartitionProcessor> make_processor(PartitionSlot& slot);
  // Exactly once (see "Transactions" below).
  // A transaction being committed: the partitions running at its cut,
  // how many of them have not passed it yet (their tasks), when it was cut
  // and by when it must be settled.
  struct Cut {
    int64_t epoch = 0;
    std::vector<int32_t> running;
    std::shared_ptr<std::atomic<size_t>> left;
    Clock::time_point at, deadline, passed{}, settled{};
  };
  enum class Settled { pending, yes, failed };
  void open_transaction();
  void start_cut();
  bool advance_cut(bool block);
  Settled settle(const Cut& cut, bool block);
  void finish_cut(const std::vector<core::TopicPartition>& offsets);
  void abort_transaction(bool aborted);
  void end_transaction();
  void pace_transactions();
  void rewind(const std::vector<int32_t>& partitions);
  void drain(const std::set<int32_t>& numbers);
  void prune_retired();
  void leave();
  void fail(const Error& error) {
    error_.set(error);
    stopping_ = true;
  }
  void log(LogLevel level, const std::string& line) const {
    core::log(options_.client, level, line);
  }
  core::StartPolicy start_policy() const {
    return options_.start_at_latest ? core::StartPolicy::latest : core::StartPolicy::earliest;
  }
  std::vector<core::TopicPartition> inputs_of(int32_t partition) const;
  const PartitionSlot* running_slot(std::string_view key) const;

  const GroupGraph graph_;
  const ProcessorOptions options_;
  const std::shared_ptr<core::Backend> backend_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> ran_{false};
  std::atomic<int64_t> commit_errors_{0};
  core::FirstError error_;

  std::vector<std::string> consumed_;  // input topics and the loop topic
  int32_t partition_count_ = 0;        // of the co-partitioned topics
  std::mutex counts_mutex_;                          // guards partition_counts_
  std::map<std::string, int32_t> partition_counts_;  // of the topics written
  std::map<std::string, std::unique_ptr<View>, std::less<>> lookups_;  // mutex_ to change

  // Declared before the slots: destroyed after them.
  // Records in the pool's lanes, all partitions: twice what one partition may
  // hold before it is paused.
  core::BufferLimit buffer_{2 * options_.max_buffered};
  std::unique_ptr<core::WorkerPool> pool_;
  std::unique_ptr<core::Producer> producer_;
  // Exactly-once: the instance's transactions (set under mutex_, then used
  // by the run thread; stats() reads its counters), and whether a
  // task saw the cluster fail a record of the open transaction.
  std::unique_ptr<core::Transaction> transaction_;
  std::atomic<bool> abort_requested_{false};
  bool revoking_ = false;  // run thread: inside on_revoked
  // Exactly once, run thread: holds back the outputs of the next
  // transaction while one commits; the transaction that records dispatched
  // now belong to; the transaction being committed, if any, and whether
  // records were dispatched since its cut.
  std::unique_ptr<core::OutputGate> gate_;
  int64_t epoch_ = 0;
  std::unique_ptr<Cut> cut_;
  bool next_dispatched_ = false;
  Clock::time_point began_;  // when the open transaction began

  mutable std::mutex mutex_;  // guards joined_, slots_ and what PartitionSlot says
  bool joined_ = false;
  std::map<int32_t, std::unique_ptr<PartitionSlot>> slots_;
  // Revoked slots whose outputs were not all acknowledged by the drain's
  // deadline: kept until they are, or until the producer is gone (run thread).
  std::vector<std::unique_ptr<PartitionSlot>> retired_;
  // The tables of the partitions assigned last; pending_ until they started.
  std::unique_ptr<core::TableRecovery> recovery_;
  bool pending_ = false;

  // Last: destroyed first (its destructor may revoke through this object).
  std::unique_ptr<core::GroupConsumer> consumer_;
};

}  // namespace goka
