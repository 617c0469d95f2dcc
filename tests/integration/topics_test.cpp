// Topic manager and topic reader on a real Kafka-protocol broker.

#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "cluster.hpp"
#include "goka/emitter.hpp"
#include "goka/error.hpp"
#include "goka/topic_manager.hpp"
#include "goka/topic_reader.hpp"

namespace {

std::vector<goka::Record> read_all(goka::TopicReader& reader) {
  std::vector<goka::Record> out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (reader.poll(out, std::chrono::milliseconds(200))) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
  }
  return out;
}

goka::Errc code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const goka::Error& e) {
    return e.code();
  }
  FAIL("no error");
  return goka::Errc::runtime;
}

}  // namespace

TEST_CASE("topic manager: partitions, watermarks, missing topics") {
  goka::test::Cluster cluster;
  std::string topic = cluster.topic("tm", 6);
  goka::TopicManager tm(cluster.options());
  CHECK(tm.exists(topic));
  CHECK(tm.partitions(topic) == 6);
  std::string missing = goka::test::Cluster::unique("missing");
  CHECK_FALSE(tm.exists(missing));
  CHECK(code_of([&] { tm.partitions(missing); }) == goka::Errc::not_found);
  CHECK_FALSE(tm.exists(missing));  // asking did not create it
  {
    goka::Emitter emitter(topic, cluster.options());
    for (int i = 0; i < 10; ++i) emitter.emit({"k", "v", {}, 0, 1});
    REQUIRE(emitter.finish().acknowledged == 10);
  }
  auto w = tm.watermarks(topic, 1);
  CHECK(w.low == 0);
  CHECK(w.high == 10);
  bool listed = false;
  for (const auto& info : tm.topics()) listed = listed || (info.name == topic && info.partitions == 6);
  CHECK(listed);
}

TEST_CASE("topic manager: co-partitioning names each topic and its count") {
  goka::test::Cluster cluster;
  std::string a = cluster.topic("copart-a", 4), b = cluster.topic("copart-b", 4);
  std::string c = cluster.topic("copart-c", 3);
  goka::TopicManager tm(cluster.options());
  CHECK(tm.check_copartitioned({a, b}) == 4);
  try {
    tm.check_copartitioned({a, b, c});
    FAIL("accepted 3 against 4");
  } catch (const goka::Error& e) {
    std::string what = e.what();
    CHECK(e.code() == goka::Errc::config);
    CHECK(what.find(a + " has 4") != std::string::npos);
    CHECK(what.find(c + " has 3") != std::string::npos);
  }
}

TEST_CASE("topic manager: the embedded broker creates topics through its topic requests") {
  goka::test::Cluster cluster;
  cluster.require_embedded("topic requests are the embedded broker's");
  CHECK_FALSE(cluster.embedded_broker()->topic_request_socket().empty());
  goka::TopicManager tm(cluster.options(std::chrono::seconds(10)));
  std::string table = goka::test::Cluster::unique("group-table");
  tm.ensure_table(table, 6);
  CHECK(tm.partitions(table) == 6);
  tm.ensure_table(table, 6);  // exists with the right count: fine
  CHECK(code_of([&] { tm.ensure_table(table, 8); }) == goka::Errc::config);
  CHECK_FALSE(tm.create_topic(table, 6));  // exists already
  CHECK(tm.create_topic(goka::test::Cluster::unique("stream"), 2));
  CHECK(code_of([&] { tm.create_topic("bad name", 2); }) == goka::Errc::config);
  CHECK(code_of([&] { tm.delete_topic(table); }) == goka::Errc::runtime);
}

TEST_CASE("topic manager: an embedded broker without topic requests fails fast") {
  goka::EmbeddedBrokerOptions options;
  options.accept_topic_requests = false;
  goka::EmbeddedBroker broker(options);
  CHECK(broker.topic_request_socket().empty());
  goka::ClientOptions client;
  client.brokers = broker.bootstrap_servers();
  client.log_level = goka::LogLevel::error;
  goka::TopicManager tm(client);
  std::string table = goka::test::Cluster::unique("group-table");
  auto start = std::chrono::steady_clock::now();
  try {
    tm.ensure_table(table, 4);
    FAIL("created a topic on an embedded broker without topic requests");
  } catch (const goka::Error& e) {
    CHECK(e.code() == goka::Errc::not_found);
    CHECK(std::string(e.what()).find(table) != std::string::npos);
  }
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(3));
}

TEST_CASE("topic manager: create and delete topics on a real cluster") {
  goka::test::Cluster cluster;
  cluster.require_real("the embedded broker keeps no configs and deletes no topics");
  goka::TopicManager tm(cluster.options(std::chrono::seconds(20)));
  std::string topic = goka::test::Cluster::unique("created");
  CHECK(tm.create_topic(topic, 3, {{"cleanup.policy", "compact"}, {"retention.ms", "60000"}}));
  CHECK(tm.partitions(topic) == 3);
  CHECK(tm.cleanup_policies({topic}).at(topic) == "compact");
  CHECK_FALSE(tm.create_topic(topic, 3));
  CHECK(code_of([&] { tm.create_topic(goka::test::Cluster::unique("bad"), 1, {{"no.such.config", "1"}}); }) ==
        goka::Errc::config);
  tm.delete_topic(topic);
  CHECK_FALSE(tm.exists(topic));
  CHECK(code_of([&] { tm.delete_topic(topic); }) == goka::Errc::not_found);
}

