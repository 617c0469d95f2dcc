// Unit tests of PartitionProcessor with acknowledgements under the test's
// control: storage writes at once, commits after acks, the table offset
// advancing monotonically, failed produces, config checks, draining.

#include "core/partition_processor.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "goka/context.hpp"
#include "goka/error.hpp"
#include "goka/graph.hpp"
#include "goka/hasher.hpp"
#include "goka/storage.hpp"
#include "tester/memory_log.hpp"

using namespace std::chrono_literals;
using goka::Context;
using goka::Delivery;
using goka::Errc;
using goka::Error;
using goka::GroupGraph;
using goka::Record;
using goka::core::PartitionProcessor;
using goka::core::PartitionProcessorConfig;
using Value = std::optional<std::string>;
using Offsets = std::map<std::string, int64_t>;

namespace {

// Keeps what is produced; the test acknowledges it, in any order.
class FakeProducer final : public goka::core::Producer {
 public:
  struct Produced {
    std::string topic;
    int32_t partition;
    Value key;
    Value value;
    void* tag;
  };

  void produce(const std::string& topic, int32_t partition, const Value& key, const Value& value,
               const goka::Headers&, int64_t, void* tag) override {
    if (refuse) throw Error(Errc::kafka, "queue full");
    produced.push_back({topic, partition, key, value, tag});
  }
  bool flush(std::chrono::milliseconds) override { return true; }

  // Acknowledges produced[i] at offset.
  void ack(std::size_t i, int64_t offset) {
    const Produced& p = produced.at(i);
    PartitionProcessor::deliver(Delivery{p.topic, p.partition, offset, std::nullopt}, p.tag);
  }
  void fail(std::size_t i) {
    const Produced& p = produced.at(i);
    PartitionProcessor::deliver(
        Delivery{p.topic, p.partition, -1, Error(Errc::kafka, "broker said no")}, p.tag);
  }

  std::vector<Produced> produced;
  bool refuse = false;
};

Record record(const std::string& topic, int64_t offset, const std::string& key, Value value,
              int32_t partition = 2) {
  Record r;
  r.topic = topic;
  r.partition = partition;
  r.offset = offset;
  r.key = key;
  r.value = std::move(value);
  return r;
}

// A group "g" of partition 2 whose callback stores the message and emits it.
struct Fixture {
  Fixture() {
    graph.validate();
    config.graph = &graph;
    config.partition = 2;
    config.table = storage.get();
    config.producer = &producer;
    config.partition_count = [](const std::string&) { return 4; };
  }

  GroupGraph graph{"g",
                   {goka::input("in",
                                [this](Context& ctx, const Value& msg) {
                                  ctx.set_value(*msg);
                                  ctx.emit("out", ctx.key(), msg);
                                  if (defer) completions.push_back(ctx.defer_commit());
                                }),
                    goka::persist(), goka::output("out")}};
  std::unique_ptr<goka::Storage> storage = goka::make_memory_storage();
  FakeProducer producer;
  PartitionProcessorConfig config;
  bool defer = false;
  std::vector<goka::CommitCompletion> completions;
};

}  // namespace

TEST_CASE("partition processor: storage at once, commit after the acks", "[processor]") {
  Fixture f;
  PartitionProcessor pp(f.config);
  pp.process(record("in", 7, "k", "v1"));
  CHECK(f.storage->get("k") == Value("v1"));  // before any ack
  REQUIRE(f.producer.produced.size() == 2);
  CHECK(f.producer.produced[0].topic == "g-table");
  CHECK(f.producer.produced[0].partition == 2);
  CHECK(f.producer.produced[1].topic == "out");
  CHECK(f.producer.produced[1].partition == goka::partition_for("k", 4));
  CHECK(pp.deliveries() == 2);
  CHECK(pp.in_flight() == 1);
  CHECK(pp.committable().empty());
  CHECK_FALSE(pp.drain(1ms));

  f.producer.ack(0, 40);
  CHECK(f.storage->get_offset() == std::optional<int64_t>(40));
  CHECK(pp.committable().empty());  // the emit is not acknowledged yet
  f.producer.ack(1, 0);
  CHECK(pp.committable() == Offsets{{"in", 8}});
  CHECK(pp.drain(0ms));
}

