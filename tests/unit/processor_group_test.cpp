// The public goka::Processor on the in-memory log's consumer groups, no
// broker: a backlog counted exactly, a second instance joining and leaving
// mid-backlog, back-pressure with a consumer that hands records out again on
// resume, a commit refused at revoke, and the commit at shutdown.
//
// Every test counts how often each input message was processed (by offset)
// and checks the group table against it: nothing is lost, and a message is
// processed twice only where a commit was refused.

#include <fmt/format.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/backend.hpp"
#include "tests/forwarding_storage.hpp"
#include "goka/codec.hpp"
#include "goka/context.hpp"
#include "goka/graph.hpp"
#include "goka/processor.hpp"
#include "tester/memory_log.hpp"

using goka::tester::CommitRefusal;
using goka::tester::MemoryLog;

namespace {

constexpr int32_t kPartitions = 4;
const std::string kInput = "clicks";
const std::string kGroup = "counter";
const std::string kTable = "counter-table";

// What the callbacks did, across every instance of the group.
struct Book {
  std::mutex mutex;
  std::condition_variable changed;
  std::map<std::pair<int32_t, int64_t>, int> times;  // (partition, offset) -> processings
  std::map<std::string, int64_t> per_key;            // key -> processings
  int64_t processed = 0;
  int64_t hold_at = -1;  // >= 0: callbacks wait while processed >= hold_at

  void hold(int64_t at) {
    std::lock_guard lock(mutex);
    hold_at = at;
    changed.notify_all();
  }
  int64_t count() {
    std::lock_guard lock(mutex);
    return processed;
  }
  // Messages of the backlog processed at least once.
  std::size_t distinct() {
    std::lock_guard lock(mutex);
    return times.size();
  }
  int64_t duplicates() {
    std::lock_guard lock(mutex);
    int64_t n = 0;
    for (const auto& [at, t] : times) n += t - 1;
    return n;
  }
};

// Counts messages per key in the group table and books each processing.
goka::GroupGraph counter(Book& book) {
  auto count = [&book](goka::Context& ctx, const std::optional<std::string>&) {
    {
      std::unique_lock lock(book.mutex);
      // Bounded, so that a failed test cannot hang on a hold it never lifted.
      book.changed.wait_for(lock, std::chrono::seconds(20),
                            [&] { return book.hold_at < 0 || book.processed < book.hold_at; });
      ++book.processed;
      ++book.times[{ctx.partition(), ctx.offset()}];
      ++book.per_key[ctx.key()];
      book.changed.notify_all();
    }
    goka::Int64Codec codec;
    auto current = ctx.value();
    ctx.set_value(codec.encode((current ? codec.decode(*current) : 0) + 1));
  };
  return goka::GroupGraph(kGroup, {goka::input(kInput, count), goka::persist()});
}

// Appends n messages over 20 keys; returns the count per key.
std::map<std::string, int64_t> backlog(MemoryLog& log, int n) {
  std::map<std::string, int64_t> truth;
  for (int i = 0; i < n; ++i) {
    std::string key = "user-" + std::to_string(i % 20);
    log.append(kInput, key, std::to_string(i));
    ++truth[key];
  }
  return truth;
}

std::shared_ptr<MemoryLog> make_log(std::size_t max_poll_records = 4096) {
  goka::tester::MemoryLogOptions options;
  options.max_poll_records = max_poll_records;
  auto log = std::make_shared<MemoryLog>(options);
  log->create_topic(kInput, kPartitions);
  return log;
}

goka::ProcessorOptions options(std::size_t threads = 2) {
  goka::ProcessorOptions o;
  o.threads = threads;
  o.commit_interval = std::chrono::milliseconds(20);
  return o;
}

// run() on its own thread; the destructor stops it and waits.
class Running {
 public:
  explicit Running(goka::Processor& processor) : processor_(processor) {
    thread_ = std::thread([this] {
      try {
        processor_.run();
      } catch (...) {
        error_ = std::current_exception();
      }
      ended_ = true;
    });
  }
  ~Running() {
    processor_.stop();
    if (thread_.joinable()) thread_.join();
  }
  Running(const Running&) = delete;
  Running& operator=(const Running&) = delete;

  bool ended() const { return ended_; }
  // Stops the processor, waits for run() and rethrows what it threw.
  void finish() {
    processor_.stop();
    if (thread_.joinable()) thread_.join();
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  }

