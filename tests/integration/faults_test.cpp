// Processors, views and emitters against a broker that fails on purpose (the
// embedded broker's fault control): a broker down for 5 s in the middle of a
// run, produce requests that fail, a slow broker. Each of these is skipped
// against a real cluster (GOKA_TEST_BROKERS), which cannot be made to fail.
// And on a real cluster only: group members that join and leave in the
// middle of a run (rebalances, commits while the group rebalances).
//
// GOKA_TEST_LOG=1 shows libgoka's and librdkafka's log lines on stderr;
// GOKA_TEST_LOG=cgrp,topic (librdkafka's debug contexts) adds its debug lines.

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "click_count.hpp"
#include "cluster.hpp"
#include "goka/codec.hpp"
#include "goka/context.hpp"
#include "goka/emitter.hpp"
#include "goka/error.hpp"
#include "goka/graph.hpp"
#include "goka/hasher.hpp"
#include "goka/processor.hpp"
#include "goka/topic_manager.hpp"
#include "goka/topic_reader.hpp"
#include "goka/view.hpp"

using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;
using Table = std::map<std::string, std::string>;

// Waits until pred holds or limit passes; polls, never sleeps as a means of
// synchronisation.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit = 30s) {
  auto deadline = Clock::now() + limit;
  while (!pred()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

// Connection errors are expected here: quiet unless GOKA_TEST_LOG is set.
goka::ClientOptions client(const goka::test::Cluster& cluster,
                           std::chrono::milliseconds timeout = 10s) {
  goka::ClientOptions o = cluster.options(timeout);
  const char* show = std::getenv("GOKA_TEST_LOG");
  if (show != nullptr && *show != '\0') {
    o.log_level = goka::LogLevel::debug;
    if (std::string(show) != "1") o.properties["debug"] = show;  // librdkafka's contexts
    o.log = [start = Clock::now()](goka::LogLevel, const std::string& line) {
      static std::mutex mutex;
      std::lock_guard lock(mutex);
      std::cerr << std::chrono::duration<double>(Clock::now() - start).count() << " " << line
                << "\n";
    };
  } else {
    o.log = [](goka::LogLevel, const std::string&) {};
  }
  return o;
}

using goka::test::click_count;

std::string user(int u) { return "user-" + std::to_string(u); }

// each clicks of every one of users users, queued on emitter.
void click(goka::Emitter& emitter, int users, int each) {
  for (int i = 0; i < each; ++i) {
    for (int u = 0; u < users; ++u) emitter.emit(user(u), "{}");
  }
}

// Runs processor.run() on a thread of its own.
class Running {
 public:
  explicit Running(goka::Processor& processor)
      : processor_(processor), thread_([this] {
          try {
            processor_.run();
          } catch (...) {
            std::lock_guard lock(mutex_);
            error_ = std::current_exception();
          }
          std::lock_guard lock(mutex_);
          ended_ = true;
        }) {}
  ~Running() { stop(); }
  Running(const Running&) = delete;
  Running& operator=(const Running&) = delete;

  // Whether run() returned or threw.
  bool ended() const {
    std::lock_guard lock(mutex_);
    return ended_;
  }
  // Stops the processor, waits for run() and returns what it threw, if any.
  std::exception_ptr stop() {
    processor_.stop();
    if (thread_.joinable()) thread_.join();
    std::lock_guard lock(mutex_);
    return error_;
  }
  // What run() threw as text, "" when it did not (yet).
  std::string error_text() const {
    std::lock_guard lock(mutex_);
    if (!error_) return "";
    try {
      std::rethrow_exception(error_);
    } catch (const std::exception& e) {
      return e.what();
    } catch (...) {
      return "unknown exception";
    }
  }

 private:
  goka::Processor& processor_;
  mutable std::mutex mutex_;
  bool ended_ = false;
  std::exception_ptr error_;
  std::thread thread_;  // last: starts once the members above exist
};

// The counts of the processor's table, for messages.
std::string counts_of(const goka::Processor& processor, int users) {
  std::string out;
  for (int u = 0; u < users; ++u) out += processor.get(user(u)).value_or("-") + " ";
  return out;
}

// Whether every one of users users has count clicks in processor's table.
bool counted(const goka::Processor& processor, int users, int count) {
  for (int u = 0; u < users; ++u) {
    if (processor.get(user(u)) != std::optional<std::string>(std::to_string(count))) return false;
  }
  return true;
}

// The latest value per key of a topic.
Table table_of(const goka::test::Cluster& cluster, const std::string& topic) {
  goka::TopicReader reader(topic, {}, client(cluster));
  std::vector<goka::Record> records;
  while (reader.poll(records, 100ms)) {
  }
  Table out;
  for (auto& r : records) {
    if (r.value) {
      out[*r.key] = *r.value;
    } else {
      out.erase(*r.key);
    }
  }
  return out;
}

// Every user of users with value count.
Table counts(int users, int count) {
  Table out;
  for (int u = 0; u < users; ++u) out[user(u)] = std::to_string(count);
  return out;
}

// Whether group committed every partition of topic up to its high watermark.
// What topic holds: records per key, and how many values were logged more
// than once (each click's value is unique).
struct Logged {
  Table counts;
  int64_t records = 0;
  int64_t repeated = 0;
};
Logged logged(const goka::test::Cluster& cluster, const std::string& topic) {
  goka::TopicReader reader(topic, {}, client(cluster));
  std::vector<goka::Record> records;
  while (reader.poll(records, 100ms)) {
  }
  Logged out;
  std::map<std::string, int64_t> per_key;
  std::set<std::string> values;
  for (const auto& r : records) {
    ++per_key[r.key.value_or("")];
    ++out.records;
    if (!values.insert(r.value.value_or("")).second) ++out.repeated;
  }
  for (const auto& [key, n] : per_key) out.counts[key] = std::to_string(n);
  return out;
}

bool committed_all(const goka::test::Cluster& cluster, const std::string& group,
                   const std::string& topic) {
  goka::TopicManager topics(client(cluster));
  std::vector<int64_t> committed = topics.committed(group, topic);
  for (int32_t p = 0; p < static_cast<int32_t>(committed.size()); ++p) {
    if (committed[static_cast<size_t>(p)] != topics.watermarks(topic, p).high) return false;
  }
  return true;
}

Table contents(const goka::View& view) {
  Table out;
  for (auto it = view.iterator(); it->next();)
    out[std::string(it->key())] = std::string(it->value());
  return out;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Emits a click every interval on a thread of its own, round robin over
// users users, until stop(): the nth click (from 0) is user(n % users) with
// value n.
class Clicker {
 public:
  Clicker(const goka::test::Cluster& cluster, const std::string& topic, int users,
          std::chrono::milliseconds interval)
      // Patient: what is emitted while the broker is away waits for it.
      : emitter_(topic, client(cluster, 60s)), users_(users), thread_([this, interval] {
          for (int i = 0; !stopping_; ++i) {
            emitter_.emit(user(i % users_), std::to_string(i));
            emitted_ = i + 1;
            std::this_thread::sleep_for(interval);  // a rate, not synchronisation
          }
        }) {}
  ~Clicker() { stop(); }

  int64_t emitted() const { return emitted_; }
  // Stops emitting and waits for every delivery; returns the summary.
  goka::EmitSummary stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
    return emitter_.finish();
  }
  // The count of clicks per user (after stop()).
  Table counts() const {
    Table out;
    for (int u = 0; u < users_; ++u) {
      int64_t n = emitted_ / users_ + (u < emitted_ % users_ ? 1 : 0);
      if (n > 0) out[user(u)] = std::to_string(n);
    }
    return out;
  }
  // The latest value per user: the table topic's state (after stop()).
  Table latest() const {
    Table out;
    for (int64_t n = std::max<int64_t>(0, emitted_ - users_); n < emitted_; ++n) {
      out[user(static_cast<int>(n % users_))] = std::to_string(n);
    }
    return out;
  }

 private:
  goka::Emitter emitter_;
  const int users_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> emitted_{0};
  std::thread thread_;  // last: starts once the members above exist
};

// The sum of the counts in processor's table.
int64_t total(const goka::Processor& processor, int users) {
  int64_t n = 0;
  for (int u = 0; u < users; ++u) {
    if (auto v = processor.get(user(u))) n += std::stoll(*v);
  }
  return n;
}

}  // namespace