TEST_CASE("partition processor: the table offset only moves forward", "[processor]") {
  Fixture f;
  f.storage->set_offset(5);  // recovered up to 5
  PartitionProcessor pp(f.config);
  pp.process(record("in", 0, "a", "1"));
  pp.process(record("in", 1, "b", "2"));
  // Table records 6 and 7, acknowledged out of order.
  f.producer.ack(2, 7);
  CHECK(f.storage->get_offset() == std::optional<int64_t>(7));
  f.producer.ack(0, 6);
  CHECK(f.storage->get_offset() == std::optional<int64_t>(7));
  CHECK(pp.committable().empty());
  f.producer.ack(1, 0);
  CHECK(pp.committable() == Offsets{{"in", 1}});
  f.producer.ack(3, 1);
  CHECK(pp.committable() == Offsets{{"in", 2}});
}

TEST_CASE("partition processor: a failed produce stops it", "[processor]") {
  Fixture f;
  PartitionProcessor pp(f.config);
  pp.process(record("in", 10, "a", "1"));
  pp.process(record("in", 11, "b", "2"));
  f.producer.fail(3);  // the emit of offset 11
  REQUIRE(pp.error());
  Error e = *pp.error();
  CHECK(e.code() == Errc::kafka);
  CHECK(e.context().topic == Value("in"));
  CHECK(e.context().partition == std::optional<int32_t>(2));
  CHECK(e.context().offset == std::optional<int64_t>(11));
  CHECK(std::string(e.what()).find("producing to out failed: broker said no") != std::string::npos);
  CHECK_THROWS_AS(pp.process(record("in", 12, "c", "3")), Error);
  CHECK(f.producer.produced.size() == 4);  // nothing more produced
  f.producer.ack(0, 0);
  f.producer.ack(1, 0);
  f.producer.ack(2, 1);
  CHECK(pp.committable() == Offsets{{"in", 11}});  // offset 10 only
  CHECK(pp.drain(0ms));
}

TEST_CASE("partition processor: a produce that throws fails the message", "[processor]") {
  Fixture f;
  PartitionProcessor pp(f.config);
  f.producer.refuse = true;
  try {
    pp.process(record("in", 3, "a", "1"));
    FAIL("process() did not throw");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::kafka);
    CHECK(e.context().offset == std::optional<int64_t>(3));
    CHECK(std::string(e.what()).find("queue full") != std::string::npos);
  }
  CHECK(pp.deliveries() == 0);
  CHECK(pp.drain(0ms));
}

TEST_CASE("partition processor: drain waits for deferred completions", "[processor]") {
  Fixture f;
  f.defer = true;
  PartitionProcessor pp(f.config);
  pp.process(record("in", 0, "a", "1"));
  f.producer.ack(0, 0);
  f.producer.ack(1, 0);
  CHECK(pp.committable().empty());
  REQUIRE(f.completions.size() == 1);
  std::thread worker([done = f.completions[0]] {
    std::this_thread::sleep_for(10ms);
    done(std::nullopt);
  });
  CHECK(pp.drain(10s));
  worker.join();
  CHECK(pp.committable() == Offsets{{"in", 1}});
}