TEST_CASE("topic reader: emit then read back everything up to the end seen at start") {
  goka::test::Cluster cluster;
  std::string topic = cluster.topic("reader", 4);
  {
    goka::Emitter emitter(topic, cluster.options());
    for (int i = 0; i < 400; ++i) {
      emitter.emit({"key-" + std::to_string(i % 37), std::to_string(i), {{"h", "x"}}, 1000 + i, -1});
    }
    emitter.emit({"gone", std::nullopt, {}, 0, -1});
    REQUIRE(emitter.finish().failed == 0);
  }
  goka::TopicReader reader(topic, {}, cluster.options());
  auto records = read_all(reader);
  REQUIRE(records.size() == 401);
  int tombstones = 0;
  for (const auto& r : records) {
    if (!r.value) {
      ++tombstones;
      continue;
    }
    CHECK(r.timestamp == 1000 + std::stoi(*r.value));
    CHECK(r.headers == goka::Headers{{"h", "x"}});
  }
  CHECK(tombstones == 1);
}

TEST_CASE("topic reader: start offsets, tail, time, partitions, and errors") {
  goka::test::Cluster cluster;
  std::string topic = cluster.topic("reader-offsets", 2);
  {
    goka::Emitter emitter(topic, cluster.options());
    for (int i = 0; i < 10; ++i) emitter.emit({"k", std::to_string(i), {}, 5000 + i * 10, 0});
    for (int i = 0; i < 3; ++i) emitter.emit({"k", "p1", {}, 0, 1});
    REQUIRE(emitter.finish().failed == 0);
  }
  auto values = [&](goka::TopicReaderOptions o) {
    goka::TopicReader reader(topic, o, cluster.options());
    std::vector<std::string> out;
    for (auto& r : read_all(reader)) out.push_back(*r.value);
    return out;
  };
  using SO = goka::StartOffset;
  CHECK(values({{0}, SO::at(7), true}) == std::vector<std::string>{"7", "8", "9"});
  CHECK(values({{0}, SO::tail(2), true}) == std::vector<std::string>{"8", "9"});
  CHECK(values({{0}, SO::at_time(5075), true}) == std::vector<std::string>{"8", "9"});
  CHECK(values({{0}, SO::end(), true}).empty());
  CHECK(values({{1}, SO::beginning(), true}).size() == 3);
  CHECK(code_of([&] { goka::TopicReader(topic, {{5}, SO::beginning(), true}, cluster.options()); }) ==
        goka::Errc::usage);
  CHECK(code_of([&] {
          goka::TopicReader(goka::test::Cluster::unique("nope"), {}, cluster.options());
        }) == goka::Errc::not_found);
}

TEST_CASE("topic reader: following sees records written later") {
  goka::test::Cluster cluster;
  std::string topic = cluster.topic("reader-follow", 1);
  goka::TopicReader reader(topic, {{}, goka::StartOffset::beginning(), false}, cluster.options());
  goka::Emitter emitter(topic, cluster.options());
  emitter.emit_sync({"k", "later", {}, 0, -1});
  std::vector<goka::Record> out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (out.empty() && std::chrono::steady_clock::now() < deadline) {
    CHECK(reader.poll(out, std::chrono::milliseconds(200)));
  }
  REQUIRE(out.size() == 1);
  CHECK(*out[0].value == "later");
}

TEST_CASE("topic manager: an emitter to a missing topic has the broker create it") {
  // A real Kafka answers the request that makes it create the topic with
  // "unknown topic" and knows it a moment later; the emitter waits for that.
  goka::test::Cluster cluster;
  std::string topic = goka::test::Cluster::unique("auto-created");
  goka::TopicManager tm(cluster.options());
  REQUIRE_FALSE(tm.exists(topic));
  goka::Emitter emitter(topic, cluster.options());
  emitter.emit("k", "v");
  CHECK(emitter.finish().acknowledged == 1);
  CHECK(tm.exists(topic));
  goka::TopicReader reader(topic, {}, cluster.options());
  auto records = read_all(reader);
  REQUIRE(records.size() == 1);
  CHECK(records[0].value == std::optional<std::string>("v"));
}

TEST_CASE("topic manager: a topic just created answers its watermarks at once") {
  // A real Kafka names a new partition's leader before that leader serves
  // (it answers "not leader" for a moment): what a processor's first look at
  // its new table topic meets.
  goka::test::Cluster cluster;
  goka::TopicManager tm(cluster.options());
  for (int i = 0; i < 5; ++i) {
    std::string topic = cluster.topic("fresh", 8);
    for (int32_t p = 0; p < 8; ++p) {
      goka::Watermarks w = tm.watermarks(topic, p);
      CHECK(w.low == 0);
      CHECK(w.high == 0);
    }
  }
}

TEST_CASE("topic manager: instances racing to create one table all succeed") {
  // Several instances of a group start at once and each makes the group
  // table: one creates it, the others are told it exists, and must then wait
  // until the cluster serves it rather than fail ("topic exists but has no
  // partitions yet", seen with 4 instances on a real Kafka).
  goka::test::Cluster cluster;
  for (int round = 0; round < 3; ++round) {
    std::string table = goka::test::Cluster::unique("raced-table");
    std::vector<std::string> errors(6);
    std::atomic<int> ready{0};
    std::vector<std::thread> instances;
    for (size_t i = 0; i < errors.size(); ++i) {
      instances.emplace_back([&, i] {
        goka::TopicManager tm(cluster.options());
        ready.fetch_add(1);
        while (ready.load() < int(errors.size())) std::this_thread::yield();
        try {
          tm.ensure_table(table, 8);
        } catch (const goka::Error& e) {
          errors[i] = e.what();
        }
      });
    }
    for (auto& t : instances) t.join();
    for (const auto& e : errors) CHECK(e == "");
    CHECK(goka::TopicManager(cluster.options()).partitions(table) == 8);
  }
}
