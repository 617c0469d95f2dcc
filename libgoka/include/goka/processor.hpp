#pragma once
// Processor: one instance of a processor group (Goka's Processor). It joins
// the consumer group named after the graph's group, and for every partition
// it is assigned it recovers the group table and the joined tables, then
// runs the graph's callbacks on that partition's input messages, in order.
//
//   goka::GroupGraph graph("clicks-count");
//   graph.add(goka::input("user-clicks", count_callback)).add(goka::persist());
//   goka::Processor processor(graph, options);
//   std::thread runner([&] { processor.run(); });  // or run() on this thread
//   ...
//   processor.stop();  // run() returns once drained and committed
//
// Guarantees (DESIGN.md, "Semantics"):
// - messages of one partition are processed one at a time, in offset order;
//   partitions run in parallel on a pool of ProcessorOptions::threads threads;
// - set_value writes local storage at once, then the table topic;
// - an input offset is committed only when every output of that message and
//   of every earlier message of its partition is acknowledged (at least once);
// - with Guarantee::exactly_once, outputs and input offsets are committed
//   together in Kafka transactions (see Guarantee below);
// - a partition's inputs are read only after its group table and joined
//   tables are recovered; lookup tables are recovered before joining;
// - a failure (callback, codec, emit to an undeclared topic, failed produce)
//   stops the processor: run() throws an Error naming topic, partition and
//   offset, and nothing at or after that message is committed.
//
// Thread-safety: run() once, on any thread; stop(), get(), recovered() and
// stats() from any thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "goka/client_options.hpp"
#include "goka/graph.hpp"
#include "goka/state.hpp"
#include "goka/view.hpp"

