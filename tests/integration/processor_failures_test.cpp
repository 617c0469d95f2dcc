// A processor's own failures stop it cleanly, with an error naming the cause:
// a storage builder throwing something other than goka::Error, and a joined
// table whose view fails after recovery.

#include <catch2/catch.hpp>
#include <atomic>
#include <stdexcept>
#include <thread>

#include "click_count.hpp"
#include "cluster.hpp"
#include "tests/forwarding_storage.hpp"
#include "goka/emitter.hpp"
#include "goka/error.hpp"
#include "goka/graph.hpp"
#include "goka/processor.hpp"
#include "goka/storage.hpp"

namespace {

// A memory storage whose writes throw once armed.
class BreakableStorage final : public goka::test::ForwardingStorage {
 public:
  explicit BreakableStorage(const std::atomic<bool>& broken) : broken_(broken) {}
  void set(std::string_view key, std::string_view value) override {
    check();
    ForwardingStorage::set(key, value);
  }
  void erase(std::string_view key) override {
    check();
    ForwardingStorage::erase(key);
  }
  void set_offset(int64_t offset) override {
    check();
    ForwardingStorage::set_offset(offset);
  }
  void apply(const goka::WriteBatch& batch) override {
    check();
    ForwardingStorage::apply(batch);
  }

 private:
  void check() const {
    if (broken_) throw goka::Error(goka::Errc::runtime, "the join's disk is gone");
  }
  const std::atomic<bool>& broken_;
};

// Runs processor on a thread; returns run()'s exception (null when it
// returned) once it ended or 30 s passed (then it is stopped).
std::exception_ptr run_to_end(goka::Processor& processor, const std::function<void()>& meanwhile) {
  std::exception_ptr error;
  std::atomic<bool> ended{false};
  std::thread runner([&] {
    try {
      processor.run();
    } catch (...) {
      error = std::current_exception();
    }
    ended = true;
  });
  meanwhile();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!ended && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling a condition
  }
  processor.stop();
  runner.join();
  return error;
}

}  // namespace

TEST_CASE("processor: a storage builder throwing a std::exception stops run() with an Error") {
  goka::test::Cluster cluster;
  std::string group = goka::test::Cluster::unique("builder-throws");
  std::string clicks = cluster.topic("clicks", 2);
  if (cluster.embedded()) cluster.embedded_broker()->create_topic(group + "-table", 2);
  goka::ProcessorOptions options;
  options.client = cluster.options();
  options.storage = [](const std::string&, int32_t) -> std::unique_ptr<goka::Storage> {
    throw std::runtime_error("no space left on device");
  };
  auto processor = std::make_unique<goka::Processor>(goka::test::click_count(group, clicks), options);
  std::exception_ptr error = run_to_end(*processor, [] {});
  REQUIRE(error);
  try {
    std::rethrow_exception(error);
  } catch (const goka::Error& e) {
    CHECK(e.code() == goka::Errc::runtime);
    CHECK_THAT(e.what(), Catch::Contains("no space left on device"));
  } catch (const std::exception& e) {
    FAIL("run() threw something else than goka::Error: " << e.what());
  }
  processor.reset();  // the consumer was closed by run(): nothing revokes into a dead processor
}

TEST_CASE("processor: a joined table failing after recovery stops the processor") {
  goka::test::Cluster cluster;
  std::string group = goka::test::Cluster::unique("join-fails");
  std::string clicks = cluster.topic("clicks", 2);
  std::string users = cluster.topic("users-table", 2);
  if (cluster.embedded()) cluster.embedded_broker()->create_topic(group + "-table", 2);
  goka::GroupGraph graph(group, {goka::input(clicks,
                                             [](goka::Context& ctx, const std::optional<std::string>&) {
                                               ctx.set_value(ctx.join(ctx.topic()).value_or("-"));
                                             }),
                                 goka::join(users), goka::persist()});
  std::atomic<bool> broken{false};
  goka::ProcessorOptions options;
  options.client = cluster.options();
  options.storage = [&](const std::string& topic, int32_t) -> std::unique_ptr<goka::Storage> {
    if (topic == users) return std::make_unique<BreakableStorage>(broken);
    return goka::make_memory_storage();
  };
  goka::Processor processor(graph, options);
  std::exception_ptr error = run_to_end(processor, [&] {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!processor.recovered() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling a condition
    }
    REQUIRE(processor.recovered());
    broken = true;
    goka::Emitter emitter(users, cluster.options());
    emitter.emit_sync({"alice", "{}", {}, 0, -1});
  });
  REQUIRE(error);
  try {
    std::rethrow_exception(error);
  } catch (const goka::Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("the join's disk is gone"));
  }
}