 private:
  goka::Processor& processor_;
  std::thread thread_;
  std::exception_ptr error_;
  std::atomic<bool> ended_{false};
};

// Waits (up to 20 s) until cond holds; false when it did not. When one of
// running ended first, rethrows what its run() threw (else returns false).
template <class Cond>
bool await(Cond cond, std::initializer_list<Running*> running) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!cond()) {
    for (Running* r : running) {
      if (r->ended()) {
        r->finish();
        return false;
      }
    }
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a condition
  }
  return true;
}

// Whether the group committed every partition of the input up to its end.
bool all_committed(MemoryLog& log) {
  for (int32_t p = 0; p < kPartitions; ++p) {
    auto committed = log.admin().committed(kGroup, {{kInput, p, -1}})[0].offset;
    if (committed != log.watermarks(kInput, p).high) return false;
  }
  return true;
}

// The latest value per key of the table topic, decoded.
std::map<std::string, int64_t> table_topic(MemoryLog& log) {
  std::map<std::string, int64_t> out;
  goka::Int64Codec codec;
  for (int32_t p = 0; p < kPartitions; ++p) {
    for (const goka::Record& r : log.records(kTable, p)) out[*r.key] = codec.decode(*r.value);
  }
  return out;
}

// Nothing lost: every message of the backlog was processed, and the table
// holds per key as many increments as there were processings.
void check_nothing_lost(MemoryLog& log, Book& book, const std::map<std::string, int64_t>& truth,
                        int n) {
  CHECK(book.distinct() == static_cast<std::size_t>(n));
  auto table = table_topic(log);
  std::lock_guard lock(book.mutex);
  for (const auto& [key, count] : truth) {
    INFO(key);
    CHECK(book.per_key[key] >= count);
    CHECK(table[key] == book.per_key[key]);
  }
}

int64_t processed_of(const goka::ProcessorStats& stats) {
  int64_t n = 0;
  for (const auto& p : stats.partitions) n += p.processed;
  return n;
}

}  // namespace

TEST_CASE("processor on the memory log: one instance counts a backlog exactly", "[processor-group]") {
  auto log = make_log(100);
  auto truth = backlog(*log, 2000);
  Book book;
  goka::Processor processor(counter(book), options(), log);
  Running running(processor);
  // (a message is counted as processed just after its commit may be made)
  REQUIRE(await([&] { return all_committed(*log) && processed_of(processor.stats()) == 2000; },
                {&running}));
  goka::ProcessorStats stats = processor.stats();
  CHECK(stats.partitions.size() == kPartitions);
  CHECK(stats.commit_errors == 0);
  for (const auto& [key, count] : truth) CHECK(processor.get(key) == goka::Int64Codec().encode(count));
  running.finish();
  check_nothing_lost(*log, book, truth, 2000);
  CHECK(book.duplicates() == 0);
  CHECK(table_topic(*log) == truth);
}

TEST_CASE("processor on the memory log: a second instance joins mid-backlog and leaves",
          "[processor-group]") {
  auto log = make_log(50);
  const int n = 4000;
  auto truth = backlog(*log, n);
  Book book;
  book.hold(1000);  // the first instance stops a quarter in
  // Per instance, its rebalances as on_rebalance saw them: "+assigned -revoked".
  std::mutex rebalances_mutex;
  std::map<std::string, std::vector<std::string>> rebalances;
  auto recording = [&](const std::string& who) {
    goka::ProcessorOptions o = options();
    o.on_rebalance = [&, who](const std::vector<int32_t>& assigned,
                              const std::vector<int32_t>& revoked) {
      std::lock_guard lock(rebalances_mutex);
      rebalances[who].push_back(fmt::format("+{} -{}", assigned.size(), revoked.size()));
    };
    return o;
  };
  goka::Processor first(counter(book), recording("first"), log);
  Running first_running(first);
  REQUIRE(await([&] { return book.count() == 1000; }, {&first_running}));

  int64_t second_commit_errors = 0;
  {
    goka::Processor second(counter(book), recording("second"), log);
    Running second_running(second);
    REQUIRE(await([&] { return log->group_members(kGroup) == 2; }, {&second_running}));
    book.hold(2500);  // let the first revoke, then both work until 2500
    REQUIRE(await([&] { return book.count() == 2500; }, {&first_running, &second_running}));
    CHECK(first.stats().partitions.size() == 2);
    CHECK(second.stats().partitions.size() == 2);
    book.hold(-1);
    second_running.finish();  // leaves mid-backlog (its revoke drains and commits)
    second_commit_errors = second.stats().commit_errors;
  }
  REQUIRE(await([&] { return all_committed(*log); }, {&first_running}));
  CHECK(first.stats().partitions.size() == kPartitions);
  int64_t commit_errors = first.stats().commit_errors + second_commit_errors;
  first_running.finish();

  check_nothing_lost(*log, book, truth, n);
  if (commit_errors == 0) {
    CHECK(book.duplicates() == 0);  // every revoke committed what it processed
    CHECK(table_topic(*log) == truth);
  }
  std::lock_guard lock(rebalances_mutex);
  using Steps = std::vector<std::string>;
  CHECK(rebalances["first"] == Steps{"+4 -0", "+0 -4", "+2 -0", "+0 -2", "+4 -0", "+0 -4"});
  CHECK(rebalances["second"] == Steps{"+2 -0", "+0 -2"});
}

