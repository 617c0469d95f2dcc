// Table topics that a real Kafka's log cleaner compacted: a partition's offsets
// have gaps, and a stored "__offset" may name a record the cleaner removed. A
// view and a processor still recover the latest value of every key, from the
// beginning and resumed from LevelDB. Needs a real Kafka (skipped on the
// embedded broker, which never compacts); scripts/kafka.sh's broker rolls
// segments every second and cleans them within seconds.

#include <catch2/catch.hpp>
#include <chrono>
#include <exception>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "click_count.hpp"
#include "cluster.hpp"
#include "goka/emitter.hpp"
#include "goka/processor.hpp"
#include "goka/topic_manager.hpp"
#include "goka/topic_reader.hpp"
#include "goka/view.hpp"
#include "tests/temp_dir.hpp"

using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;
using Table = std::map<std::string, std::string>;

constexpr int kKeys = 6;
constexpr int kRoundsPerBatch = 200;

std::string key(int k) { return "user-" + std::to_string(k); }

// Emits rounds [*round, *round + kRoundsPerBatch) of updates of every key,
// the value being the round (decimal text, Goka's int64 codec); latest gets
// the last value of each key.
void emit_batch(const goka::test::Cluster& cluster, const std::string& topic, int& round,
                Table& latest) {
  goka::Emitter emitter(topic, cluster.options());
  for (int end = round + kRoundsPerBatch; round < end; ++round) {
    for (int k = 0; k < kKeys; ++k) {
      emitter.emit(key(k), std::to_string(round));
      latest[key(k)] = std::to_string(round);
    }
  }
  REQUIRE(emitter.finish().failed == 0);
}

// What a one-shot recovery of a table saw.
struct Recovery {
  Table table;
  int64_t records = 0;  // records read
  int64_t span = 0;     // offsets between where each partition started and its end
  std::map<int32_t, goka::PartitionStats> partitions;
};

Recovery recover(const goka::test::Cluster& cluster, const std::string& topic,
                 goka::StorageBuilder storage = {}) {
  goka::ViewOptions options;
  options.client = cluster.options();
  options.follow = false;
  options.storage = std::move(storage);
  goka::View view(topic, options);
  view.run();
  Recovery out;
  for (auto it = view.iterator(); it->next();) out.table[std::string(it->key())] = std::string(it->value());
  for (const auto& p : view.stats().partitions) {
    out.records += p.records;
    out.span += p.high_watermark - p.start_offset;
    out.partitions[p.partition] = p;
  }
  return out;
}

// The offset of the first record at or after offset in a partition.
int64_t first_offset_from(const goka::test::Cluster& cluster, const std::string& topic,
                          int32_t partition, int64_t offset) {
  goka::TopicReaderOptions options;
  options.partitions = {partition};
  options.start = goka::StartOffset::at(offset);
  goka::TopicReader reader(topic, options, cluster.options());
  std::vector<goka::Record> records;
  while (records.empty() && reader.poll(records, 100ms)) {
  }
  REQUIRE_FALSE(records.empty());
  return records.front().offset;
}

// Emits batches of updates until done() says the cleaner did its work (or
// fails after 90 s). Between batches time passes: a segment rolls
// (log.roll.ms) only at an append that comes late enough.
template <class Done>
void emit_until_compacted(const goka::test::Cluster& cluster, const std::string& topic,
                          int& round, Table& latest, Done done) {
  auto deadline = Clock::now() + 90s;
  while (true) {
    emit_batch(cluster, topic, round, latest);
    if (done()) return;
    REQUIRE(Clock::now() < deadline);
    std::this_thread::sleep_for(500ms);
  }
}

}  // namespace

TEST_CASE("compaction: a view recovers the latest values of a compacted table topic") {
  goka::test::Cluster cluster;
  cluster.require_real("the embedded broker never compacts");
  std::string table = goka::test::Cluster::unique("compacted-table");
  goka::TopicManager(cluster.options()).ensure_table(table, 2);
  int round = 0;
  Table latest;
  Recovery recovered;
  emit_until_compacted(cluster, table, round, latest, [&] {
    recovered = recover(cluster, table);
    return recovered.records < recovered.span;  // the cleaner left gaps
  });
  CHECK(recovered.table == latest);
  // A new recovery after the last batch sees the same.
  CHECK(recover(cluster, table).table == latest);
}

TEST_CASE("compaction: a LevelDB view resumes at a stored offset the cleaner removed") {
  goka::test::Cluster cluster;
  cluster.require_real("the embedded broker never compacts");
  std::string table = goka::test::Cluster::unique("resumed-table");
  goka::TopicManager(cluster.options()).ensure_table(table, 2);
  goka::test::TempDir dir;
  int round = 0;
  Table latest;
  emit_batch(cluster, table, round, latest);
  Recovery first = recover(cluster, table, goka::leveldb_storage_builder(dir.path()));
  REQUIRE(first.table == latest);
  // Newer updates of every key, until the record at some partition's stored
  // offset is gone.
  int32_t gone = -1;
  emit_until_compacted(cluster, table, round, latest, [&] {
    for (const auto& [partition, stats] : first.partitions) {
      if (first_offset_from(cluster, table, partition, stats.stored_offset) > stats.stored_offset) {
        gone = partition;
        return true;
      }
    }
    return false;
  });
  Recovery resumed = recover(cluster, table, goka::leveldb_storage_builder(dir.path()));
  CHECK(resumed.table == latest);
  const auto& stats = resumed.partitions.at(gone);
  // It read on from after its stored offset, not from the beginning.
  CHECK(stats.start_offset == first.partitions.at(gone).stored_offset + 1);
  CHECK(stats.stored_offset == stats.high_watermark - 1);
}

TEST_CASE("compaction: a processor recovers its compacted group table and counts on") {
  goka::test::Cluster cluster;
  cluster.require_real("the embedded broker never compacts");
  std::string group = goka::test::Cluster::unique("compacted-count");
  std::string table = group + "-table";
  std::string clicks = cluster.topic("compacted-clicks", 2);
  goka::TopicManager(cluster.options()).ensure_table(table, 2);
  // The table as an earlier instance of the group left it: many counts of a
  // few keys, compacted.
  int round = 0;
  Table latest;
  emit_until_compacted(cluster, table, round, latest, [&] {
    Recovery r = recover(cluster, table);
    return r.records < r.span;
  });
  {
    goka::Emitter emitter(clicks, cluster.options());
    for (int k = 0; k < kKeys; ++k) emitter.emit(key(k), "{}");
    REQUIRE(emitter.finish().failed == 0);
  }
  goka::ProcessorOptions options;
  options.client = cluster.options();
  goka::Processor processor(goka::test::click_count(group, clicks), options);
  std::exception_ptr error;
  std::thread runner([&] {
    try {
      processor.run();
    } catch (...) {
      error = std::current_exception();
    }
  });
  auto counted_on = [&] {
    for (int k = 0; k < kKeys; ++k) {
      auto want = std::to_string(std::stoll(latest[key(k)]) + 1);
      if (processor.get(key(k)) != std::optional<std::string>(want)) return false;
    }
    return true;
  };
  auto deadline = Clock::now() + 60s;
  while (!counted_on() && Clock::now() < deadline && !error) {
    std::this_thread::sleep_for(50ms);  // polling a condition
  }
  bool done = counted_on();
  processor.stop();
  runner.join();
  if (error) std::rethrow_exception(error);
  CHECK(done);
}
