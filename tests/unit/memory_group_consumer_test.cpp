// The in-memory log's consumer groups (MemoryLog::group_consumer): range
// assignment, eager rebalancing through the RebalanceHandler, pause/resume,
// commits, start policies and the fault knobs the processor tests rely on.

#include <catch2/catch.hpp>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/backend.hpp"
#include "goka/error.hpp"
#include "tester/memory_log.hpp"

using goka::Errc;
using goka::Record;
using goka::core::StartPolicy;
using goka::core::TopicPartition;
using goka::tester::CommitRefusal;
using goka::tester::MemoryLog;
using goka::tester::MemoryLogOptions;
using Owned = std::set<std::pair<std::string, int32_t>>;

namespace {

// What the members of a test did, in order: "<name> revoked a/0" etc.
using Events = std::vector<std::string>;

// A group member that records its rebalances and, unless told otherwise,
// resumes what it is assigned at once.
struct Member final : goka::core::RebalanceHandler {
  std::string name;
  Events* events;
  std::unique_ptr<goka::core::GroupConsumer> consumer;
  Owned owned;
  int assignments = 0;
  bool resume_on_assign = true;
  std::function<void()> on_revoke;  // runs inside on_revoked

  Member(MemoryLog& log, std::string member_name, Events& log_of_events,
         const std::vector<std::string>& topics, const std::string& group = "g",
         StartPolicy start = StartPolicy::earliest)
      : name(std::move(member_name)), events(&log_of_events) {
    consumer = log.group_consumer(group, start, *this);
    consumer->subscribe(topics);
  }
  ~Member() override { consumer.reset(); }  // closes, revoking through this

  void on_assigned(const std::vector<TopicPartition>& parts) override {
    ++assignments;
    events->push_back(name + " assigned " + std::to_string(parts.size()));
    for (const auto& tp : parts) {
      CHECK(tp.offset == -1);
      owned.insert({tp.topic, tp.partition});
    }
    if (resume_on_assign) consumer->resume(parts);
  }
  void on_revoked(const std::vector<TopicPartition>& parts) override {
    events->push_back(name + " revoked " + std::to_string(parts.size()));
    for (const auto& tp : parts) owned.erase({tp.topic, tp.partition});
    if (on_revoke) on_revoke();
  }

  std::vector<Record> poll() {
    std::vector<Record> out;
    consumer->poll(out, std::chrono::milliseconds(0));
    return out;
  }
  std::set<int32_t> partitions_of(const std::string& topic) const {
    std::set<int32_t> out;
    for (const auto& [t, p] : owned) {
      if (t == topic) out.insert(p);
    }
    return out;
  }
};

// Polls every member in turn, a few rounds: enough to finish any rebalance
// (each round moves every member by at least one step).
std::vector<Record> settle(const std::vector<Member*>& members) {
  std::vector<Record> out;
  for (int round = 0; round < 4; ++round) {
    for (Member* m : members) {
      auto records = m->poll();
      out.insert(out.end(), records.begin(), records.end());
    }
  }
  return out;
}

std::vector<int64_t> offsets(const std::vector<Record>& records) {
  std::vector<int64_t> out;
  for (const auto& r : records) out.push_back(r.offset);
  return out;
}

std::shared_ptr<MemoryLog> make_log(std::size_t max_poll_records = 4096) {
  MemoryLogOptions options;
  options.max_poll_records = max_poll_records;
  auto log = std::make_shared<MemoryLog>(options);
  log->create_topic("a", 4);
  log->create_topic("b", 4);
  return log;
}

void fill(MemoryLog& log, const std::string& topic, int32_t partition, int n) {
  for (int i = 0; i < n; ++i) log.append(topic, partition, "k", std::to_string(i));
}

}  // namespace

TEST_CASE("memory group consumer: one member owns every partition, paused until resumed") {
  auto log = make_log();
  fill(*log, "a", 0, 3);
  fill(*log, "b", 3, 2);
  Events events;
  Member m(*log, "m", events, {"a", "b"});
  m.resume_on_assign = false;
  CHECK(log->group_members("g") == 0);  // joins at its first poll
  CHECK(m.poll().empty());              // assigned, but paused
  CHECK(log->group_members("g") == 1);
  CHECK(m.owned.size() == 8);
  CHECK(events == Events{"m assigned 8"});
  m.consumer->resume({{"a", 0, -1}});
  auto records = m.poll();
  CHECK(offsets(records) == std::vector<int64_t>{0, 1, 2});
  m.consumer->resume({{"b", 3, -1}});
  records = m.poll();
  REQUIRE(records.size() == 2);
  CHECK(records[0].topic == "b");
  CHECK(records[0].partition == 3);
}

