// Processors on a real Kafka-protocol broker: Goka's click count, exact
// counts, restarts without double counting, recovery from the table topic.

#include <catch2/catch.hpp>
#include <atomic>
#include <map>
#include <thread>

#include "click_count.hpp"
#include "cluster.hpp"
#include "goka/codec.hpp"
#include "goka/context.hpp"
#include "goka/emitter.hpp"
#include "goka/graph.hpp"
#include "goka/processor.hpp"
#include "goka/topic_reader.hpp"

namespace {

using goka::test::click_count;

void emit_clicks(goka::test::Cluster& cluster, const std::string& topic, int users, int each) {
  goka::Emitter emitter(topic, cluster.options());
  for (int i = 0; i < each; ++i) {
    for (int u = 0; u < users; ++u) emitter.emit("user-" + std::to_string(u), "{}");
  }
  REQUIRE(emitter.finish().failed == 0);
}

// Runs processor until cond holds (or 60 s), then stops it; rethrows run()'s
// error, or else what cond threw (a failed REQUIRE in it); returns whether
// cond held.
template <class Cond>
bool run_until(goka::Processor& processor, Cond cond) {
  std::atomic<bool> ended{false};
  std::exception_ptr error;  // written by the runner before ended
  std::thread runner([&] {
    try {
      processor.run();
    } catch (...) {
      error = std::current_exception();
    }
    ended = true;
  });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  bool held = false;
  std::exception_ptr cond_error;
  try {
    while (!(held = cond()) && std::chrono::steady_clock::now() < deadline && !ended) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a condition
    }
  } catch (...) {
    cond_error = std::current_exception();  // the runner is stopped and joined first
  }
  processor.stop();
  runner.join();
  if (error) std::rethrow_exception(error);
  if (cond_error) std::rethrow_exception(cond_error);
  return held;
}

// The latest value per key of a table topic.
std::map<std::string, std::string> table_of(goka::test::Cluster& cluster, const std::string& topic) {
  goka::TopicReader reader(topic, {}, cluster.options());
  std::vector<goka::Record> records;
  while (reader.poll(records, std::chrono::milliseconds(100))) {
  }
  std::map<std::string, std::string> out;
  for (auto& r : records) {
    if (r.value) out[*r.key] = *r.value;
    else out.erase(*r.key);
  }
  return out;
}

}  // namespace

TEST_CASE("processor: click count is exact, and a restart does not count twice") {
  goka::test::Cluster cluster;
  std::string group = goka::test::Cluster::unique("clicks-count");
  std::string clicks = cluster.topic("clicks", 4);
  if (cluster.embedded()) cluster.embedded_broker()->create_topic(group + "-table", 4);
  emit_clicks(cluster, clicks, 10, 5);

  goka::ProcessorOptions options;
  options.client = cluster.options();
  {
    goka::Processor processor(click_count(group, clicks), options);
    bool done = run_until(processor, [&] {
      if (!processor.recovered() || processor.get("user-9") != std::optional<std::string>("5")) {
        return false;
      }
      // Everything processed is committed and reported so.
      goka::ProcessorStats stats = processor.stats();
      int64_t processed = 0;
      for (const auto& p : stats.partitions) {
        // No lag before the partition's first fetch: not done yet.
        auto lag = p.lag.find(clicks);
        if (lag == p.lag.end() || lag->second != 0 || p.table_offset < 0) return false;
        if (p.table_offset + 1 != p.table_high_watermark) return false;  // all written back
        processed += p.processed;
      }
      return stats.partitions.size() == 4 && processed == 50;
    });
    CHECK(done);
  }
  auto table = table_of(cluster, group + "-table");
  REQUIRE(table.size() == 10);
  for (auto& [key, value] : table) CHECK(value == "5");  // Goka's int64 codec: decimal text

  // More clicks, a new instance with empty (in-memory) storage: it recovers
  // the table from the table topic and continues from the committed offsets.
  emit_clicks(cluster, clicks, 10, 2);
  {
    goka::Processor processor(click_count(group, clicks), options);
    CHECK(run_until(processor, [&] {
      for (int u = 0; u < 10; ++u) {
        if (processor.get("user-" + std::to_string(u)) != std::optional<std::string>("7")) return false;
      }
      return true;
    }));
  }
  table = table_of(cluster, group + "-table");
  for (auto& [key, value] : table) CHECK(value == "7");
}
