// The librdkafka consumer-group member the processors run on: range
// assignment of co-partitioned topics, paused until resumed, commits.

#include <catch2/catch.hpp>
#include <map>
#include <mutex>
#include <set>

#include "cluster.hpp"
#include "core/backend.hpp"
#include "goka/emitter.hpp"

namespace {

// Resumes what it is given at once, unless told not to (as a processor
// recovering its tables); remembers what it owns.
struct Member final : goka::core::RebalanceHandler {
  std::unique_ptr<goka::core::GroupConsumer> consumer;
  std::set<std::pair<std::string, int32_t>> owned;
  int revocations = 0;
  bool resume_at_once = true;

  Member(goka::core::Backend& backend, const std::string& group,
         const std::vector<std::string>& topics, bool resume = true)
      : resume_at_once(resume) {
    consumer = backend.group_consumer(group, goka::core::StartPolicy::earliest, *this);
    consumer->subscribe(topics);
  }
  ~Member() override { consumer->close(); }  // revokes through this, so before the members go
  void on_assigned(const std::vector<goka::core::TopicPartition>& parts) override {
    for (const auto& tp : parts) owned.insert({tp.topic, tp.partition});
    if (resume_at_once) consumer->resume(parts);
  }
  void on_revoked(const std::vector<goka::core::TopicPartition>& parts) override {
    for (const auto& tp : parts) owned.erase({tp.topic, tp.partition});
    ++revocations;
  }
};

std::vector<goka::Record> poll_until(std::vector<Member*> members, size_t count,
                                     std::chrono::seconds limit = std::chrono::seconds(30)) {
  std::vector<goka::Record> out;
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (out.size() < count && std::chrono::steady_clock::now() < deadline) {
    for (Member* m : members) m->consumer->poll(out, std::chrono::milliseconds(100));
  }
  return out;
}

void emit_n(goka::test::Cluster& cluster, const std::string& topic, int n) {
  goka::Emitter emitter(topic, cluster.options());
  for (int i = 0; i < n; ++i) emitter.emit("key-" + std::to_string(i), std::to_string(i));
  REQUIRE(emitter.finish().acknowledged == n);
}

}  // namespace

TEST_CASE("group consumer: one member reads every partition of two topics, commits, resumes") {
  goka::test::Cluster cluster;
  std::string a = cluster.topic("gc-a", 4), b = cluster.topic("gc-b", 4);
  std::string group = goka::test::Cluster::unique("group");
  emit_n(cluster, a, 40);
  emit_n(cluster, b, 20);
  auto backend = goka::core::kafka_backend(cluster.options());
  {
    Member m(*backend, group, {a, b});
    auto records = poll_until({&m}, 60);
    CHECK(records.size() == 60);
    CHECK(m.owned.size() == 8);
    // Commit all of a and nothing of b.
    std::map<int32_t, int64_t> next;
    for (const auto& r : records) {
      if (r.topic == a) next[r.partition] = std::max(next[r.partition], r.offset + 1);
    }
    std::vector<goka::core::TopicPartition> offsets;
    for (auto [p, o] : next) offsets.push_back({a, p, o});
    m.consumer->commit(offsets);
    auto committed = m.consumer->committed({{a, 0, -1}, {b, 0, -1}});
    CHECK(committed[0].offset == next[0]);
    CHECK(committed[1].offset == -1);
    m.consumer->close();
  }
  Member again(*backend, group, {a, b});
  auto records = poll_until({&again}, 20);
  CHECK(records.size() == 20);
  for (const auto& r : records) CHECK(r.topic == b);
}

TEST_CASE("group consumer: two members split co-partitioned topics by partition number") {
  goka::test::Cluster cluster;
  std::string a = cluster.topic("gc2-a", 4), b = cluster.topic("gc2-b", 4);
  std::string group = goka::test::Cluster::unique("group");
  auto backend = goka::core::kafka_backend(cluster.options());
  Member one(*backend, group, {a, b});
  Member two(*backend, group, {a, b});
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::vector<goka::Record> ignored;
  while (one.owned.size() + two.owned.size() < 8 || one.owned.empty() || two.owned.empty()) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    one.consumer->poll(ignored, std::chrono::milliseconds(100));
    two.consumer->poll(ignored, std::chrono::milliseconds(100));
  }
  for (Member* m : {&one, &two}) {
    std::set<int32_t> of_a, of_b;
    for (const auto& [topic, p] : m->owned) (topic == a ? of_a : of_b).insert(p);
    CHECK(of_a == of_b);  // the same partition numbers of each topic
    CHECK(of_a.size() == 2);
  }
}

TEST_CASE("group consumer: records carry their headers unless read_headers(false)") {
  goka::test::Cluster cluster;
  std::string topic = cluster.topic("gc-headers", 2);
  goka::Emitter emitter(topic, cluster.options());
  emitter.emit(goka::Message{"with", "1", {{"trace", "t1"}, {"trace", "t2"}}});
  emitter.emit(goka::Message{"without", "2", {}});
  REQUIRE(emitter.finish().acknowledged == 2);
  auto backend = goka::core::kafka_backend(cluster.options());
  for (bool headers : {true, false}) {
    INFO("read_headers " << headers);
    Member m(*backend, goka::test::Cluster::unique("group"), {topic});
    m.consumer->read_headers(headers);
    auto records = poll_until({&m}, 2);
    REQUIRE(records.size() == 2);
    for (const auto& r : records) {
      INFO(*r.key);
      bool has = headers && *r.key == "with";
      CHECK(r.headers == (has ? goka::Headers{{"trace", "t1"}, {"trace", "t2"}} : goka::Headers{}));
    }
  }
}

// librdkafka 2.0 notices a resume only when its broker thread wakes, which
// an idle one does once a second: a processor whose recovery took a while
// started up to 1 s late.
TEST_CASE("group consumer: a partition resumed after a while is read at once, from its start") {
  goka::test::Cluster cluster;
  std::string topic = cluster.topic("gc-resume", 3);
  emit_n(cluster, topic, 30);  // every partition gets some
  auto backend = goka::core::kafka_backend(cluster.options());
  Member m(*backend, goka::test::Cluster::unique("group"), {topic}, false);
  std::vector<goka::Record> records;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (m.owned.size() < 3) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    m.consumer->poll(records, std::chrono::milliseconds(100));
  }
  for (int32_t p = 0; p < 3; ++p) {
    INFO("partition " << p);
    // Paused meanwhile: nothing arrives, and the broker thread goes idle.
    auto idle_until = std::chrono::steady_clock::now() + std::chrono::milliseconds(1200);
    while (std::chrono::steady_clock::now() < idle_until) {
      m.consumer->poll(records, std::chrono::milliseconds(100));
    }
    REQUIRE(records.empty());
    auto resumed = std::chrono::steady_clock::now();
    m.consumer->resume({{topic, p, -1}});
    while (records.empty() && std::chrono::steady_clock::now() < resumed + std::chrono::seconds(10)) {
      m.consumer->poll(records, std::chrono::milliseconds(10));
    }
    auto waited = std::chrono::steady_clock::now() - resumed;
    REQUIRE(!records.empty());
    CHECK(waited < std::chrono::milliseconds(400));
    CHECK(records.front().partition == p);
    CHECK(records.front().offset == 0);  // fetched before the pause, not skipped
    m.consumer->pause({{topic, p, -1}});
    records.clear();
  }
}
