// Unit tests of the table core on the in-memory log: the MemoryLog backend
// itself, PartitionTable (recovery, resume, trimmed and recreated topics,
// bounded batches, following) and View's run loop (callbacks, errors,
// retries). No broker, no sleeps.

#include "core/partition_table.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "goka/emitter.hpp"
#include "goka/error.hpp"
#include "goka/hasher.hpp"
#include "goka/storage.hpp"
#include "goka/view.hpp"
#include "tester/memory_log.hpp"

using namespace std::chrono_literals;
using goka::Errc;
using goka::Record;
using goka::TableState;
using goka::core::PartitionTable;
using goka::core::PartitionTableOptions;
using goka::tester::MemoryLog;

namespace {

// What the storage was asked to write, batch by batch.
struct BatchLog {
  std::mutex mutex;
  std::vector<goka::WriteBatch> batches;
  bool recovered_marked = false;
};

// A Storage that forwards to a shared one and records every applied batch.
// close() leaves the shared storage open, so that a test can hand it to the
// next PartitionTable, as a LevelDB directory survives a process.
class RecordingStorage final : public goka::Storage {
 public:
  RecordingStorage(std::shared_ptr<goka::Storage> inner, std::shared_ptr<BatchLog> log)
      : inner_(std::move(inner)), log_(std::move(log)) {}

  bool has(std::string_view key) const override { return inner_->has(key); }
  std::optional<std::string> get(std::string_view key) const override { return inner_->get(key); }
  void set(std::string_view key, std::string_view value) override { inner_->set(key, value); }
  void erase(std::string_view key) override { inner_->erase(key); }
  std::optional<int64_t> get_offset() const override { return inner_->get_offset(); }
  void set_offset(int64_t offset) override { inner_->set_offset(offset); }
  void apply(const goka::WriteBatch& batch) override {
    {
      std::lock_guard lock(log_->mutex);
      log_->batches.push_back(batch);
    }
    inner_->apply(batch);
  }
  void mark_recovered() override {
    log_->recovered_marked = true;
    inner_->mark_recovered();
  }
  bool recovered() const override { return inner_->recovered(); }
  std::unique_ptr<goka::Iterator> range_iterator(
      std::string_view from, std::optional<std::string_view> to) const override {
    return inner_->range_iterator(from, to);
  }
  void close() override {}

 private:
  std::shared_ptr<goka::Storage> inner_;
  std::shared_ptr<BatchLog> log_;
};

// A table of partition `partition` of `topic` over a shared memory storage.
struct Fixture {
  std::shared_ptr<MemoryLog> log = std::make_shared<MemoryLog>();
  std::shared_ptr<goka::Storage> storage{goka::make_memory_storage()};
  std::shared_ptr<BatchLog> batches = std::make_shared<BatchLog>();
  std::vector<std::string> warnings;
  std::string topic = "users-table";
  int32_t partition = 1;

  Fixture() { log->create_topic(topic, 2); }

  std::unique_ptr<PartitionTable> table(PartitionTableOptions options = {}) {
    options.log = [this](goka::LogLevel level, const std::string& line) {
      if (level <= goka::LogLevel::warning) warnings.push_back(line);
    };
    return std::make_unique<PartitionTable>(
        topic, partition, std::make_unique<RecordingStorage>(storage, batches), options);
  }

  int64_t put(const std::string& key, std::optional<std::string> value) {
    return log->append(topic, partition, key, std::move(value));
  }

  // Starts table and feeds it the partition until it is running (or until
  // there is nothing more to read). Returns the offset it started at.
  int64_t recover(PartitionTable& table) {
    int64_t from = table.start(log->watermarks(topic, partition));
    auto reader = log->reader(topic);
    reader->start(partition, from);
    while (table.state() == TableState::recovering) {
      std::vector<Record> records;
      reader->poll(records, 0ms);
      if (records.empty()) break;
      for (const Record& r : records) table.apply(r);
      table.reached(reader->position(partition));
      table.flush();
    }
    return from;
  }

