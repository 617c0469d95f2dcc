#pragma once
// View: a local, read-only copy of a table topic (Goka's View): every
// partition of the table (or a chosen few) recovered into a Storage, then
// kept up to date with new records.
//
// Example:
//
//   goka::ViewOptions options;
//   options.client.brokers = "localhost:9092";
//   options.storage = goka::leveldb_storage_builder("/tmp/goka/view");  // default: memory
//   goka::View view("users-table", options);
//   view.start();                                    // or view.run() in a thread of yours
//   if (!view.wait_recovered(std::chrono::seconds(30))) { ... }
//   std::optional<std::string> alice = view.get("alice");  // raw bytes
//   for (auto it = view.prefix_iterator("user-"); it->next();) use(it->key(), it->value());
//   view.stop();
//   view.wait();                                     // throws the error that stopped it
//
// Reading: one thread per View reads all its partitions with one Kafka
// consumer (no consumer group, nothing committed). Recovery reads each
// partition from its stored offset + 1 (or the low watermark when the
// storage is empty) to the high watermark seen at start, writing bounded
// batches (ViewOptions::max_batch_*). Then the view is running: recovered()
// is true and, with follow, new records are applied as they arrive.
//
// Errors: constructing throws (see View()); an error while running (storage
// failure, a table topic behind the local storage, a topic that disappeared,
// a callback that threw) stops the view and is kept: run() and wait() throw
// it, wait_recovered() throws it, error() returns it. It is never only
// logged. A broker that goes away is not an error: the view keeps waiting
// (librdkafka reconnects by itself; read errors that may pass are retried
// with backoff) and resumes when the broker is back.
//
// Thread-safety: all methods may be called from any thread, concurrently;
// run() at most once per View (or start()).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "goka/client_options.hpp"
#include "goka/error.hpp"
#include "goka/record.hpp"
#include "goka/state.hpp"
#include "goka/storage.hpp"

namespace goka {

namespace core {
class Backend;
}

// Makes the local storage of one partition of a table topic. Called from the
// View's constructor, once per partition read; may throw goka::Error.
using StorageBuilder =
    std::function<std::unique_ptr<Storage>(const std::string& topic, int32_t partition)>;

// Storages in memory (make_memory_storage()): every run recovers from the
// beginning.
StorageBuilder memory_storage_builder();
// LevelDB storages at <dir>/<topic>.<partition>, Go Goka's layout, so that a
// later run reads only what is new. A directory is locked while open: two
// Views (or processes) cannot share it at the same time.
StorageBuilder leveldb_storage_builder(std::filesystem::path dir, LevelDbOptions options = {});

struct ViewOptions {
  // Makes each partition's local storage; empty: in memory.
  StorageBuilder storage;
  // How to reach the cluster, and where log lines go (also used with an
  // injected backend, for logging).
  ClientOptions client;
  // Partitions to read; empty: all. Reading only the partitions of some keys
  // (see partitions_for()) makes a view of those keys cheap. get(), has()
  // and evict() of a key in another partition throw Errc::usage.
  std::vector<int32_t> partitions;
  // true: after recovery keep applying new records until stop(). false: stop
  // at the high watermarks seen at start: run() returns once every partition
  // is recovered (what `goka-cli recover` and a one-shot `view` do).
  bool follow = true;
  // Recovery writes a batch once it holds max_batch_records records or
  // max_batch_bytes bytes, whichever comes first.
  std::size_t max_batch_records = 10000;
  std::size_t max_batch_bytes = 4 * 1024 * 1024;
  // The first wait after a read error that may pass (broker unreachable);
  // doubled after every further one, up to max_backoff.
  std::chrono::milliseconds backoff{100};
  std::chrono::milliseconds max_backoff{5000};
  // Called for every record applied after recovery (offset >= the high
  // watermark seen at start) once it is in local storage, so get() already
  // returns it: key, value (std::nullopt for a delete), partition, offset,
  // timestamp, headers. Called from the view's thread, per partition in
  // offset order; must not block for long. If it throws, the view stops
  // with that error (Errc::runtime). For `goka-cli view --watch`.
  std::function<void(const Record& change)> on_change;
  // Called from the view's thread whenever the view's state changes: idle ->
  // recovering -> running -> stopped (running is skipped when the view stops
  // before it recovered). Must not throw.
  std::function<void(TableState state)> on_state_change;
};

// A snapshot of a view's progress (stats()).
struct ViewStats {
  std::string table;
  TableState state = TableState::idle;
  // Read errors retried so far (each one waited a backoff).
  int64_t retries = 0;
  // One entry per partition read, in partition order.
  std::vector<PartitionStats> partitions;
};

class View {
 public:
  // Connects, learns the table's partition count and opens the local
  // storage of every partition to read (nothing is read yet).
  // Throws Errc::not_found when the table topic does not exist, Errc::usage
  // for a partition the topic does not have, Errc::timeout when the cluster
  // does not answer within options.client.timeout, and the storage
  // builder's errors (e.g. Errc::runtime for a LevelDB directory in use).
  View(std::string table, ViewOptions options);
  // The same on any backend (the Tester's in-memory log, tests).
  View(std::string table, ViewOptions options, std::shared_ptr<core::Backend> backend);
  // Stops and waits for the view's thread; an error it ended with is
  // dropped (call wait() to see it). Then closes the storages.
  ~View();
  View(const View&) = delete;
  View& operator=(const View&) = delete;