TEST_CASE("faults: a processor survives its broker being down for 5 s", "[faults]") {
  goka::test::Cluster cluster;
  cluster.require_embedded("takes broker 1 down");
  const int users = 20;
  std::string group = goka::test::Cluster::unique("outage-count");
  std::string clicks = cluster.topic("outage-clicks", 4);
  cluster.embedded_broker()->create_topic(group + "-table", 4);

  goka::ProcessorOptions options;
  options.client = client(cluster);
  goka::Processor processor(click_count(group, clicks), options);
  Running running(processor);
  // Clicks flow before, during and after the outage: about 200 a second.
  Clicker clicker(cluster, clicks, users, 5ms);

  // Before: the processor is counting, with outputs and commits in flight.
  REQUIRE(eventually([&] { return total(processor, users) >= 200 || running.ended(); }, 30s));
  REQUIRE_FALSE(running.ended());

  cluster.embedded_broker()->set_broker_down(1, true);
  int64_t counted_before = total(processor, users);
  int64_t emitted_before = clicker.emitted();
  auto down_until = Clock::now() + 5s;
  while (Clock::now() < down_until) {
    REQUIRE_FALSE(running.ended());  // the processor neither stops nor fails
    std::this_thread::sleep_for(100ms);
  }
  REQUIRE_FALSE(running.ended());
  CHECK(clicker.emitted() > emitted_before + 500);  // emitting went on (into the queue)
  cluster.embedded_broker()->set_broker_down(1, false);
  auto back = Clock::now();

  // After: processing resumes, past what was emitted during the outage.
  int64_t emitted_during = clicker.emitted();
  bool resumed = eventually(
      [&] { return total(processor, users) >= emitted_during + 200 || running.ended(); }, 30s);
  double resumed_after = std::chrono::duration<double>(Clock::now() - back).count();
  INFO("run() threw: " << running.error_text());
  INFO("counted " << counted_before << " before, " << total(processor, users) << " now, "
                  << resumed_after << " s after the broker came back");
  REQUIRE(resumed);
  REQUIRE_FALSE(running.ended());
  CHECK(resumed_after < 5.0);  // about 1 s: reconnecting does not back off for long

  // Every click emitted is counted exactly once, and committed.
  goka::EmitSummary emitted = clicker.stop();
  REQUIRE(emitted.failed == 0);
  REQUIRE(emitted.acknowledged == clicker.emitted());
  // The processor counts what the log holds. The embedded broker may log a
  // click twice when a produce request it appended is retried after the
  // outage (its idempotence is not Kafka's): that is the emitter's side.
  Logged log = logged(cluster, clicks);
  REQUIRE(log.records >= clicker.emitted());
  if (log.repeated > 0) {
    WARN("the embedded broker logged " << log.repeated << " clicks twice during the outage");
  }
  REQUIRE(log.records == clicker.emitted() + log.repeated);
  Table expected = log.counts;
  bool exact = eventually(
      [&] {
        for (const auto& [key, n] : expected) {
          if (processor.get(key) != std::optional<std::string>(n)) return false;
        }
        return true;
      },
      30s);
  INFO("counts: " << counts_of(processor, users));
  CHECK(exact);
  CHECK(eventually([&] { return committed_all(cluster, group, clicks); }, 30s));

  std::exception_ptr error = running.stop();
  INFO("run() threw: " << running.error_text());
  CHECK_FALSE(error);
  CHECK(table_of(cluster, group + "-table") == expected);
  CHECK(committed_all(cluster, group, clicks));
}