  std::optional<std::string> value(const std::string& key) const { return storage->get(key); }
};

// Collects what a producer hands over; the tag is the record's number.
class Deliveries final : public goka::core::DeliveryHandler {
 public:
  void on_delivery(const goka::Delivery& delivery, void* tag) noexcept override {
    list.emplace_back(reinterpret_cast<std::intptr_t>(tag), delivery);
  }
  std::vector<int64_t> offsets() const {
    std::vector<int64_t> out;
    for (const auto& [tag, d] : list) out.push_back(d.offset);
    return out;
  }
  std::vector<std::pair<std::intptr_t, goka::Delivery>> list;
};

void* tag(std::intptr_t n) { return reinterpret_cast<void*>(n); }

std::string error_text(const std::function<void()>& f, Errc* code = nullptr) {
  try {
    f();
  } catch (const goka::Error& e) {
    if (code != nullptr) *code = e.code();
    return e.what();
  }
  FAIL("no error");
  return {};
}

// Waits (bounded) until pred holds; no fixed sleep as synchronisation.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit = 10s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

}  // namespace

// ---- MemoryLog -------------------------------------------------------------

TEST_CASE("memory log: append, watermarks, trim, read", "[memory_log]") {
  MemoryLog log(goka::tester::MemoryLogOptions{.clock = [] { return int64_t{1000}; }});
  log.create_topic("t", 3);
  CHECK(log.partitions("t") == 3);
  CHECK_FALSE(log.partitions("u"));
  CHECK_THROWS_AS(log.create_topic("t", 3), goka::Error);
  for (int i = 0; i < 5; ++i) CHECK(log.append("t", 2, "k", std::to_string(i)) == i);
  CHECK(log.watermarks("t", 2).low == 0);
  CHECK(log.watermarks("t", 2).high == 5);
  CHECK(log.records("t", 2).front().timestamp == 1000);

  log.trim("t", 2, 3);
  CHECK(log.watermarks("t", 2).low == 3);
  CHECK(log.records("t", 2).size() == 2);
  log.trim("t", 2, 1);  // never moves back
  CHECK(log.watermarks("t", 2).low == 3);

  auto reader = log.reader("t");
  reader->start(2, 0);  // below the low watermark: earliest
  CHECK(reader->position(2) == 3);
  std::vector<Record> out;
  reader->poll(out, 0ms);
  REQUIRE(out.size() == 2);
  CHECK(out[0].offset == 3);
  CHECK(*out[1].value == "4");
  CHECK(reader->position(2) == 5);
  out.clear();
  reader->poll(out, 0ms);
  CHECK(out.empty());

  // A reader waiting in poll() wakes up for an append from another thread.
  std::thread writer([&] { log.append("t", 2, "k", "late"); });
  while (out.empty()) reader->poll(out, 5s);
  writer.join();
  CHECK(*out[0].value == "late");

  CHECK(log.admin().offset_for_time("t", 2, 999) == 3);
  CHECK(log.admin().offset_for_time("t", 2, 1001) == 6);
  CHECK_THROWS_AS(log.watermarks("t", 3), goka::Error);
  log.create_topic("keys", 5);
  CHECK(log.append("keys", "alice", "x") == 0);
  CHECK(log.records("keys", goka::partition_for("alice", 5)).size() == 1);
  reader->start(7, 0);
  CHECK(error_text([&] { reader->poll(out, 0ms); }).find("partition") != std::string::npos);
}

TEST_CASE("memory log: a busy partition does not starve the others", "[memory_log]") {
  MemoryLog log(goka::tester::MemoryLogOptions{.max_poll_records = 2});
  log.create_topic("t", 2);
  for (int i = 0; i < 10; ++i) log.append("t", 0, "k", std::to_string(i));
  log.append("t", 1, "k", "one");
  auto reader = log.reader("t");
  reader->start(0, 0);
  reader->start(1, 0);
  std::vector<Record> out;
  reader->poll(out, 0ms);
  REQUIRE(out.size() == 2);
  CHECK(out[1].partition == 0);
  out.clear();
  reader->poll(out, 0ms);
  REQUIRE(out.size() == 2);
  CHECK(out[0].partition == 1);  // served next, although partition 0 has more
  CHECK(out[1].partition == 0);
  CHECK(out[1].offset == 2);
}

