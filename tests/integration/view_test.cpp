// View on a real Kafka-protocol broker: recovery into memory and LevelDB,
// resuming from LevelDB, views of some partitions, merged iteration. A broker
// that goes away and comes back: faults_test.cpp.

#include "goka/view.hpp"

#include <stdlib.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cluster.hpp"
#include "goka/emitter.hpp"
#include "goka/error.hpp"
#include "goka/hasher.hpp"
#include "goka/topic_manager.hpp"
#include "tests/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

using goka::test::TempDir;

using Table = std::map<std::string, std::string>;

// Emits key/value pairs (nullopt: tombstone) and applies them to expected.
void emit(const goka::test::Cluster& cluster, const std::string& topic,
          const std::vector<std::pair<std::string, std::optional<std::string>>>& messages,
          Table& expected) {
  goka::Emitter emitter(topic, cluster.options());
  for (const auto& [key, value] : messages) {
    emitter.emit(key, value);
    if (value) {
      expected[key] = *value;
    } else {
      expected.erase(key);
    }
  }
  REQUIRE(emitter.finish().acknowledged == static_cast<int64_t>(messages.size()));
}

// A table history: 300 updates of 60 keys, then tombstones for every 7th key.
std::vector<std::pair<std::string, std::optional<std::string>>> history() {
  std::vector<std::pair<std::string, std::optional<std::string>>> out;
  for (int i = 0; i < 300; ++i) {
    out.emplace_back("user-" + std::to_string(i % 60), "{\"n\":" + std::to_string(i) + "}");
  }
  for (int k = 0; k < 60; k += 7) out.emplace_back("user-" + std::to_string(k), std::nullopt);
  return out;
}

Table contents(goka::Iterator& it) {
  Table out;
  std::string previous;
  bool first = true;
  while (it.next()) {
    std::string key(it.key());
    // Global key order across partitions, each key once.
    if (!first) CHECK(key > previous);
    first = false;
    previous = key;
    out[key] = std::string(it.value());
  }
  return out;
}

int64_t records_applied(const goka::View& view) {
  int64_t n = 0;
  for (const auto& p : view.stats().partitions) n += p.records;
  return n;
}

// Waits until pred holds or the deadline passes; polls, never sleeps as a
// means of synchronisation.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit = 30s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

goka::ViewOptions options_for(const goka::test::Cluster& cluster, bool follow) {
  goka::ViewOptions o;
  o.client = cluster.options();
  o.follow = follow;
  return o;
}

}  // namespace

TEST_CASE("view: recovers updates and tombstones into memory and LevelDB", "[view]") {
  goka::test::Cluster cluster;
  std::string topic = cluster.topic("view-table", 4);
  Table expected;
  emit(cluster, topic, history(), expected);
  REQUIRE(expected.size() == 51);
  TempDir dir;

  for (bool leveldb : {false, true}) {
    DYNAMIC_SECTION((leveldb ? "leveldb" : "memory")) {
      goka::ViewOptions options = options_for(cluster, /*follow=*/false);
      if (leveldb) options.storage = goka::leveldb_storage_builder(dir.path());
      std::vector<goka::TableState> states;
      options.on_state_change = [&](goka::TableState s) { states.push_back(s); };
      goka::View view(topic, options);
      CHECK(view.partition_count() == 4);
      view.run();
      CHECK(view.recovered());
      CHECK(states == std::vector<goka::TableState>{goka::TableState::recovering,
                                                    goka::TableState::running,
                                                    goka::TableState::stopped});
      auto it = view.iterator();
      CHECK(contents(*it) == expected);
      CHECK(view.get("user-1") == expected["user-1"]);
      CHECK_FALSE(view.get("user-7"));
      CHECK_FALSE(view.has("user-14"));
      CHECK(records_applied(view) == 309);
      goka::ViewStats stats = view.stats();
      REQUIRE(stats.partitions.size() == 4);
      for (const auto& p : stats.partitions) {
        CHECK(p.state == goka::TableState::stopped);
        CHECK(p.stored_offset + 1 == p.high_watermark);
        CHECK(p.recovery_finished);
      }
      if (leveldb) {
        for (int p = 0; p < 4; ++p)
          CHECK(fs::exists(dir.path() / (topic + "." + std::to_string(p))));
      }
    }
  }
}