TEST_CASE("faults: a following view survives its broker being down for 5 s", "[faults]") {
  goka::test::Cluster cluster;
  cluster.require_embedded("takes broker 1 down");
  const int users = 30;
  std::string topic = cluster.topic("outage-view", 4);
  {
    goka::Emitter history(topic, client(cluster));
    for (int u = 0; u < users; ++u) history.emit(user(u), "\"old\"");
    REQUIRE(history.finish().acknowledged == users);
  }

  // Every change the view reports: per partition, offsets must follow one
  // another, each once.
  std::mutex mutex;
  std::map<int32_t, int64_t> first_offset, last_offset;
  std::vector<std::string> gaps;
  std::atomic<int64_t> changes{0};
  goka::ViewOptions options;
  options.client = client(cluster);
  options.on_change = [&](const goka::Record& r) {
    std::lock_guard lock(mutex);
    first_offset.try_emplace(r.partition, r.offset);
    auto [it, first] = last_offset.try_emplace(r.partition, r.offset);
    if (!first) {
      if (r.offset != it->second + 1) {
        gaps.push_back(std::to_string(r.partition) + ": " + std::to_string(it->second) + " -> " +
                       std::to_string(r.offset));
      }
      it->second = r.offset;
    }
    ++changes;
  };
  goka::View view(topic, options);
  view.start();
  REQUIRE(view.wait_recovered(30s));
  REQUIRE(view.get(user(0)) == "\"old\"");

  // Records flow before, during and after the outage.
  Clicker clicker(cluster, topic, users, 5ms);
  REQUIRE(eventually([&] { return changes >= 200; }, 30s));

  cluster.embedded_broker()->set_broker_down(1, true);
  int64_t emitted_before = clicker.emitted();
  auto down_until = Clock::now() + 5s;
  while (Clock::now() < down_until) {
    // The view neither stops nor fails, and still answers from its copy.
    REQUIRE_FALSE(view.error());
    REQUIRE(view.state() == goka::TableState::running);
    REQUIRE(view.has(user(0)));
    std::this_thread::sleep_for(100ms);
  }
  CHECK(clicker.emitted() > emitted_before + 500);  // emitting went on (into the queue)
  cluster.embedded_broker()->set_broker_down(1, false);
  auto back = Clock::now();

  // After: the view resumes, past what was emitted during the outage.
  int64_t emitted_during = clicker.emitted();
  bool resumed = eventually([&] { return changes >= emitted_during + 200 || view.error(); }, 30s);
  double resumed_after = std::chrono::duration<double>(Clock::now() - back).count();
  INFO("view error: " << (view.error() ? view.error()->what() : "none"));
  INFO(changes << " changes, " << resumed_after << " s after the broker came back");
  REQUIRE(resumed);
  REQUIRE_FALSE(view.error());
  CHECK(resumed_after < 5.0);

  // Every record emitted is applied exactly once, in order.
  goka::EmitSummary emitted = clicker.stop();
  REQUIRE(emitted.failed == 0);
  REQUIRE(emitted.acknowledged == clicker.emitted());
  Table expected = clicker.latest();
  CHECK(
      eventually([&] { return contents(view) == expected && changes == clicker.emitted(); }, 30s));
  CHECK(changes == clicker.emitted());
  {
    std::lock_guard lock(mutex);
    // The first change of each partition follows the history recovered.
    std::map<int32_t, int64_t> recovered;
    for (int u = 0; u < users; ++u) ++recovered[goka::partition_for(user(u), 4)];
    CHECK(first_offset == recovered);
    INFO("offsets skipped or repeated: " << gaps.size()
                                         << (gaps.empty() ? "" : ", first " + gaps[0]));
    CHECK(gaps.empty());
  }
  CHECK(view.state() == goka::TableState::running);
  view.stop();
  CHECK_NOTHROW(view.wait());
}