TEST_CASE("memory log: producers deliver immediately or when flushed", "[memory_log]") {
  SECTION("immediate, through an Emitter") {
    auto log = std::make_shared<MemoryLog>();
    log->create_topic("t", 4);
    goka::Emitter emitter("t", log);
    goka::Delivery d = emitter.emit_sync({"bob", "2", {}, 0, -1});
    CHECK(d.partition == goka::partition_for("bob", 4));
    CHECK(d.offset == 0);
    CHECK(log->records("t", d.partition).at(0).value == "2");
    CHECK(emitter.finish().acknowledged == 1);
    CHECK_THROWS(goka::Emitter("missing", log));  // no auto-creation by default
  }
  SECTION("queued") {
    auto log = std::make_shared<MemoryLog>(goka::tester::MemoryLogOptions{
        .auto_create_partitions = 2, .delivery = goka::tester::DeliveryMode::queued});
    Deliveries deliveries;
    auto producer = log->producer(deliveries);
    for (int i = 0; i < 3; ++i) producer->produce("auto", 1, "k", std::to_string(i), {}, 0, tag(i));
    CHECK(log->partitions("auto") == 2);
    CHECK(log->pending() == 3);
    CHECK(log->watermarks("auto", 1).high == 0);
    CHECK(deliveries.list.empty());
    CHECK(producer->flush(0ms));
    CHECK(deliveries.offsets() == std::vector<int64_t>{0, 1, 2});
    CHECK(deliveries.list[2].first == 2);
    producer->produce("auto", 0, "k", "v", {}, 0, tag(3));
    CHECK(log->deliver() == 1);
    CHECK(deliveries.list.back().second.offset == 0);
    // Destroying a producer hands over what it still has queued.
    producer->produce("auto", 0, "k", "v", {}, 0, tag(4));
    producer.reset();
    CHECK(deliveries.list.back().first == 4);
    CHECK(deliveries.list.back().second.offset == 1);
  }
  SECTION("errors: missing partition, down") {
    auto log = std::make_shared<MemoryLog>();
    log->create_topic("t", 1);
    Deliveries deliveries;
    auto producer = log->producer(deliveries);
    producer->produce("t", 5, "k", "v", {}, 0, tag(0));
    REQUIRE(deliveries.list.size() == 1);
    REQUIRE(deliveries.list[0].second.error);
    CHECK(deliveries.list[0].second.error->code() == Errc::not_found);
    log->set_down(true);
    producer->produce("t", 0, "k", "v", {}, 0, tag(1));
    REQUIRE(deliveries.list.size() == 2);
    CHECK(deliveries.list[1].second.error->code() == Errc::timeout);
    Errc code = Errc::runtime;
    error_text([&] { log->admin().watermarks("t", 0); }, &code);
    CHECK(code == Errc::timeout);
    log->append("t", 0, "k", "direct");  // test controls work while down
    auto reader = log->reader("t");
    reader->start(0, 0);
    std::vector<Record> out;
    reader->poll(out, 0ms);
    CHECK(out.empty());
    log->set_down(false);
    reader->poll(out, 0ms);
    CHECK(out.size() == 1);
    log->fail_next_poll("t", goka::Error(Errc::timeout, "injected"));
    CHECK(error_text([&] { reader->poll(out, 0ms); }).find("injected") != std::string::npos);
    reader->poll(out, 0ms);  // once only
  }
}

// ---- PartitionTable ----------------------------------------------------------

TEST_CASE("partition table: recovers updates and tombstones", "[partition_table]") {
  Fixture f;
  f.put("a", "1");
  f.put("b", "2");
  f.put("a", "3");
  f.put("c", "");
  f.put("b", std::nullopt);
  f.log->append(f.topic, 0, "other", "partition 0");
  auto table = f.table();
  CHECK(table->state() == TableState::idle);
  CHECK(f.recover(*table) == 0);
  CHECK(table->state() == TableState::running);
  CHECK(table->recovered());
  CHECK(f.batches->recovered_marked);
  CHECK(f.value("a") == "3");
  CHECK_FALSE(f.value("b"));
  CHECK(f.value("c") == "");  // an empty value is a value, not a delete
  CHECK_FALSE(f.value("other"));
  CHECK(f.storage->get_offset() == 4);
  goka::PartitionStats stats = table->stats();
  CHECK(stats.topic == f.topic);
  CHECK(stats.partition == 1);
  CHECK(stats.state == TableState::running);
  CHECK(stats.stored_offset == 4);
  CHECK(stats.start_offset == 0);
  CHECK(stats.high_watermark == 5);
  CHECK(stats.records == 5);
  CHECK(stats.bytes == 1 + 1 + 1 + 1 + 1 + 1 + 1 + 0 + 1);
  CHECK(stats.recovery_started);
  CHECK(stats.recovery_finished);
  CHECK(f.warnings.empty());
}