TEST_CASE("partition processor: misuse is refused without failing it", "[processor]") {
  Fixture f;
  PartitionProcessor pp(f.config);
  auto code_of = [&](const Record& r) {
    try {
      pp.process(r);
    } catch (const Error& e) {
      return e.code();
    }
    return Errc::runtime;
  };
  CHECK(code_of(record("in", 0, "a", "1", 3)) == Errc::usage);    // another partition
  CHECK(code_of(record("other", 0, "a", "1")) == Errc::usage);    // not consumed
  CHECK(code_of(record("g-table", 0, "a", "1")) == Errc::usage);  // not consumed either
  pp.process(record("in", 5, "a", "1"));
  CHECK(code_of(record("in", 5, "a", "1")) == Errc::usage);  // offsets must increase
  CHECK_FALSE(pp.error());
  f.producer.ack(0, 0);
  f.producer.ack(1, 0);
}

TEST_CASE("partition processor: the config must give what the graph needs", "[processor]") {
  Fixture f;
  auto refused = [](const PartitionProcessorConfig& config) {
    try {
      PartitionProcessor pp(config);
    } catch (const Error& e) {
      return e.code() == Errc::usage;
    }
    return false;
  };
  PartitionProcessorConfig c = f.config;
  c.table = nullptr;
  CHECK(refused(c));
  c = f.config;
  c.producer = nullptr;
  CHECK(refused(c));
  c = f.config;
  c.partition_count = {};
  CHECK(refused(c));

  GroupGraph tables(
      "t", {goka::input("in", [](Context&, const Value&) {}), goka::join("j"), goka::lookup("l")});
  c = f.config;
  c.graph = &tables;
  c.table = nullptr;  // no persist edge: no table storage
  CHECK(refused(c));  // no join storage
  auto join_storage = goka::make_memory_storage();
  c.joins["j"] = join_storage.get();
  CHECK(refused(c));  // no lookup function
  c.lookup = [](const std::string&, std::string_view) { return Value(); };
  CHECK_FALSE(refused(c));
  c.table = f.storage.get();  // a table storage without a persist edge
  CHECK(refused(c));
}

TEST_CASE("partition processor: on the in-memory log with queued delivery", "[processor]") {
  goka::tester::MemoryLogOptions options;
  options.delivery = goka::tester::DeliveryMode::queued;
  goka::tester::MemoryLog log(options);
  log.create_topic("in", 1);
  log.create_topic("g-table", 1);
  log.create_topic("g-loop", 1);
  struct Forward final : goka::core::DeliveryHandler {
    void on_delivery(const Delivery& d, void* tag) noexcept override {
      PartitionProcessor::deliver(d, tag);
    }
  } forward;
  auto producer = log.producer(forward);
  auto storage = goka::make_memory_storage();
  GroupGraph graph("g", {goka::input("in",
                                     [](Context& ctx, const Value& msg) {
                                       ctx.set_value(*msg);
                                       ctx.loopback(ctx.key(), msg);
                                     }),
                         goka::loop([](Context&, const Value&) {}), goka::persist()});
  graph.validate();
  PartitionProcessorConfig config;
  config.graph = &graph;
  config.partition = 0;
  config.table = storage.get();
  config.producer = producer.get();
  config.partition_count = [&](const std::string& topic) { return *log.partitions(topic); };
  PartitionProcessor pp(config);

  pp.process(record("in", 0, "k", "v", 0));
  CHECK(log.pending() == 2);
  CHECK(pp.committable().empty());
  CHECK(log.deliver() == 2);
  CHECK(pp.committable() == Offsets{{"in", 1}});
  CHECK(storage->get_offset() == std::optional<int64_t>(0));
  CHECK(log.records("g-loop", 0).size() == 1);

  pp.process(record("in", 1, "k", "w", 0));
  log.set_down(true);
  producer->flush(0ms);  // delivers nothing while down
  CHECK_FALSE(pp.error());
  producer.reset();  // destroying the producer fails what it still holds
  REQUIRE(pp.error());
  CHECK(pp.error()->code() == Errc::timeout);
  CHECK(pp.error()->context().offset == std::optional<int64_t>(1));
  CHECK(pp.committable() == Offsets{{"in", 1}});
  CHECK(pp.drain(0ms));
}