TEST_CASE("processor on the memory log: back-pressure with a consumer re-delivering from the commit",
          "[processor-group]") {
  // Fetching far outruns processing: each poll hands out up to 64 records
  // while a partition pauses above 8 buffered. The knob makes every resume
  // restart at the committed offset (librdkafka's behaviour on big
  // backlogs): the records handed out again must be dropped, not fail.
  auto log = make_log(64);
  const int n = 3000;
  auto truth = backlog(*log, n);
  log->set_resume_from_committed(true);
  Book book;
  goka::ProcessorOptions o = options(1);
  o.max_buffered = 8;
  goka::Processor processor(counter(book), o, log);
  Running running(processor);
  REQUIRE(await([&] { return all_committed(*log); }, {&running}));  // rethrows run()'s failure
  int64_t dropped = 0;
  for (const auto& p : processor.stats().partitions) dropped += p.dropped;
  CHECK(dropped > 0);  // the re-delivered records are counted
  running.finish();
  check_nothing_lost(*log, book, truth, n);
  CHECK(book.duplicates() == 0);  // each message processed exactly once
  CHECK(table_topic(*log) == truth);
}

TEST_CASE("processor on the memory log: back-pressure without faults processes each message once",
          "[processor-group]") {
  auto log = make_log(64);
  const int n = 3000;
  auto truth = backlog(*log, n);
  Book book;
  goka::ProcessorOptions o = options(1);
  o.max_buffered = 8;
  goka::Processor processor(counter(book), o, log);
  Running running(processor);
  REQUIRE(await([&] { return all_committed(*log); }, {&running}));
  running.finish();
  check_nothing_lost(*log, book, truth, n);
  CHECK(book.duplicates() == 0);
  CHECK(table_topic(*log) == truth);
}

TEST_CASE("processor on the memory log: all partitions together hold at most twice max_buffered",
          "[processor-group]") {
  // The callbacks are held. Each of the four partitions alone may hold
  // max_buffered (100) before it pauses, up to ~650 records together; the
  // processor stops taking records once 2 x 100 wait, so at most one poll
  // (64) more is handed over.
  auto log = make_log(64);
  const int n = 4000;
  auto truth = backlog(*log, n);
  Book book;
  book.hold(1);
  goka::ProcessorOptions o = options(1);
  o.max_buffered = 100;
  o.commit_interval = std::chrono::hours(1);  // lag counts from what was handed over
  goka::Processor processor(counter(book), o, log);
  Running running(processor);
  auto handed_over = [&] {
    int64_t handed = 0;
    for (const auto& ps : processor.stats().partitions) {
      auto high = ps.high_watermark.find(kInput);
      auto lag = ps.lag.find(kInput);
      if (high != ps.high_watermark.end() && lag != ps.lag.end()) handed += high->second - lag->second;
    }
    return handed;
  };
  REQUIRE(await([&] { return handed_over() > 200; }, {&running}));
  // Nothing to await for what must not happen: a window in which the
  // unbounded processor would take hundreds more.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(handed_over() <= 2 * 100 + 64 + 1);
  book.hold(-1);
  REQUIRE(await([&] { return book.count() == n; }, {&running}));
  running.finish();
  check_nothing_lost(*log, book, truth, n);
  CHECK(book.duplicates() == 0);
}