TEST_CASE("partition table: an empty partition is running at once", "[partition_table]") {
  Fixture f;
  auto table = f.table();
  CHECK(f.recover(*table) == 0);
  CHECK(table->state() == TableState::running);
  CHECK(f.batches->batches.empty());
  CHECK(f.batches->recovered_marked);
}

TEST_CASE("partition table: resumes from the stored offset", "[partition_table]") {
  Fixture f;
  for (int i = 0; i < 10; ++i) f.put("k" + std::to_string(i), std::to_string(i));
  {
    auto first = f.table();
    CHECK(f.recover(*first) == 0);
    CHECK(first->stats().records == 10);
  }
  f.put("k3", std::nullopt);
  f.put("new", "x");
  f.batches->batches.clear();
  auto second = f.table();
  CHECK(f.recover(*second) == 10);
  goka::PartitionStats stats = second->stats();
  CHECK(stats.records == 2);  // only what is new
  CHECK(stats.start_offset == 10);
  CHECK(stats.stored_offset == 11);
  CHECK_FALSE(f.value("k3"));
  CHECK(f.value("k9") == "9");
  CHECK(f.value("new") == "x");
  // Nothing new at all: running without reading.
  auto third = f.table();
  CHECK(f.recover(*third) == 12);
  CHECK(third->state() == TableState::running);
  CHECK(third->stats().records == 0);
}

TEST_CASE("partition table: a trimmed topic continues at the low watermark, data kept",
          "[partition_table]") {
  Fixture f;
  f.put("kept", "1");
  f.put("gone-later", "1");
  {
    auto first = f.table();
    f.recover(*first);
  }
  f.put("gone-later", std::nullopt);  // offset 2: trimmed before the next run reads it
  f.put("x", "3");
  f.put("y", "4");
  f.log->trim(f.topic, f.partition, 3);
  auto table = f.table();
  CHECK(f.recover(*table) == 3);
  CHECK(table->state() == TableState::running);
  REQUIRE(f.warnings.size() == 1);
  CHECK(f.warnings[0].find("stored offset 1 is below the low watermark 3") != std::string::npos);
  CHECK(f.warnings[0].find(f.topic) != std::string::npos);
  CHECK(f.value("kept") == "1");
  CHECK(f.value("gone-later") == "1");  // Goka's behaviour: the lost delete is not applied
  CHECK(f.value("y") == "4");
  CHECK(f.storage->get_offset() == 4);
}

TEST_CASE("partition table: a topic behind the local storage is an error naming it",
          "[partition_table]") {
  Fixture f;
  f.storage->set_offset(41);
  f.put("a", "1");
  f.put("a", "2");
  auto table = f.table();
  Errc code = Errc::runtime;
  std::string what = error_text([&] { table->start(f.log->watermarks(f.topic, 1)); }, &code);
  CHECK(code == Errc::config);
  CHECK(what.find("stored offset 41") != std::string::npos);
  CHECK(what.find("high watermark 2") != std::string::npos);
  CHECK(what.find("topic=" + f.topic) != std::string::npos);
  CHECK(what.find("partition=1") != std::string::npos);
  CHECK(table->state() == TableState::idle);
  CHECK(f.storage->get_offset() == 41);  // untouched
}