TEST_CASE("memory group consumer: range assignment gives each member the same numbers of each topic") {
  auto log = make_log();
  Events events;
  SECTION("two members: two partitions each") {
    Member one(*log, "one", events, {"a", "b"}), two(*log, "two", events, {"a", "b"});
    settle({&one, &two});
    CHECK(one.partitions_of("a") == std::set<int32_t>{0, 1});
    CHECK(one.partitions_of("b") == std::set<int32_t>{0, 1});
    CHECK(two.partitions_of("a") == std::set<int32_t>{2, 3});
    CHECK(two.partitions_of("b") == std::set<int32_t>{2, 3});
  }
  SECTION("three members: the first gets one more") {
    Member one(*log, "one", events, {"a", "b"}), two(*log, "two", events, {"a", "b"}),
        three(*log, "three", events, {"a", "b"});
    settle({&one, &two, &three});
    CHECK(one.partitions_of("a") == std::set<int32_t>{0, 1});
    CHECK(two.partitions_of("a") == std::set<int32_t>{2});
    CHECK(three.partitions_of("a") == std::set<int32_t>{3});
    for (Member* m : {&one, &two, &three}) CHECK(m->partitions_of("a") == m->partitions_of("b"));
  }
  SECTION("five members of four partitions: the last gets none, and is told so") {
    std::vector<std::unique_ptr<Member>> members;
    std::vector<Member*> raw;
    for (int i = 0; i < 5; ++i) {
      members.push_back(std::make_unique<Member>(*log, std::to_string(i), events,
                                                 std::vector<std::string>{"a"}));
      raw.push_back(members.back().get());
    }
    settle(raw);
    for (int i = 0; i < 4; ++i) CHECK(raw[static_cast<size_t>(i)]->owned.size() == 1);
    CHECK(raw[4]->owned.empty());
    CHECK(raw[4]->assignments == 1);  // an empty assignment is an assignment
  }
}

TEST_CASE("memory group consumer: a topic is split among the members subscribed to it") {
  auto log = make_log();
  Events events;
  Member one(*log, "one", events, {"a", "b"}), two(*log, "two", events, {"a"});
  settle({&one, &two});
  CHECK(one.partitions_of("a") == std::set<int32_t>{0, 1});
  CHECK(two.partitions_of("a") == std::set<int32_t>{2, 3});
  CHECK(one.partitions_of("b") == std::set<int32_t>{0, 1, 2, 3});
  CHECK(two.partitions_of("b").empty());
}

TEST_CASE("memory group consumer: a join revokes on every member before anyone is assigned") {
  auto log = make_log();
  Events events;
  Member one(*log, "one", events, {"a", "b"});
  settle({&one});
  Member two(*log, "two", events, {"a", "b"});
  events.clear();
  // two joins; one, which does not poll, holds the rebalance up.
  for (int i = 0; i < 3; ++i) two.poll();
  CHECK(two.assignments == 0);
  CHECK(one.owned.size() == 8);
  CHECK(events.empty());
  one.poll();  // revokes, rejoins last: the assignment is made, one takes its share
  two.poll();
  CHECK(events == Events{"one revoked 8", "one assigned 4", "two assigned 4"});
  CHECK(one.owned.size() == 4);
  CHECK(two.owned.size() == 4);

  SECTION("a member leaving: close() revokes through its handler, the other gets all") {
    events.clear();
    two.consumer->close();
    CHECK(events == Events{"two revoked 4"});
    CHECK(log->group_members("g") == 1);
    one.poll();
    CHECK(events == Events{"two revoked 4", "one revoked 4", "one assigned 8"});
    CHECK(one.owned.size() == 8);
    CHECK_THROWS_AS(two.poll(), goka::Error);  // closed
  }
  SECTION("records move with their partitions, from the committed offsets") {
    fill(*log, "a", 3, 5);
    auto records = settle({&one, &two});
    CHECK(offsets(records) == std::vector<int64_t>{0, 1, 2, 3, 4});
    two.consumer->commit({{"a", 3, 3}});
    two.consumer->close();
    records = settle({&one});
    CHECK(offsets(records) == std::vector<int64_t>{3, 4});  // again from the commit
  }
}