TEST_CASE("processor on the memory log: a commit refused at revoke loses nothing",
          "[processor-group]") {
  auto log = make_log(50);
  const int n = 2000;
  auto truth = backlog(*log, n);
  Book book;
  book.hold(800);
  goka::ProcessorOptions lazy = options();
  lazy.commit_interval = std::chrono::hours(1);  // commits only at revoke and at shutdown
  goka::Processor first(counter(book), lazy, log);
  Running first_running(first);
  REQUIRE(await([&] { return book.count() == 800; }, {&first_running}));
  log->refuse_commits(CommitRefusal::in_rebalance);

  goka::Processor second(counter(book), options(), log);
  Running second_running(second);
  REQUIRE(await([&] { return log->group_members(kGroup) == 2; }, {&second_running}));
  book.hold(-1);
  // The first's revoke commit is refused: the new owners start over from the
  // old commits (none), processing again what the first did (at least once).
  REQUIRE(await([&] { return book.distinct() == static_cast<std::size_t>(n); },
                {&first_running, &second_running}));
  CHECK(first.stats().commit_errors >= 1);
  first_running.finish();  // its shutdown commit is not refused
  REQUIRE(await([&] { return all_committed(*log); }, {&second_running}));
  second_running.finish();
  check_nothing_lost(*log, book, truth, n);
  CHECK(book.duplicates() > 0);  // the refused commit's messages, processed again
}

TEST_CASE("processor on the memory log: shutdown commits everything processed",
          "[processor-group]") {
  auto log = make_log(100);
  const int n = 1000;
  auto truth = backlog(*log, n);
  Book book;
  goka::ProcessorOptions lazy = options();
  lazy.commit_interval = std::chrono::hours(1);  // no periodic commit
  goka::Processor processor(counter(book), lazy, log);
  Running running(processor);
  REQUIRE(await([&] { return book.distinct() == static_cast<std::size_t>(n); }, {&running}));
  CHECK_FALSE(all_committed(*log));
  running.finish();
  CHECK(all_committed(*log));
  CHECK(log->group_members(kGroup) == 0);
  check_nothing_lost(*log, book, truth, n);
  CHECK(table_topic(*log) == truth);

  // A restart continues from those commits: nothing is processed again.
  log->append(kInput, "user-1", "late");
  goka::Processor again(counter(book), options(), log);
  Running again_running(again);
  REQUIRE(await([&] { return all_committed(*log); }, {&again_running}));
  again_running.finish();
  CHECK(book.duplicates() == 0);
  CHECK(book.distinct() == static_cast<std::size_t>(n + 1));
  CHECK(table_topic(*log)["user-1"] == truth["user-1"] + 1);
}

namespace {

// Per partition, whether its table storage was destroyed and the offset it
// held then; any thread.
struct StorageBook {
  std::mutex mutex;
  std::map<int32_t, int> destroyed;
  std::map<int32_t, int64_t> first_offset;  // held by the first one destroyed
};

// A memory storage that books its destruction.
class BookedStorage final : public goka::test::ForwardingStorage {
 public:
  BookedStorage(StorageBook& book, int32_t partition) : book_(book), partition_(partition) {}
  ~BookedStorage() override {
    std::lock_guard lock(book_.mutex);
    ++book_.destroyed[partition_];
    book_.first_offset.try_emplace(partition_, get_offset().value_or(-1));
  }

 private:
  StorageBook& book_;
  const int32_t partition_;
};

std::shared_ptr<MemoryLog> make_queued_log(std::chrono::milliseconds timeout) {
  goka::tester::MemoryLogOptions o;
  o.delivery = goka::tester::DeliveryMode::queued;  // acknowledged on deliver() only
  o.timeout = timeout;
  auto log = std::make_shared<MemoryLog>(o);
  log->create_topic(kInput, kPartitions);
  return log;
}

}  // namespace