TEST_CASE("faults: a failing produce stops a processor without committing past it", "[faults]") {
  goka::test::Cluster cluster;
  cluster.require_embedded("makes produce requests fail");
  const int users = 5;
  std::string group = goka::test::Cluster::unique("failing-count");
  std::string table = group + "-table";
  std::string clicks = cluster.topic("failing-clicks", 2);
  cluster.embedded_broker()->create_topic(table, 2);
  goka::ProcessorOptions options;
  options.client = client(cluster);
  // The embedded broker lets a group's next member in only session.timeout.ms
  // - 1 s after the last one left; this test starts three in a row.
  options.client.properties["session.timeout.ms"] = "6000";
  auto emit_clicks = [&](int each) {
    goka::Emitter emitter(clicks, client(cluster));
    click(emitter, users, each);
    REQUIRE(emitter.finish().acknowledged == users * each);
  };

  // A first instance counts 10 clicks each, all committed.
  emit_clicks(10);
  {
    goka::Processor processor(click_count(group, clicks), options);
    Running running(processor);
    REQUIRE(eventually([&] { return counted(processor, users, 10) || running.ended(); }, 30s));
    REQUIRE(eventually([&] { return committed_all(cluster, group, clicks); }, 30s));
    CHECK_FALSE(running.stop());
  }
  goka::TopicManager topics(client(cluster));
  std::vector<int64_t> first_run = topics.committed(group, clicks);
  REQUIRE(first_run.size() == 2);

  // 10 more each; then every Produce request (API key 0) fails with
  // INVALID_RECORD (87), which is not retried: the group table cannot be
  // written.
  emit_clicks(10);
  cluster.embedded_broker()->fail_requests(0, 100000, 87);
  {
    goka::Processor processor(click_count(group, clicks), options);
    Running running(processor);
    REQUIRE(eventually([&] { return running.ended(); }, 30s));
    std::exception_ptr thrown = running.stop();
    REQUIRE(thrown);
    try {
      std::rethrow_exception(thrown);
    } catch (const goka::Error& e) {
      INFO(e.what());
      // Names the input message whose table write failed, and the write.
      CHECK(e.code() == goka::Errc::kafka);
      CHECK(e.context().topic == clicks);
      REQUIRE(e.context().partition);
      REQUIRE(e.context().offset);
      int32_t p = *e.context().partition;
      REQUIRE((p == 0 || p == 1));
      // The first message after the first run's, or a later one.
      CHECK(*e.context().offset >= first_run[static_cast<size_t>(p)]);
      std::string what = e.what();
      CHECK(what.find(table) != std::string::npos);
      CHECK(what.find("Broker failed to validate record") != std::string::npos);  // 87
    } catch (...) {
      FAIL("run() threw something else than a goka::Error");
    }
  }
  // Nothing committed past the first run: no message of the second batch had
  // its table write acknowledged.
  CHECK(topics.committed(group, clicks) == first_run);
  CHECK(table_of(cluster, table) == counts(users, 10));

  // The broker heals (count 0 clears what is pending): a new instance
  // recovers 10 each and counts the second batch exactly once.
  cluster.embedded_broker()->fail_requests(0, 0, 0);
  {
    goka::Processor processor(click_count(group, clicks), options);
    Running running(processor);
    bool done = eventually([&] { return counted(processor, users, 20) || running.ended(); }, 30s);
    INFO("run() threw: " << running.error_text() << "; counts: " << counts_of(processor, users));
    REQUIRE(done);
    CHECK(eventually([&] { return committed_all(cluster, group, clicks); }, 30s));
    CHECK_FALSE(running.stop());
  }
  CHECK(table_of(cluster, table) == counts(users, 20));
}