  const std::string& table() const;
  // The table topic's partition count.
  int32_t partition_count() const;
  // The partitions this view reads, ascending.
  const std::vector<int32_t>& partitions() const;

  // ---- running ----
  // Recovers, then (with follow) follows the table until stop(); returns
  // normally when stopped, or without follow once recovered. Blocks the
  // calling thread (Goka's View.Run). Throws the error that stopped the view
  // (see the file comment): Errc::config when a local storage is ahead of
  // its partition (names topic, partition, stored offset, high watermark),
  // Errc::timeout when the watermarks cannot be read at start.
  // Throws Errc::usage when the view ran before (a View runs once).
  void run();
  // Runs run() on a thread of the view and returns at once. Errors are kept
  // for wait(). Throws Errc::usage when the view ran before.
  void start();
  // Asks the view to stop: run() returns within about 100 ms. Non-blocking,
  // idempotent; may be called from any thread, including the callbacks.
  void stop();
  // Waits for the thread of start() to end, then throws the error that
  // stopped the view, if any. Returns at once when start() was not called.
  void wait();

  // Waits until every partition is recovered (true), the view stopped before
  // that (false), or timeout (false). Throws the error that stopped the view.
  bool wait_recovered(std::chrono::milliseconds timeout);
  // Whether every partition is recovered (the view is running, or stopped
  // after running).
  bool recovered() const;
  TableState state() const;
  // The error that stopped the view, if any.
  std::optional<Error> error() const;

  // ---- reading (any time, any thread) ----
  // The value of key (raw bytes), or std::nullopt when the table has none.
  // Before recovery it returns what the local storage already holds (Goka's
  // behaviour): a LevelDB storage from an earlier run answers with possibly
  // stale values, a new one with nothing. Wait for recovered() for answers
  // up to date with the table.
  // Throws Errc::usage when key's partition is not read by this view.
  std::optional<std::string> get(std::string_view key) const;
  // Whether get(key) would return a value.
  bool has(std::string_view key) const;
  // The pairs of every partition read, in bytewise key order (merged across
  // partitions; each key lives in one partition, so it appears once). The
  // iterator is weakly consistent with concurrent updates (see
  // Storage::range_iterator()) and keeps the storages alive.
  std::unique_ptr<Iterator> iterator() const;
  // The pairs with from <= key < to (to == std::nullopt: no upper bound).
  std::unique_ptr<Iterator> range_iterator(std::string_view from,
                                           std::optional<std::string_view> to) const;
  // The pairs whose key starts with prefix.
  std::unique_ptr<Iterator> prefix_iterator(std::string_view prefix) const;
  // The partition of key (Goka's partitioning over partition_count()).
  int32_t partition_of(std::string_view key) const;

  // Removes key from the local copy only (the table topic is untouched);
  // a later record of the key brings it back. Throws Errc::usage when key's
  // partition is not read by this view.
  void evict(std::string_view key);

  // Per partition: state, offsets, counts, times.
  ViewStats stats() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The partitions, ascending and without duplicates, that keys live in among
// partitions (Goka's partitioning): ViewOptions::partitions for a view of
// some keys. REQUIRES: partitions > 0.
std::vector<int32_t> partitions_for(const std::vector<std::string>& keys, int32_t partitions);

}  // namespace goka