TEST_CASE("view: a second view on the same LevelDB reads only what is new", "[view]") {
  goka::test::Cluster cluster;
  std::string topic = cluster.topic("view-resume", 3);
  Table expected;
  emit(cluster, topic, history(), expected);
  TempDir dir;
  goka::ViewOptions options = options_for(cluster, /*follow=*/false);
  options.storage = goka::leveldb_storage_builder(dir.path());
  {
    goka::View first(topic, options);
    first.run();
    CHECK(records_applied(first) == 309);
    // The directory is locked while the first view holds it.
    CHECK_THROWS_AS(goka::View(topic, options), goka::Error);
  }
  emit(cluster, topic,
       {{"user-1", "\"again\""}, {"user-2", std::nullopt}, {"user-new", "1"}, {"user-0", "0"}},
       expected);
  goka::View second(topic, options);
  // Before running, get() answers from what the storage already holds.
  CHECK(second.get("user-2"));
  second.run();
  CHECK(records_applied(second) == 4);
  auto it = second.iterator();
  CHECK(contents(*it) == expected);
  for (const auto& p : second.stats().partitions) {
    CHECK(p.start_offset <= p.high_watermark);
    CHECK(p.stored_offset + 1 == p.high_watermark);
  }
}

TEST_CASE("view: only the partitions of given keys, and range and prefix iterators", "[view]") {
  goka::test::Cluster cluster;
  std::string topic = cluster.topic("view-keys", 8);
  Table expected;
  emit(cluster, topic, history(), expected);
  std::vector<std::string> keys{"user-3", "user-5"};
  goka::ViewOptions options = options_for(cluster, /*follow=*/false);
  options.partitions = goka::partitions_for(keys, 8);
  goka::View view(topic, options);
  view.run();
  CHECK(view.partitions() == options.partitions);
  CHECK(view.stats().partitions.size() == options.partitions.size());
  for (const auto& key : keys) CHECK(view.get(key) == expected[key]);
  // Every key it holds lives in one of its partitions, and every such key is there.
  Table held;
  for (const auto& [key, value] : expected) {
    if (std::count(options.partitions.begin(), options.partitions.end(),
                   goka::partition_for(key, 8)) > 0) {
      held[key] = value;
    }
  }
  auto all = view.iterator();
  CHECK(contents(*all) == held);
  CHECK(records_applied(view) < 309);

  Table range, prefix;
  for (const auto& [key, value] : held) {
    if (key >= "user-2" && key < "user-4") range[key] = value;
    if (key.starts_with("user-1")) prefix[key] = value;
  }
  auto r = view.range_iterator("user-2", "user-4");
  CHECK(contents(*r) == range);
  auto p = view.prefix_iterator("user-1");
  CHECK(contents(*p) == prefix);
}

TEST_CASE("view: follows changes and reports them", "[view]") {
  goka::test::Cluster cluster;
  std::string topic = cluster.topic("view-watch", 2);
  Table expected;
  emit(cluster, topic, {{"a", "1"}, {"b", "2"}}, expected);
  std::mutex mutex;
  std::vector<goka::Record> changes;
  goka::ViewOptions options = options_for(cluster, /*follow=*/true);
  options.on_change = [&](const goka::Record& r) {
    std::lock_guard lock(mutex);
    changes.push_back(r);
  };
  goka::View view(topic, options);
  view.start();
  REQUIRE(view.wait_recovered(30s));
  {
    std::lock_guard lock(mutex);
    CHECK(changes.empty());  // recovery is not reported
  }
  emit(cluster, topic, {{"a", "10"}, {"b", std::nullopt}}, expected);
  REQUIRE(eventually([&] {
    std::lock_guard lock(mutex);
    return changes.size() == 2;
  }));
  CHECK(view.get("a") == "10");
  CHECK_FALSE(view.has("b"));
  {
    std::lock_guard lock(mutex);
    for (const auto& c : changes) {
      CHECK(c.partition == goka::partition_for(*c.key, 2));
      CHECK(c.timestamp > 0);
      if (*c.key == "b") CHECK_FALSE(c.value);
    }
  }
  view.stop();
  view.wait();
  CHECK(view.state() == goka::TableState::stopped);
}

TEST_CASE("view: a missing table topic is not found, at once", "[view]") {
  goka::test::Cluster cluster;
  std::string missing = goka::test::Cluster::unique("no-such-table");
  // A long timeout, so that waiting for it cannot pass for "at once".
  goka::ViewOptions options = options_for(cluster, false);
  options.client.timeout = std::chrono::seconds(30);
  const auto start = std::chrono::steady_clock::now();
  try {
    goka::View view(missing, options);
    FAIL("a view of a missing topic");
  } catch (const goka::Error& e) {
    CHECK(e.code() == goka::Errc::not_found);
    CHECK(std::string(e.what()).find(missing) != std::string::npos);
  }
  const auto took_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count();
  CHECK(took_ms < 5000);
  CHECK_FALSE(goka::TopicManager(cluster.options()).exists(missing));  // not created
}