TEST_CASE("partition table: batches stay bounded", "[partition_table]") {
  Fixture f;
  PartitionTableOptions options;
  SECTION("by record count") {
    options.max_batch_records = 100;
    options.max_batch_bytes = 1 << 20;
    for (int i = 0; i < 1050; ++i) f.put("key-" + std::to_string(i % 300), std::string(20, 'v'));
    auto table = f.table(options);
    f.recover(*table);
    REQUIRE(table->state() == TableState::running);
    CHECK(f.batches->batches.size() == 11);
    for (const auto& b : f.batches->batches) {
      CHECK(b.count() <= 100);
      CHECK(b.offset());
    }
    CHECK(f.batches->batches.back().offset() == 1049);
  }
  SECTION("by bytes") {
    options.max_batch_records = 10000;
    options.max_batch_bytes = 4096;
    std::string value(1000, 'v');
    for (int i = 0; i < 200; ++i) f.put("key-" + std::to_string(i), value);
    auto table = f.table(options);
    f.recover(*table);
    REQUIRE(table->state() == TableState::running);
    CHECK(f.batches->batches.size() >= 200 * 1000 / 5000);
    std::size_t largest = 0;
    int64_t previous = -1;
    for (const auto& b : f.batches->batches) {
      largest = std::max(largest, b.approximate_bytes());
      REQUIRE(b.offset());
      CHECK(*b.offset() > previous);  // every batch carries its own offset, in order
      previous = *b.offset();
    }
    // The batch is written once it reaches the limit: at most one record more.
    CHECK(largest < 4096 + 1100);
    CHECK(f.value("key-199") == value);
  }
}

TEST_CASE("partition table: follows after recovery and reports changes", "[partition_table]") {
  Fixture f;
  f.put("a", "1");
  f.put("b", "1");
  std::vector<Record> changes;
  std::vector<TableState> states;
  PartitionTableOptions options;
  options.on_change = [&](const Record& r) {
    changes.push_back(r);
    // The change is in the storage when it is reported.
    CHECK(f.storage->get(*r.key) == r.value);
  };
  options.on_state = [&](TableState s) { states.push_back(s); };
  auto table = f.table(options);
  int64_t from = table->start(f.log->watermarks(f.topic, 1));
  auto reader = f.log->reader(f.topic);
  reader->start(1, from);
  // New records arrive while recovering: applied, and reported as changes.
  f.put("a", "2");
  auto round = [&] {
    std::vector<Record> records;
    reader->poll(records, 0ms);
    for (const Record& r : records) table->apply(r);
    table->reached(reader->position(1));
    table->flush();
  };
  round();
  CHECK(table->state() == TableState::running);
  f.put("b", std::nullopt);
  f.put("c", "3");
  round();
  REQUIRE(changes.size() == 3);
  CHECK(changes[0].offset == 2);
  CHECK(*changes[0].key == "a");
  CHECK(changes[1].offset == 3);
  CHECK_FALSE(changes[1].value);
  CHECK(changes[2].partition == 1);
  CHECK(f.value("c") == "3");
  CHECK_FALSE(f.value("b"));
  CHECK(states == std::vector<TableState>{TableState::recovering, TableState::running});
  CHECK(table->stats().high_watermark == 5);
  CHECK(table->next_offset() == 5);
  table->stop();
  CHECK(table->state() == TableState::stopped);
  CHECK(table->recovered());
  CHECK_THROWS_AS(table->apply(changes[0]), goka::Error);
}

TEST_CASE("partition table: stop at end, duplicates, gaps and the reserved key",
          "[partition_table]") {
  Fixture f;
  for (int i = 0; i < 5; ++i) f.put("k", std::to_string(i));
  SECTION("records past the end are ignored when stopping at the end") {
    PartitionTableOptions options;
    options.stop_at_end = true;
    auto table = f.table(options);
    table->start(f.log->watermarks(f.topic, 1));
    f.put("k", "late");
    for (const Record& r : f.log->records(f.topic, 1)) table->apply(r);
    table->flush();
    CHECK(table->state() == TableState::running);
    CHECK(f.value("k") == "4");
    CHECK(f.storage->get_offset() == 4);
  }
  SECTION("records read twice are applied once") {
    auto table = f.table();
    table->start(f.log->watermarks(f.topic, 1));
    auto records = f.log->records(f.topic, 1);
    table->apply(records[0]);
    table->apply(records[1]);
    table->apply(records[0]);
    table->apply(records[1]);
    table->flush();
    CHECK(table->stats().records == 2);
    CHECK(table->next_offset() == 2);
  }
  SECTION("a gap at the end completes recovery through reached()") {
    auto table = f.table();
    table->start({0, 7});  // say offsets 5 and 6 are transaction markers
    for (const Record& r : f.log->records(f.topic, 1)) table->apply(r);
    CHECK(table->state() == TableState::recovering);
    table->reached(6);
    CHECK(table->state() == TableState::recovering);
    table->reached(7);
    CHECK(table->state() == TableState::running);
    CHECK(f.storage->get_offset() == 4);
  }
  SECTION("the reserved key is skipped and counted, null keys are the empty key") {
    f.put("__offset", "999");
    f.log->append(f.topic, 1, std::nullopt, "no key");
    auto table = f.table();
    f.recover(*table);
    CHECK(table->stats().skipped == 1);
    CHECK(f.storage->get_offset() == 6);
    CHECK(f.value("") == "no key");
    CHECK(f.warnings.size() == 1);
  }
  SECTION("evict removes the local copy only") {
    auto table = f.table();
    f.recover(*table);
    table->evict("k");
    CHECK_FALSE(f.value("k"));
    CHECK(f.log->records(f.topic, 1).size() == 5);
  }
}