TEST_CASE("memory group consumer: a poll waiting for the rebalance returns after its wait") {
  auto log = make_log();
  Events events;
  Member one(*log, "one", events, {"a"});
  settle({&one});
  Member two(*log, "two", events, {"a"});
  std::vector<Record> out;
  auto begin = std::chrono::steady_clock::now();
  two.consumer->poll(out, std::chrono::milliseconds(50));
  auto took = std::chrono::steady_clock::now() - begin;
  CHECK(took >= std::chrono::milliseconds(50));
  CHECK(took < std::chrono::seconds(5));
  CHECK(two.assignments == 0);
}

TEST_CASE("memory group consumer: pause and resume continue right after the last record handed out") {
  auto log = make_log(3);  // at most 3 records a poll
  fill(*log, "a", 1, 5);
  Events events;
  Member m(*log, "m", events, {"a"});
  CHECK(offsets(m.poll()) == std::vector<int64_t>{0, 1, 2});
  m.consumer->pause({{"a", 1, -1}});
  fill(*log, "a", 1, 2);
  CHECK(m.poll().empty());
  m.consumer->resume({{"a", 1, -1}});
  CHECK(offsets(m.poll()) == std::vector<int64_t>{3, 4, 5});
  CHECK(offsets(m.poll()) == std::vector<int64_t>{6});
}

TEST_CASE("memory group consumer: resume with an offset continues at exactly that offset") {
  auto log = make_log();
  fill(*log, "a", 0, 10);
  Events events;
  Member m(*log, "m", events, {"a"});
  m.resume_on_assign = false;
  m.poll();
  SECTION("forward, on the first resume") {
    m.consumer->resume({{"a", 0, 7}});
    CHECK(offsets(m.poll()) == std::vector<int64_t>{7, 8, 9});
  }
  SECTION("back, after a pause") {
    m.consumer->resume({{"a", 0, -1}});
    CHECK(m.poll().size() == 10);
    m.consumer->pause({{"a", 0, -1}});
    m.consumer->resume({{"a", 0, 8}});
    CHECK(offsets(m.poll()) == std::vector<int64_t>{8, 9});
  }
}

TEST_CASE("memory group consumer: commits are per group and tell where a member starts") {
  auto log = make_log();
  fill(*log, "a", 2, 6);
  Events events;
  {
    Member m(*log, "m", events, {"a"});
    CHECK(m.poll().size() == 6);
    m.consumer->commit({{"a", 2, 4}});
    auto committed = m.consumer->committed({{"a", 2, -1}, {"a", 0, -1}});
    CHECK(committed == std::vector<TopicPartition>{{"a", 2, 4}, {"a", 0, -1}});
    CHECK(log->admin().committed("g", {{"a", 2, -1}})[0].offset == 4);
    CHECK(log->admin().committed("other", {{"a", 2, -1}})[0].offset == -1);
  }
  CHECK(log->group_members("g") == 0);
  Member again(*log, "again", events, {"a"});
  CHECK(offsets(again.poll()) == std::vector<int64_t>{4, 5});
  Member stranger(*log, "stranger", events, {"a"}, "other");
  CHECK(stranger.poll().size() == 6);
}

TEST_CASE("memory group consumer: without a commit, the start policy decides") {
  auto log = make_log();
  fill(*log, "a", 0, 4);
  Events events;
  SECTION("earliest: the low watermark, also past a trim") {
    log->trim("a", 0, 2);
    Member m(*log, "m", events, {"a"});
    CHECK(offsets(m.poll()) == std::vector<int64_t>{2, 3});
  }
  SECTION("latest: the high watermark at the first fetch") {
    Member m(*log, "m", events, {"a"}, "g", StartPolicy::latest);
    CHECK(m.poll().empty());
    fill(*log, "a", 0, 1);
    CHECK(offsets(m.poll()) == std::vector<int64_t>{4});
  }
  SECTION("a committed offset out of range: the start policy") {
    {
      Member m(*log, "m", events, {"a"});
      m.poll();
      m.consumer->commit({{"a", 0, 1}});
    }
    log->trim("a", 0, 3);
    Member m(*log, "m2", events, {"a"});
    CHECK(offsets(m.poll()) == std::vector<int64_t>{3});
  }
}

TEST_CASE("memory group consumer: fetched_high_watermark is the last fetch's") {
  auto log = make_log();
  fill(*log, "a", 0, 4);
  Events events;
  Member m(*log, "m", events, {"a"});
  m.resume_on_assign = false;
  m.poll();
  CHECK_FALSE(m.consumer->fetched_high_watermark("a", 0));  // paused: never fetched
  m.consumer->resume({{"a", 0, -1}});
  m.poll();
  CHECK(m.consumer->fetched_high_watermark("a", 0) == std::optional<int64_t>(4));
  fill(*log, "a", 0, 2);
  CHECK(m.consumer->fetched_high_watermark("a", 0) == std::optional<int64_t>(4));
  m.poll();
  CHECK(m.consumer->fetched_high_watermark("a", 0) == std::optional<int64_t>(6));
  CHECK_FALSE(m.consumer->fetched_high_watermark("b", 0));  // not subscribed
}

