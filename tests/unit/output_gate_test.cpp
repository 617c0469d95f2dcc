// Unit tests of OutputGate: records of the open epoch pass through, later
// ones are held back in order until their epoch opens, and dropped ones get
// failed reports.

#include "core/output_gate.hpp"

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

using goka::core::OutputGate;
using Value = std::optional<std::string>;

namespace {

// Keeps the values produced, in order.
class Recorder final : public goka::core::Producer {
 public:
  void produce(const std::string&, int32_t, const Value&, const Value& value, const goka::Headers&,
               int64_t, void*) override {
    values.push_back(value.value_or(""));
  }
  bool flush(std::chrono::milliseconds) override { return true; }
  std::vector<std::string> values;
};

// Keeps the reports: the tag's number and whether it failed.
class Reports final : public goka::core::DeliveryHandler {
 public:
  void on_delivery(const goka::Delivery& delivery, void* tag) noexcept override {
    seen.emplace_back(*static_cast<int*>(tag), delivery.ok());
  }
  std::vector<std::pair<int, bool>> seen;
};

void produce(goka::core::Producer& lane, const std::string& value, int* tag = nullptr) {
  lane.produce("out", 0, Value("k"), Value(value), {}, 0, tag);
}

}  // namespace

TEST_CASE("output gate: the next epoch's records wait for it, in order", "[gate]") {
  Recorder producer;
  Reports reports;
  OutputGate gate(producer, reports);
  auto a = gate.lane(0);
  auto b = gate.lane(0);
  gate.open(0);
  produce(*a, "a1");
  a->set_epoch(1);  // a passed the cut, b not yet
  produce(*a, "a2");
  produce(*b, "b1");
  b->set_epoch(1);
  produce(*b, "b2");
  produce(*a, "a3");
  CHECK(producer.values == std::vector<std::string>{"a1", "b1"});
  CHECK(gate.held() == 3);
  gate.open(1);
  CHECK(producer.values == std::vector<std::string>{"a1", "b1", "a2", "b2", "a3"});
  CHECK(gate.held() == 0);
  produce(*b, "b3");  // open: straight through
  CHECK(producer.values.back() == "b3");
  CHECK(reports.seen.empty());
}

TEST_CASE("output gate: closed, nothing passes, and dropped records are reported failed", "[gate]") {
  Recorder producer;
  Reports reports;
  OutputGate gate(producer, reports);
  auto lane = gate.lane(3);
  gate.open(3);
  gate.close();
  int one = 1, two = 2;
  produce(*lane, "x", &one);
  produce(*lane, "y", &two);
  CHECK(producer.values.empty());
  gate.fail_held(goka::Error(goka::Errc::kafka, "transaction aborted"));
  CHECK(gate.held() == 0);
  CHECK(reports.seen == std::vector<std::pair<int, bool>>{{1, false}, {2, false}});
  gate.open(3);
  CHECK(producer.values.empty());  // nothing left to pass
}