// ---- View on the in-memory log -----------------------------------------------

TEST_CASE("view on the memory log: recover, follow, changes, states", "[view]") {
  auto log = std::make_shared<MemoryLog>();
  log->create_topic("t", 4);
  for (int i = 0; i < 40; ++i) log->append("t", "key-" + std::to_string(i), std::to_string(i));
  log->append("t", "key-7", std::nullopt);

  std::mutex mutex;
  std::vector<Record> changes;
  std::vector<TableState> states;
  goka::ViewOptions options;
  options.on_change = [&](const Record& r) {
    std::lock_guard lock(mutex);
    changes.push_back(r);
  };
  options.on_state_change = [&](TableState s) {
    std::lock_guard lock(mutex);
    states.push_back(s);
  };
  goka::View view("t", options, log);
  CHECK(view.partition_count() == 4);
  CHECK(view.partitions() == std::vector<int32_t>{0, 1, 2, 3});
  CHECK(view.state() == TableState::idle);
  CHECK_FALSE(view.get("key-1"));  // nothing local yet
  view.start();
  REQUIRE(view.wait_recovered(10s));
  CHECK(view.recovered());
  CHECK(view.state() == TableState::running);
  CHECK(view.get("key-1") == "1");
  CHECK_FALSE(view.has("key-7"));
  int keys = 0;
  std::string previous;
  for (auto it = view.iterator(); it->next(); ++keys) {
    CHECK(std::string(it->key()) > previous);
    previous = it->key();
  }
  CHECK(keys == 39);
  int64_t records = 0;
  for (const auto& p : view.stats().partitions) records += p.records;
  CHECK(records == 41);

  log->append("t", "key-1", "changed");
  log->append("t", "key-2", std::nullopt);
  REQUIRE(eventually([&] { return !view.has("key-2"); }));
  CHECK(view.get("key-1") == "changed");
  REQUIRE(eventually([&] {
    std::lock_guard lock(mutex);
    return changes.size() == 2;
  }));
  view.stop();
  view.wait();
  CHECK(view.state() == TableState::stopped);
  CHECK(view.get("key-1") == "changed");  // readable after stop
  std::lock_guard lock(mutex);
  CHECK(states ==
        std::vector<TableState>{TableState::recovering, TableState::running, TableState::stopped});
  CHECK_FALSE(changes[1].value);
  CHECK_THROWS_AS(view.start(), goka::Error);  // a view runs once
}

TEST_CASE("view on the memory log: without follow, run() ends at the end", "[view]") {
  auto log = std::make_shared<MemoryLog>();
  log->create_topic("t", 2);
  log->append("t", "a", "1");
  goka::ViewOptions options;
  options.follow = false;
  goka::View view("t", options, log);
  view.run();
  CHECK(view.recovered());
  CHECK(view.state() == TableState::stopped);
  CHECK(view.get("a") == "1");
  CHECK(view.wait_recovered(0ms));
}

