// TopicManager on the in-memory log: cleanup policies where the backend
// tells them.

#include "goka/topic_manager.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <string>

#include "tester/memory_log.hpp"

namespace {

using Policies = std::map<std::string, std::string>;

}  // namespace

TEST_CASE("topic manager: cleanup policies, compact for tables, delete for streams") {
  auto log = std::make_shared<goka::tester::MemoryLog>();
  goka::TopicManager tm(log);
  tm.ensure_table("users-table", 4);
  tm.ensure_stream("clicks", 4);
  log->create_topic("plain", 2);

  CHECK(tm.cleanup_policies({"users-table", "clicks", "plain", "missing"}) ==
        Policies{{"users-table", "compact"}, {"clicks", "delete"}, {"plain", "delete"}});
  CHECK(tm.cleanup_policies({}).empty());

  auto topics = tm.topics();
  REQUIRE(topics.size() == 3);
  CHECK(topics[0].name == "clicks");
  CHECK(topics[0].cleanup_policy == "delete");
  CHECK(topics[2].name == "users-table");
  CHECK(topics[2].partitions == 4);
  CHECK(topics[2].cleanup_policy == "compact");
}

TEST_CASE("topic manager: cleanup policies are unknown, not an error, while the cluster is down") {
  auto log = std::make_shared<goka::tester::MemoryLog>();
  goka::TopicManager tm(log);
  tm.ensure_table("t-table", 1);
  log->set_down(true);
  CHECK(tm.cleanup_policies({"t-table"}).empty());
  log->set_down(false);
  CHECK(tm.cleanup_policies({"t-table"}) == Policies{{"t-table", "compact"}});
}
