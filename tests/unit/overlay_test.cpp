// The overlay of a partition processor (PartitionProcessorConfig::
// batch_writes), which exactly-once processing builds on: callbacks read
// their own writes, the storage sees nothing before flush() (the commit),
// then every write with the table offset at once; a processor dropped
// without flush() (an abort) leaves the storage as it was.

#include <catch2/catch.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/partition_processor.hpp"
#include "goka/context.hpp"
#include "goka/graph.hpp"
#include "goka/storage.hpp"

using goka::core::PartitionProcessor;
using Value = std::optional<std::string>;

namespace {

// Keeps every record produced; the test acknowledges them.
class AckLater final : public goka::core::Producer {
 public:
  struct Out {
    std::string topic;
    int32_t partition;
    Value value;
    void* tag;
  };
  void produce(const std::string& topic, int32_t partition, const Value&, const Value& value,
               const goka::Headers&, int64_t, void* tag) override {
    out.push_back({topic, partition, value, tag});
  }
  bool flush(std::chrono::milliseconds) override { return true; }
  // Acknowledges every record not acknowledged yet, the table's at
  // consecutive offsets from next_table_offset.
  void ack_all() {
    for (; acked < out.size(); ++acked) {
      const Out& o = out[acked];
      int64_t offset = o.topic == "g-table" ? next_table_offset++ : 0;
      PartitionProcessor::deliver(goka::Delivery{o.topic, o.partition, offset, std::nullopt},
                                  o.tag);
    }
  }
  std::vector<Out> out;
  std::size_t acked = 0;
  int64_t next_table_offset = 0;
};

goka::Record message(int64_t offset, const std::string& key, Value value) {
  goka::Record r;
  r.topic = "in";
  r.partition = 0;
  r.offset = offset;
  r.key = key;
  r.value = std::move(value);
  return r;
}

// Group "g": "+" counts the key up (reading its own table value), "-"
// deletes it.
struct Counting {
  Counting() {
    graph.validate();
    storage->set("k", "1");
    storage->set_offset(5);
    producer.next_table_offset = 6;
  }
  std::unique_ptr<PartitionProcessor> processor() {
    goka::core::PartitionProcessorConfig config;
    config.graph = &graph;
    config.partition = 0;
    config.table = storage.get();
    config.producer = &producer;
    config.batch_writes = true;
    return std::make_unique<PartitionProcessor>(std::move(config));
  }
  goka::GroupGraph graph{"g",
                         {goka::input("in",
                                      [](goka::Context& ctx, const Value& msg) {
                                        if (msg == Value("-")) {
                                          ctx.delete_value();
                                          return;
                                        }
                                        int n = std::stoi(ctx.value().value_or("0"));
                                        ctx.set_value(std::to_string(n + 1));
                                      }),
                          goka::persist()}};
  std::unique_ptr<goka::Storage> storage = goka::make_memory_storage();
  AckLater producer;
};

}  // namespace

TEST_CASE("overlay: reads see their writes, the storage only the flush", "[overlay]") {
  Counting c;
  auto pp = c.processor();
  pp->process(message(0, "k", "+"));
  pp->process(message(1, "k", "+"));
  pp->process(message(2, "k", "+"));
  REQUIRE(c.producer.out.size() == 3);
  CHECK(c.producer.out[2].value == Value("4"));  // 1 + 3: each read the one before
  CHECK(c.storage->get("k") == Value("1"));
  c.producer.ack_all();
  CHECK(c.storage->get_offset() == std::optional<int64_t>(5));  // acknowledged, not flushed
  CHECK(pp->table_offset() == 8);
  pp->flush();
  CHECK(c.storage->get("k") == Value("4"));
  CHECK(c.storage->get_offset() == std::optional<int64_t>(8));
}

TEST_CASE("overlay: a delete hides the value until the flush removes it", "[overlay]") {
  Counting c;
  auto pp = c.processor();
  pp->process(message(0, "k", "-"));
  pp->process(message(1, "k", "+"));  // reads nothing: deleted
  CHECK(c.producer.out.back().value == Value("1"));
  pp->process(message(2, "k", "-"));
  c.producer.ack_all();
  CHECK(c.storage->has("k"));
  pp->flush();
  CHECK_FALSE(c.storage->has("k"));
  CHECK(c.storage->get_offset() == std::optional<int64_t>(8));
}