TEST_CASE("faults: a slow broker with 250 ms round trips delays but loses nothing", "[faults]") {
  goka::test::Cluster cluster;
  cluster.require_embedded("slows broker 1 down");
  auto started = Clock::now();
  const int users = 20;
  std::string group = goka::test::Cluster::unique("slow-count");
  std::string table = group + "-table";
  std::string clicks = cluster.topic("slow-clicks", 4);
  cluster.embedded_broker()->create_topic(table, 4);
  cluster.embedded_broker()->set_round_trip_time(1, 250);

  // An emitter delivers everything.
  auto emit_clicks = [&](int each) {
    goka::Emitter emitter(clicks, client(cluster));
    click(emitter, users, each);
    goka::EmitSummary summary = emitter.finish();
    CHECK(summary.failed == 0);
    REQUIRE(summary.acknowledged == users * each);
  };
  emit_clicks(5);

  // A processor counts, and a view follows its table, both through the slow
  // broker.
  goka::ProcessorOptions options;
  options.client = client(cluster);
  goka::Processor processor(click_count(group, clicks), options);
  Running running(processor);
  goka::ViewOptions view_options;
  view_options.client = client(cluster);
  goka::View view(table, view_options);
  view.start();
  REQUIRE(view.wait_recovered(30s));

  REQUIRE(eventually([&] { return counted(processor, users, 5) || running.ended(); }, 30s));
  emit_clicks(5);  // while it runs
  bool done = eventually([&] { return counted(processor, users, 10) || running.ended(); }, 30s);
  INFO("run() threw: " << running.error_text() << "; counts: " << counts_of(processor, users));
  REQUIRE(done);
  REQUIRE_FALSE(running.ended());
  CHECK(eventually([&] { return committed_all(cluster, group, clicks); }, 30s));
  CHECK(eventually([&] { return contents(view) == counts(users, 10); }, 30s));
  CHECK_FALSE(view.error());

  CHECK_FALSE(running.stop());
  view.stop();
  CHECK_NOTHROW(view.wait());
  CHECK(table_of(cluster, table) == counts(users, 10));
  // Slower, not stuck: bounded well below the client timeouts piling up.
  CHECK(seconds_since(started) < 40.0);
}