TEST_CASE("memory group consumer: the resume-from-committed knob hands records out again") {
  auto log = make_log(3);
  fill(*log, "a", 0, 6);
  Events events;
  Member m(*log, "m", events, {"a"});
  log->set_resume_from_committed(true);
  CHECK(offsets(m.poll()) == std::vector<int64_t>{0, 1, 2});
  m.consumer->commit({{"a", 0, 1}});
  m.consumer->pause({{"a", 0, -1}});
  m.consumer->resume({{"a", 0, 3}});  // the offset is ignored too
  CHECK(offsets(m.poll()) == std::vector<int64_t>{1, 2, 3});
  m.consumer->resume({{"a", 0, -1}});  // not paused: no effect
  CHECK(offsets(m.poll()) == std::vector<int64_t>{4, 5});
  log->set_resume_from_committed(false);
  m.consumer->pause({{"a", 0, -1}});
  m.consumer->resume({{"a", 0, -1}});
  fill(*log, "a", 0, 1);
  CHECK(offsets(m.poll()) == std::vector<int64_t>{6});
}

TEST_CASE("memory group consumer: refused commits throw and change nothing") {
  auto log = make_log();
  Events events;
  Member one(*log, "one", events, {"a"});
  settle({&one});
  SECTION("always") {
    log->refuse_commits(CommitRefusal::always);
    try {
      one.consumer->commit({{"a", 0, 1}});
      FAIL("the commit was not refused");
    } catch (const goka::Error& e) {
      CHECK(e.code() == Errc::kafka);
    }
    CHECK(one.consumer->committed({{"a", 0, -1}})[0].offset == -1);
    log->refuse_commits(CommitRefusal::never);
    one.consumer->commit({{"a", 0, 1}});
    CHECK(one.consumer->committed({{"a", 0, -1}})[0].offset == 1);
  }
  SECTION("during a rebalance: the commit inside on_revoked") {
    log->refuse_commits(CommitRefusal::in_rebalance);
    one.consumer->commit({{"a", 0, 1}});  // no rebalance under way
    bool refused = false;
    one.on_revoke = [&] {
      try {
        one.consumer->commit({{"a", 0, 2}});
      } catch (const goka::Error& e) {
        refused = e.code() == Errc::kafka;
      }
    };
    Member two(*log, "two", events, {"a"});
    settle({&one, &two});
    CHECK(refused);
    CHECK(one.consumer->committed({{"a", 0, -1}})[0].offset == 1);
    one.consumer->commit({{"a", 0, 2}});  // rebalance over
    CHECK(one.consumer->committed({{"a", 0, -1}})[0].offset == 2);
    one.on_revoke = nullptr;  // refused goes out of scope
  }
}

TEST_CASE("memory group consumer: a handler's exception leaves poll(), and the log down stops fetching") {
  auto log = make_log();
  fill(*log, "a", 0, 2);
  Events events;
  struct Throwing final : goka::core::RebalanceHandler {
    void on_assigned(const std::vector<TopicPartition>&) override {
      throw goka::Error(Errc::runtime, "assign failed");
    }
    void on_revoked(const std::vector<TopicPartition>&) override {}
  } throwing;
  auto consumer = log->group_consumer("t", StartPolicy::earliest, throwing);
  consumer->subscribe({"a"});
  std::vector<Record> out;
  CHECK_THROWS_AS(consumer->poll(out, std::chrono::milliseconds(0)), goka::Error);
  consumer->close();

  Member m(*log, "m", events, {"a"});
  log->set_down(true);
  CHECK(m.poll().empty());
  CHECK_THROWS_AS(m.consumer->commit({{"a", 0, 1}}), goka::Error);
  log->set_down(false);
  CHECK(m.poll().size() == 2);
}

TEST_CASE("memory group consumer: a topic that is gone is a fatal poll error") {
  auto log = make_log();
  Events events;
  Member m(*log, "m", events, {"missing"});
  try {
    m.poll();
    FAIL("no error");
  } catch (const goka::Error& e) {
    CHECK(e.code() == Errc::not_found);
    CHECK(e.context().topic == std::optional<std::string>("missing"));
  }
}