TEST_CASE("processor on the memory log: a revoke with unacknowledged outputs keeps the storages",
          "[processor-group]") {
  auto log = make_queued_log(std::chrono::milliseconds(200));
  auto truth = backlog(*log, 400);
  Book book;
  StorageBook storages;
  goka::ProcessorOptions o = options();
  o.storage = [&](const std::string&, int32_t p) -> std::unique_ptr<goka::Storage> {
    return std::make_unique<BookedStorage>(storages, p);
  };
  goka::Processor first(counter(book), o, log);
  Running first_running(first);
  REQUIRE(await([&] { return book.count() == 400; }, {&first_running}));
  {
    // A second member takes two partitions: the first revokes all four
    // while none of its table writes is acknowledged (the drain times out);
    // being assigned two of them again, it waits for the acknowledgements
    // (the producer's flush) before it opens their storages again.
    goka::Processor second(counter(book), options(), log);
    Running second_running(second);
    REQUIRE(await([&] { return first.stats().partitions.size() == 2; },
                  {&first_running, &second_running}));
    // The acknowledgements reached the revoked partitions, whose storages
    // were then released while the processor runs on.
    REQUIRE(await([&] {
      std::lock_guard lock(storages.mutex);
      return storages.destroyed.size() == kPartitions;
    }, {&first_running, &second_running}));
    second_running.finish();
  }
  // The first member takes every partition back and counts what the second
  // left uncommitted (its writes acknowledged, so that it commits): only
  // then must the table hold every count.
  REQUIRE(await([&] {
    log->deliver();
    goka::ProcessorStats stats = first.stats();
    if (stats.partitions.size() != static_cast<size_t>(kPartitions)) return false;
    for (const auto& ps : stats.partitions) {
      auto end = static_cast<int64_t>(log->records(kInput, ps.partition).size());
      auto c = ps.committed.find(kInput);
      if (c == ps.committed.end() || c->second < end) return false;
    }
    return true;
  }, {&first_running}));
  first_running.finish();
  std::lock_guard lock(storages.mutex);
  for (int32_t p = 0; p < kPartitions; ++p) {
    INFO("partition " << p);
    // Its first storage lived until its writes were acknowledged, and
    // stored their offset.
    auto records = log->records(kTable, p);
    REQUIRE(!records.empty());
    CHECK(storages.destroyed[p] >= 1);
    CHECK(storages.first_offset[p] >= records.front().offset);
  }
  // Nothing lost, but the table need not hold every processing: the second
  // member may recover its partitions before the first member's writes to
  // them are delivered (the drain timed out), and then counts again from an
  // older state. That is at least once with a bounded drain, as in Goka.
  CHECK(book.distinct() == 400u);
  auto table = table_topic(*log);
  std::lock_guard book_lock(book.mutex);
  for (const auto& [key, count] : truth) {
    INFO(key);
    CHECK(book.per_key[key] >= count);
    CHECK(table[key] >= count);
    CHECK(table[key] <= book.per_key[key]);
  }
}

TEST_CASE("processor on the memory log: shutdown drains every partition under one deadline",
          "[processor-group]") {
  const auto timeout = std::chrono::milliseconds(600);
  auto log = make_queued_log(timeout);
  backlog(*log, 200);
  Book book;
  goka::Processor processor(counter(book), options(), log);
  Running running(processor);
  REQUIRE(await([&] { return book.count() == 200; }, {&running}));
  // Nothing is acknowledged: each of the 4 partitions waits for the drain's
  // deadline, together, not one after another.
  auto start = std::chrono::steady_clock::now();
  running.finish();
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(took >= timeout);
  CHECK(took < 2 * timeout);
}

TEST_CASE("processor on the memory log: callbacks see headers unless options.headers is false",
          "[processor-group]") {
  auto log = make_log();
  log->append(kInput, 0, "alice", "1", {{"trace", "t1"}, {"trace", "t2"}});
  for (bool headers : {true, false}) {
    INFO("headers " << headers);
    std::mutex mutex;
    std::vector<goka::Headers> seen;
    auto note = [&](goka::Context& ctx, const std::optional<std::string>&) {
      std::lock_guard lock(mutex);
      seen.push_back(ctx.headers());
    };
    goka::ProcessorOptions o = options();
    o.headers = headers;
    goka::Processor processor(goka::GroupGraph(headers ? "with" : "without", {goka::input(kInput, note)}),
                              o, log);
    Running running(processor);
    REQUIRE(await([&] { return processed_of(processor.stats()) == 1; }, {&running}));
    running.finish();
    std::lock_guard lock(mutex);
    REQUIRE(seen.size() == 1);
    CHECK(seen[0] == (headers ? goka::Headers{{"trace", "t1"}, {"trace", "t2"}} : goka::Headers{}));
  }
}