namespace {

// Processed messages of the partitions processor owns now.
int64_t processed(const goka::Processor& processor) {
  int64_t n = 0;
  for (const auto& p : processor.stats().partitions) n += p.processed;
  return n;
}

}  // namespace

TEST_CASE("faults: members joining and leaving mid-run count every click once", "[faults]") {
  goka::test::Cluster cluster;
  // There a partition's owner cannot commit during the rebalance, so its next
  // owner processes those messages again (at least once, not exactly once).
  cluster.require_real("the embedded broker refuses commits while a group rebalances");
  const int users = 20;
  std::string group = goka::test::Cluster::unique("rebalance-count");
  std::string clicks = cluster.topic("rebalance-clicks", 4);
  if (cluster.embedded()) cluster.embedded_broker()->create_topic(group + "-table", 4);
  goka::ProcessorOptions options;
  options.client = client(cluster);
  Clicker clicker(cluster, clicks, users, 2ms);

  goka::Processor first(click_count(group, clicks), options);
  Running running_first(first);
  REQUIRE(eventually([&] { return total(first, users) >= 200 || running_first.ended(); }, 60s));
  REQUIRE(running_first.error_text().empty());

  // A second member joins while clicks keep coming: the first hands over
  // partitions, committing what it processed of them during the rebalance.
  goka::Processor second(click_count(group, clicks), options);
  Running running_second(second);
  bool split = eventually(
      [&] {
        return (processed(second) > 0 && !first.stats().partitions.empty()) ||
               running_first.ended() || running_second.ended();
      },
      60s);
  REQUIRE(running_first.error_text().empty());
  REQUIRE(running_second.error_text().empty());
  CHECK(split);
  CHECK(first.stats().partitions.size() + second.stats().partitions.size() == 4);
  CHECK(first.stats().commit_errors == 0);

  // The first leaves: the second takes over its partitions and goes on.
  REQUIRE_FALSE(running_first.stop());
  bool took_over = eventually(
      [&] { return second.stats().partitions.size() == 4 || running_second.ended(); }, 60s);
  CHECK(took_over);
  int64_t before = processed(second);
  CHECK(eventually([&] { return processed(second) > before + 100 || running_second.ended(); }, 60s));
  goka::EmitSummary sent = clicker.stop();
  REQUIRE(sent.failed == 0);

  // Every click counted once: in the second's table, in the table topic, and
  // committed up to the end.
  Table expected = clicker.counts();
  bool exact = eventually(
      [&] {
        for (const auto& [key, count] : expected) {
          if (second.get(key) != std::optional<std::string>(count)) return false;
        }
        return true;
      },
      60s);
  std::string want;
  for (const auto& [key, count] : expected) want += count + " ";
  INFO("counts " << counts_of(second, users) << "expected " << want);
  CHECK(exact);
  CHECK(eventually([&] { return committed_all(cluster, group, clicks); }, 30s));
  CHECK(second.stats().commit_errors == 0);
  CHECK(running_second.error_text().empty());
  CHECK_FALSE(running_second.stop());
  CHECK(table_of(cluster, group + "-table") == expected);
}