namespace goka {

namespace core {
class Backend;
}

// What a crash or a failure may cost.
//
// at_least_once (Goka's): after a crash, messages since the last commit are
// processed again; their table writes and emits are written twice.
//
// exactly_once (Kafka Streams' EOS v2): one transactional producer per
// instance. A transaction covers a commit interval's outputs (table writes,
// emits, loopbacks) and those messages' input offsets, sent with the
// consumer group's metadata, so that a zombie instance cannot commit (it is
// fenced). Callbacks go on while a transaction commits: the next one's
// outputs are held back in memory (at most max_buffered per partition, then
// processing waits) until it begins, in order. Table writes go to an overlay
// per partition that the callbacks read; when the transaction commits, the
// overlay is applied to local
// storage together with the table offset (one atomic batch); when it aborts
// (a failed produce, a timeout, a broker away too long), the overlays are
// dropped and the partitions rewind to their committed offsets and are
// processed again. Local storage thus only ever holds committed state, and
// read_committed consumers see every output exactly once. A fenced instance
// stops: run() throws Errc::kafka naming the group. Deferred commits
// (defer_commit) hold the transaction's commit: it waits for them at most
// client.timeout; past that the transaction is aborted and run() throws
// Errc::timeout naming the partition (nothing of it is visible; the next
// run processes those messages again).
enum class Guarantee { at_least_once, exactly_once };

struct ProcessorOptions {
  // How to reach the cluster, and where log lines go.
  ClientOptions client;
  // Local storage of the group table and of joined and looked-up tables;
  // empty: in memory (recovered from the table topics at every start).
  StorageBuilder storage;
  // Where a group without committed offsets starts reading its inputs.
  bool start_at_latest = false;
  // Threads that run callbacks; 0: the hardware threads.
  std::size_t threads = 0;
  // How often offsets that became committable are committed (exactly_once:
  // how long one transaction collects outputs before it commits).
  std::chrono::milliseconds commit_interval{100};
  // See Guarantee.
  Guarantee guarantee = Guarantee::at_least_once;
  // exactly_once: the producer's transactional.id. Empty: the property
  // "transactional.id" of client.properties when set, else
  // "<group>-<hostname>". A restarted instance with the same id fences its
  // predecessor at once (and aborts its open transaction); instances of one
  // group on one host need distinct ids, or they fence each other.
  std::string transactional_id;
  // Messages waiting for the callbacks, per partition, before its fetching
  // pauses; all partitions together, twice this before the processor stops
  // taking messages from the consumer until half are processed.
  std::size_t max_buffered = 10000;
  // Whether callbacks see their input records' headers (Context::headers());
  // false: Context::headers() is empty. librdkafka 2.0 spends about 1,100
  // instructions a record on looking for headers even where there are none,
  // a tenth of a simple count: a processor that never reads them can say so.
  bool headers = true;
  // Called on the processor's thread after partitions were assigned or
  // revoked (partition numbers). Must not throw.
  std::function<void(const std::vector<int32_t>& assigned, const std::vector<int32_t>& revoked)>
      on_rebalance;
};

// Progress of one assigned partition.
struct ProcessorPartitionStats {
  int32_t partition = 0;
  TableState state = TableState::idle;
  int64_t processed = 0;  // messages processed since assigned
  int64_t bytes = 0;      // their key and value bytes
  // Messages the consumer delivered again at or below one already handed
  // over (in flight or done), dropped rather than processed twice.
  int64_t dropped = 0;
  double rate = 0;        // processed per second since assigned
  // Per consumed topic (inputs and loop): the next offset committed, the
  // high watermark (as the consumer's last fetch saw it), and the lag: what
  // is left from the committed offset (else right after the last message
  // handed over, else where the consumer starts) to the high watermark; left
  // out while not known.
  std::map<std::string, int64_t> committed;
  std::map<std::string, int64_t> high_watermark;
  std::map<std::string, int64_t> lag;
  // The group table's applied offset in local storage (-1: none), and the
  // table topic's high watermark (-1: not known): past the newest
  // acknowledged write, or where recovery found it.
  int64_t table_offset = -1;
  int64_t table_high_watermark = -1;
};

struct ProcessorStats {
  std::string group;
  std::vector<ProcessorPartitionStats> partitions;  // ascending
  // Commits the cluster refused so far (each logged as a warning; their
  // messages are processed again by the partition's next owner).
  int64_t commit_errors = 0;
  // exactly_once: transactions committed and aborted so far, and how long
  // the last commit took (-1: none yet).
  bool exactly_once = false;
  int64_t transactions_committed = 0;
  int64_t transactions_aborted = 0;
  double last_commit_ms = -1;
  // The lookup tables' views, in table name order.
  std::vector<ViewStats> lookups;
};

class Processor {
 public:
  // Validates the graph (Errc::config). Nothing connects before run().
  Processor(GroupGraph graph, ProcessorOptions options);
  Processor(GroupGraph graph, ProcessorOptions options, std::shared_ptr<core::Backend> backend);
  // REQUIRES: run() is not running (stop() it and wait for it first).
  ~Processor();
  Processor(const Processor&) = delete;
  Processor& operator=(const Processor&) = delete;

  // Checks the topics (inputs exist and are co-partitioned with the joins;
  // the table and loop topics exist with the inputs' partition count or are
  // created), recovers the lookup tables, joins the group and processes
  // until stop() (returns) or a failure (throws it). On the way out it
  // finishes what is in flight, commits, and closes the storages.
  // Throws Errc::usage when called twice.
  void run();
  // Asks run() to stop; non-blocking, idempotent, any thread.
  void stop();

  // The group table's value of key, when its partition is assigned here and
  // recovered; std::nullopt otherwise (also for a missing key).
  std::optional<std::string> get(std::string_view key) const;
  // The value of key in table: the group table or a joined table (when key's
  // partition is assigned here and recovered) or a lookup table (once
  // recovered); std::nullopt otherwise. Throws Errc::not_found when the graph
  // has no such table.
  std::optional<std::string> get(std::string_view table, std::string_view key) const;
  // True once the group assigned this instance its partitions (maybe none)
  // and every one of them is recovered and running; false during a rebalance.
  bool recovered() const;
  // A snapshot. Never waits for the cluster: high watermarks are those the
  // last fetch saw (left out before a partition's first fetch), and the
  // table's is derived from its writes (the group alone writes its table).
  ProcessorStats stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace goka