TEST_CASE("view on the memory log: partitions of keys only", "[view]") {
  auto log = std::make_shared<MemoryLog>();
  log->create_topic("t", 8);
  for (int i = 0; i < 64; ++i) log->append("t", "k" + std::to_string(i), "v");
  std::vector<int32_t> wanted = goka::partitions_for({"k1", "k2", "k1"}, 8);
  CHECK(std::is_sorted(wanted.begin(), wanted.end()));
  CHECK(wanted.size() <= 2);
  goka::ViewOptions options;
  options.partitions = wanted;
  options.follow = false;
  goka::View view("t", options, log);
  view.run();
  CHECK(view.get("k1") == "v");
  CHECK(view.get("k2") == "v");
  CHECK(view.stats().partitions.size() == wanted.size());
  std::string other;
  for (int i = 0; i < 64 && other.empty(); ++i) {
    std::string k = "k" + std::to_string(i);
    if (std::find(wanted.begin(), wanted.end(), view.partition_of(k)) == wanted.end()) other = k;
  }
  REQUIRE_FALSE(other.empty());
  Errc code = Errc::runtime;
  error_text([&] { view.get(other); }, &code);
  CHECK(code == Errc::usage);
  view.evict("k1");
  CHECK_FALSE(view.has("k1"));

  options.partitions = {8};
  error_text([&] { goka::View bad("t", options, log); }, &code);
  CHECK(code == Errc::usage);
  error_text([&] { goka::View missing("nope", {}, log); }, &code);
  CHECK(code == Errc::not_found);
}

TEST_CASE("view on the memory log: errors are kept and surfaced", "[view]") {
  auto log = std::make_shared<MemoryLog>();
  log->create_topic("t", 1);
  log->append("t", 0, "a", "1");

  SECTION("a passing read error is retried") {
    goka::ViewOptions options;
    options.backoff = 1ms;
    std::atomic<int> warnings{0};
    options.client.log = [&](goka::LogLevel, const std::string&) { ++warnings; };
    goka::View view("t", options, log);
    log->fail_next_poll("t", goka::Error(Errc::timeout, "broker gone"));
    log->fail_next_poll("t", goka::Error(Errc::timeout, "broker gone"));
    view.start();
    REQUIRE(view.wait_recovered(10s));
    CHECK(view.stats().retries == 2);
    CHECK(warnings == 2);  // each retry says so
    log->set_down(true);
    log->append("t", 0, "a", "2");
    log->set_down(false);
    REQUIRE(eventually([&] { return view.get("a") == "2"; }));
    view.stop();
    view.wait();
    CHECK_FALSE(view.error());
  }
  SECTION("a lasting read error stops the view") {
    goka::View view("t", {}, log);
    log->fail_next_poll("t", goka::Error(Errc::not_found, "topic deleted", {.topic = "t"}));
    view.start();
    Errc code = Errc::runtime;
    CHECK(error_text([&] { view.wait_recovered(10s); }, &code).find("topic deleted") !=
          std::string::npos);
    CHECK(code == Errc::not_found);
    CHECK(error_text([&] { view.wait(); }).find("topic deleted") != std::string::npos);
    CHECK(view.state() == TableState::stopped);
    CHECK(view.error());
  }
  SECTION("a storage ahead of the topic fails run()") {
    goka::ViewOptions options;
    options.storage = [](const std::string&, int32_t) {
      auto s = goka::make_memory_storage();
      s->set_offset(100);
      return s;
    };
    goka::View view("t", options, log);
    Errc code = Errc::runtime;
    std::string what = error_text([&] { view.run(); }, &code);
    CHECK(code == Errc::config);
    CHECK(what.find("stored offset 100") != std::string::npos);
    error_text([&] { view.wait_recovered(0ms); }, &code);  // kept
    CHECK(code == Errc::config);
  }
  SECTION("a change callback that throws stops the view") {
    goka::ViewOptions options;
    options.on_change = [](const Record&) { throw std::runtime_error("watcher broke"); };
    goka::View view("t", options, log);
    view.start();
    REQUIRE(view.wait_recovered(10s));
    log->append("t", 0, "a", "2");
    CHECK(error_text([&] { view.wait(); }).find("watcher broke") != std::string::npos);
  }
  SECTION("a cluster unreachable at start fails run()") {
    goka::View view("t", {}, log);
    log->set_down(true);  // watermarks cannot be read: run() fails in bounded time
    Errc code = Errc::runtime;
    error_text([&] { view.run(); }, &code);
    CHECK(code == Errc::timeout);
    CHECK_FALSE(view.recovered());
  }
}
