// Cleanup policies from DescribeConfigs: none (and at once) on the embedded
// broker, which never answers it; the real policy on a real cluster
// (GOKA_TEST_BROKERS).

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "cluster.hpp"
#include "goka/topic_manager.hpp"

namespace {

const goka::TopicInfo* find(const std::vector<goka::TopicInfo>& topics, const std::string& name) {
  for (const auto& info : topics) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("topic configs: the embedded broker tells no cleanup policy, at once") {
  goka::test::Cluster cluster;
  cluster.require_embedded("a real cluster answers DescribeConfigs");
  std::string topic = cluster.topic("configs", 3);
  // A timeout far above the bound checked: no request may wait for it.
  goka::TopicManager tm(cluster.options(std::chrono::seconds(10)));
  auto start = std::chrono::steady_clock::now();
  auto topics = tm.topics();
  auto policies = tm.cleanup_policies({topic, "missing-topic"});
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
  const goka::TopicInfo* info = find(topics, topic);
  REQUIRE(info != nullptr);
  CHECK(info->partitions == 3);
  CHECK_FALSE(info->cleanup_policy.has_value());
  CHECK(policies.empty());
}

TEST_CASE("topic configs: a real cluster tells compact for a table, and one request for all") {
  goka::test::Cluster cluster;
  cluster.require_real("the embedded broker answers no DescribeConfigs");
  goka::TopicManager tm(cluster.options());
  std::string table = goka::test::Cluster::unique("configs-table");
  tm.ensure_table(table, 2);
  std::string stream = cluster.topic("configs-stream", 2);
  // A topic just created may take a moment to reach every broker.
  std::map<std::string, std::string> policies;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (policies.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    policies = tm.cleanup_policies({table, stream, goka::test::Cluster::unique("missing")});
    if (policies.size() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  REQUIRE(policies.size() == 2);  // the missing topic is left out
  CHECK(policies[table] == "compact");
  CHECK(policies[stream] != "compact");  // the broker's default, normally "delete"
  std::vector<goka::TopicInfo> topics = tm.topics();  // find() points into it
  const goka::TopicInfo* info = find(topics, table);
  REQUIRE(info != nullptr);
  CHECK(info->cleanup_policy == "compact");
}
