// The emitter on a real Kafka-protocol broker, checked with a plain librdkafka
// consumer that knows nothing of libgoka.

#include <librdkafka/rdkafka.h>

#include <catch2/catch.hpp>
#include <map>
#include <set>

#include "cluster.hpp"
#include "goka/emitter.hpp"
#include "goka/error.hpp"
#include "goka/hasher.hpp"
#include "goka/topic_manager.hpp"

namespace {

struct Read {
  int32_t partition;
  int64_t offset;
  std::optional<std::string> key, value;
  goka::Headers headers;
  int64_t timestamp;
};

// Reads count records of topic from the beginning with librdkafka alone.
std::vector<Read> consume_plain(const std::string& brokers, const std::string& topic,
                                int32_t partitions, size_t count) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
  rd_kafka_conf_set(conf, "group.id", "plain-test-consumer", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  REQUIRE(rk != nullptr);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int32_t p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  std::vector<Read> out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (out.size() < count && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 200);
    if (m == nullptr) continue;
    if (!m->err) {
      Read r{m->partition, m->offset, {}, {}, {}, rd_kafka_message_timestamp(m, nullptr)};
      if (m->key) r.key.emplace(static_cast<char*>(m->key), m->key_len);
      if (m->payload) r.value.emplace(static_cast<char*>(m->payload), m->len);
      rd_kafka_headers_t* hdrs = nullptr;
      if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* name;
        const void* val;
        size_t size;
        for (size_t i = 0; !rd_kafka_header_get_all(hdrs, i, &name, &val, &size); ++i) {
          r.headers.emplace_back(name, std::string(static_cast<const char*>(val), size));
        }
      }
      out.push_back(std::move(r));
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return out;
}

}  // namespace

TEST_CASE("emitter: Goka's partitioning and per-key order, seen by a plain consumer") {
  goka::test::Cluster cluster;
  const int32_t partitions = 8;
  std::string topic = cluster.topic("emit-order", partitions);
  const int keys = 20, per_key = 50;
  {
    goka::Emitter emitter(topic, cluster.options());
    CHECK(emitter.partitions() == partitions);
    for (int i = 0; i < per_key; ++i) {
      for (int k = 0; k < keys; ++k) {
        emitter.emit("user-" + std::to_string(k), std::to_string(i));
      }
    }
    goka::EmitSummary summary = emitter.finish();
    CHECK(summary.emitted == keys * per_key);
    CHECK(summary.acknowledged == keys * per_key);
    CHECK(summary.failed == 0);
  }
  auto records = consume_plain(cluster.brokers(), topic, partitions, keys * per_key);
  REQUIRE(records.size() == size_t(keys * per_key));
  std::map<std::string, int> next;  // per key, the value expected next
  for (const auto& r : records) {
    REQUIRE(r.key);
    CHECK(r.partition == goka::partition_for(*r.key, partitions));
    CHECK(*r.value == std::to_string(next[*r.key]++));
  }
  CHECK(next.size() == size_t(keys));
}

TEST_CASE("emitter: headers, timestamps, tombstones and callbacks") {
  goka::test::Cluster cluster;
  std::string topic = cluster.topic("emit-fields", 3);
  goka::Emitter emitter(topic, cluster.options());
  goka::Delivery d = emitter.emit_sync(
      {"k1", "v1", {{"trace", "abc"}, {"trace", "def"}}, 1732233600000, -1});
  CHECK(d.ok());
  CHECK(d.partition == goka::partition_for("k1", 3));
  CHECK(d.offset == 0);
  auto tomb = emitter.emit_async({"k1", std::nullopt, {}, 0, -1}).get();
  CHECK(tomb.ok());
  std::atomic<int> called{0};
  emitter.emit({"k2", "", {}, 0, 2}, [&](const goka::Delivery& del) {
    CHECK(del.partition == 2);
    ++called;
  });
  CHECK(emitter.finish().acknowledged == 3);
  CHECK(called == 1);
  CHECK_THROWS_AS(emitter.emit("k3", "late"), goka::Error);

  auto records = consume_plain(cluster.brokers(), topic, 3, 3);
  REQUIRE(records.size() == 3);
  std::map<std::string, std::vector<Read>> by_key;
  for (auto& r : records) by_key[*r.key].push_back(r);
  REQUIRE(by_key["k1"].size() == 2);
  CHECK(by_key["k1"][0].timestamp == 1732233600000);
  CHECK(by_key["k1"][0].headers == goka::Headers{{"trace", "abc"}, {"trace", "def"}});
  CHECK(!by_key["k1"][1].value.has_value());  // a tombstone is a null value
  REQUIRE(by_key["k2"].size() == 1);
  CHECK(by_key["k2"][0].partition == 2);
}

TEST_CASE("emitter: a partition out of range is a usage error") {
  goka::test::Cluster cluster;
  std::string topic = cluster.topic("emit-range", 2);
  goka::Emitter emitter(topic, cluster.options());
  try {
    emitter.emit({"k", "v", {}, 0, 2});
    FAIL("accepted partition 2 of 2");
  } catch (const goka::Error& e) {
    CHECK(e.code() == goka::Errc::usage);
  }
}

TEST_CASE("emitter: a message that cannot be queued throws and is not counted") {
  goka::test::Cluster cluster;
  std::string topic = cluster.topic("emit-too-large", 2);
  goka::ClientOptions options = cluster.options();
  options.properties["message.max.bytes"] = "10000";  // the producer refuses larger ones
  goka::Emitter emitter(topic, options);
  bool called = false;
  try {
    emitter.emit({"big", std::string(20000, 'x'), {}, 0, -1},
                 [&](const goka::Delivery&) { called = true; });
    FAIL("queued a message over message.max.bytes");
  } catch (const goka::Error& e) {
    CHECK(e.code() == goka::Errc::kafka);
  }
  CHECK(emitter.emit_sync({"small", "v", {}, 0, -1}).ok());
  goka::EmitSummary summary = emitter.finish();
  CHECK_FALSE(called);  // never queued, so never reported
  CHECK(summary.emitted == 1);
  CHECK(summary.acknowledged == 1);
  CHECK(summary.failed == 0);
  CHECK_FALSE(summary.first_error.has_value());  // no timeout that never happened
}

TEST_CASE("emitter: an unreachable broker fails within the timeout") {
  goka::ClientOptions options;
  options.brokers = "127.0.0.1:1";
  options.timeout = std::chrono::milliseconds(1500);
  options.log_level = goka::LogLevel::error;
  auto start = std::chrono::steady_clock::now();
  try {
    goka::Emitter emitter("anything", options);
    FAIL("connected to nothing");
  } catch (const goka::Error& e) {
    CHECK(e.code() == goka::Errc::timeout);
    CHECK(std::string(e.what()).find("127.0.0.1:1") != std::string::npos);
  }
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}