TEST_CASE("overlay: dropped without a flush (an abort), the storage is unchanged", "[overlay]") {
  Counting c;
  {
    auto aborted = c.processor();
    aborted->process(message(0, "k", "+"));
    aborted->process(message(1, "k", "+"));
    c.producer.ack_all();  // the aborted transaction's records: acknowledged, never visible
  }
  CHECK(c.storage->get("k") == Value("1"));
  CHECK(c.storage->get_offset() == std::optional<int64_t>(5));
  // Rewound: a fresh processor processes the same messages again, from the
  // committed state.
  auto again = c.processor();
  CHECK(again->table_offset() == 5);
  again->process(message(0, "k", "+"));
  again->process(message(1, "k", "+"));
  CHECK(c.producer.out.back().value == Value("3"));
  c.producer.ack_all();
  again->flush();
  CHECK(c.storage->get("k") == Value("3"));
  CHECK(c.storage->get_offset() == std::optional<int64_t>(9));  // after the aborted 6 and 7
}

TEST_CASE("overlay: sealed at a cut, only the sealed writes reach the storage", "[overlay]") {
  Counting c;
  auto pp = c.processor();
  pp->process(message(0, "k", "+"));  // 2
  pp->process(message(1, "j", "+"));  // j = 1
  uint64_t cut = pp->mark();
  pp->seal_overlay();
  // The next transaction's messages read the sealed writes.
  pp->process(message(2, "k", "+"));  // 3
  pp->process(message(3, "j", "-"));
  REQUIRE(c.producer.out.size() == 4);
  CHECK(c.producer.out[2].value == Value("3"));
  CHECK_FALSE(pp->wait_through(cut, std::chrono::milliseconds(0)));
  // Only the sealed transaction's records are acknowledged (the next one's
  // are held back until it begins).
  PartitionProcessor::deliver(goka::Delivery{"g-table", 0, 6, std::nullopt}, c.producer.out[0].tag);
  PartitionProcessor::deliver(goka::Delivery{"g-table", 0, 7, std::nullopt}, c.producer.out[1].tag);
  CHECK(pp->wait_through(cut, std::chrono::milliseconds(0)));
  CHECK(pp->committable() == std::map<std::string, int64_t>{{"in", 2}});
  int64_t committed = pp->table_offset();  // before the next one's records go
  CHECK(committed == 7);
  PartitionProcessor::deliver(goka::Delivery{"g-table", 0, 8, std::nullopt}, c.producer.out[2].tag);
  PartitionProcessor::deliver(goka::Delivery{"g-table", 0, 9, std::nullopt}, c.producer.out[3].tag);
  pp->apply_sealed(committed);
  CHECK(c.storage->get("k") == Value("2"));
  CHECK(c.storage->get("j") == Value("1"));
  CHECK(c.storage->get_offset() == std::optional<int64_t>(7));
  // The next transaction's writes are still seen, not stored.
  pp->process(message(4, "k", "+"));
  CHECK(c.producer.out.back().value == Value("4"));
  pp->process(message(5, "j", "+"));
  CHECK(c.producer.out.back().value == Value("1"));  // j deleted in the overlay
  CHECK(c.storage->get("j") == Value("1"));
}

TEST_CASE("overlay: sealing again before the apply merges, newer writes win", "[overlay]") {
  Counting c;
  auto pp = c.processor();
  pp->process(message(0, "k", "+"));  // 2
  pp->seal_overlay();
  pp->process(message(1, "k", "+"));  // 3
  pp->process(message(2, "j", "+"));  // 1
  pp->seal_overlay();
  c.producer.ack_all();
  pp->apply_sealed(pp->table_offset());
  CHECK(c.storage->get("k") == Value("3"));
  CHECK(c.storage->get("j") == Value("1"));
  CHECK(c.storage->get_offset() == std::optional<int64_t>(8));
}
