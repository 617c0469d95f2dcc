// Unit tests of GroupGraph: edges, accessors and every validate() rule.

#include "goka/graph.hpp"

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "goka/context.hpp"
#include "goka/error.hpp"

using goka::Edge;
using goka::Errc;
using goka::GroupGraph;

namespace {

void noop(goka::Context&, const std::optional<std::string>&) {}

// validate() throws Errc::config whose text contains every one of parts.
void require_invalid(const GroupGraph& graph, const std::vector<std::string>& parts) {
  try {
    graph.validate();
    FAIL("validate() accepted an invalid graph");
  } catch (const goka::Error& e) {
    CHECK(e.code() == Errc::config);
    for (const std::string& part : parts) {
      INFO("error: " << e.what());
      CHECK(std::string(e.what()).find(part) != std::string::npos);
    }
  }
}

}  // namespace

TEST_CASE("graph: a valid graph and its accessors", "[graph]") {
  GroupGraph graph("clicks",
                   {goka::input("user-clicks", noop), goka::inputs({"a", "b"}, noop),
                    goka::join("users-table"), goka::lookup("devices-table"), goka::loop(noop),
                    goka::output("out"), goka::output("out"), goka::persist()});
  REQUIRE_NOTHROW(graph.validate());
  CHECK(graph.group() == "clicks");
  CHECK(graph.input_topics() == std::vector<std::string>{"user-clicks", "a", "b"});
  CHECK(graph.inputs().size() == 3);
  CHECK(graph.joins() == std::vector<std::string>{"users-table"});
  CHECK(graph.lookups() == std::vector<std::string>{"devices-table"});
  CHECK(graph.outputs() == std::vector<std::string>{"out"});
  CHECK(graph.table_topic() == std::optional<std::string>("clicks-table"));
  CHECK(graph.loop_topic() == std::optional<std::string>("clicks-loop"));
  CHECK(graph.loop() != nullptr);
  CHECK(graph.callback("a") != nullptr);
  CHECK(graph.callback("clicks-loop") == graph.loop());
  CHECK(graph.callback("users-table") == nullptr);
  CHECK(graph.callback("out") == nullptr);
  CHECK(graph.copartitioned_topics() == std::vector<std::string>{"user-clicks", "a", "b",
                                                                 "clicks-loop", "users-table",
                                                                 "clicks-table"});
  CHECK(graph.nil_handling() == goka::NilHandling::ignore);
}

TEST_CASE("graph: without persist and loop there is no table or loop topic", "[graph]") {
  GroupGraph graph("stateless");
  graph.add(goka::input("in", noop)).add(goka::output("out"));
  REQUIRE_NOTHROW(graph.validate());
  CHECK_FALSE(graph.table_topic());
  CHECK_FALSE(graph.loop_topic());
  CHECK(graph.loop() == nullptr);
  CHECK(graph.table_topic_name() == "stateless-table");
  CHECK(graph.copartitioned_topics() == std::vector<std::string>{"in"});
}

TEST_CASE("graph: suffixes are options of the graph", "[graph]") {
  goka::GraphOptions options;
  options.table_suffix = "-state";
  options.loop_suffix = "-again";
  GroupGraph graph("g", {goka::input("in", noop), goka::loop(noop), goka::persist()}, options);
  REQUIRE_NOTHROW(graph.validate());
  CHECK(graph.table_topic() == std::optional<std::string>("g-state"));
  CHECK(graph.loop_topic() == std::optional<std::string>("g-again"));
  // Another graph keeps the defaults: nothing global changed.
  GroupGraph other("g", {goka::input("in", noop), goka::persist()});
  CHECK(other.table_topic() == std::optional<std::string>("g-table"));
  // "g-table" is an ordinary topic for the first graph.
  graph.add(goka::join("g-table"));
  CHECK_NOTHROW(graph.validate());
}

TEST_CASE("graph: validate rejects an empty group name and bad suffixes", "[graph]") {
  require_invalid(GroupGraph("", {goka::input("in", noop)}), {"group name is empty"});
  goka::GraphOptions empty_table;
  empty_table.table_suffix = "";
  require_invalid(GroupGraph("g", {goka::input("in", noop)}, empty_table),
                  {"table suffix is empty"});
  goka::GraphOptions empty_loop;
  empty_loop.loop_suffix = "";
  require_invalid(GroupGraph("g", {goka::input("in", noop)}, empty_loop), {"loop suffix is empty"});
  goka::GraphOptions same;
  same.loop_suffix = "-table";
  require_invalid(GroupGraph("g", {goka::input("in", noop)}, same), {"suffixes"});
}

TEST_CASE("graph: validate requires at least one input", "[graph]") {
  require_invalid(GroupGraph("g"), {"no input edge", "group=g"});
  require_invalid(GroupGraph("g", {goka::persist(), goka::loop(noop), goka::join("t")}),
                  {"no input edge"});
  require_invalid(GroupGraph("g", {goka::inputs({}, noop)}), {"input edge without topics"});
}

TEST_CASE("graph: validate requires callbacks and topic names", "[graph]") {
  require_invalid(GroupGraph("g", {goka::input("in", {})}),
                  {"input edge has no callback", "topic=in"});
  require_invalid(GroupGraph("g", {goka::input("in", noop), goka::loop({})}),
                  {"loop edge has no callback", "topic=g-loop"});
  require_invalid(GroupGraph("g", {goka::input("", noop)}), {"empty topic name in the input edge"});
  require_invalid(GroupGraph("g", {goka::input("in", noop), goka::output("")}),
                  {"empty topic name in the output edge"});
  require_invalid(GroupGraph("g", {goka::input("in", noop), goka::join("")}),
                  {"empty topic name in the join edge"});
  Edge two_topics = goka::lookup("a");
  two_topics.topics.push_back("b");
  require_invalid(GroupGraph("g", {goka::input("in", noop), two_topics}),
                  {"lookup edge names exactly one topic"});
  Edge named_persist = goka::persist();
  named_persist.topics.push_back("x");
  require_invalid(GroupGraph("g", {goka::input("in", noop), named_persist}),
                  {"persist edge names no topic"});
}

TEST_CASE("graph: validate allows at most one loop and one table", "[graph]") {
  require_invalid(GroupGraph("g", {goka::input("in", noop), goka::loop(noop), goka::loop(noop)}),
                  {"more than one loop edge", "topic=g-loop"});
  require_invalid(GroupGraph("g", {goka::input("in", noop), goka::persist(), goka::persist()}),
                  {"more than one persist edge", "topic=g-table"});
}

TEST_CASE("graph: the table and loop topics appear in no other edge", "[graph]") {
  for (const Edge& edge : {goka::input("g-table", noop), goka::join("g-table"),
                           goka::lookup("g-table"), goka::output("g-table")}) {
    INFO(goka::to_string(edge.type));
    require_invalid(GroupGraph("g", {goka::input("in", noop), goka::persist(), edge}),
                    {"group table 'g-table'", goka::to_string(edge.type), "topic=g-table"});
    // Also without a persist edge: the name is the group's.
    require_invalid(GroupGraph("g", {goka::input("in", noop), edge}), {"g-table"});
  }
  for (const Edge& edge : {goka::input("g-loop", noop), goka::join("g-loop"),
                           goka::lookup("g-loop"), goka::output("g-loop")}) {
    INFO(goka::to_string(edge.type));
    require_invalid(GroupGraph("g", {goka::input("in", noop), goka::loop(noop), edge}),
                    {"loop topic 'g-loop'", goka::to_string(edge.type), "topic=g-loop"});
  }
}

TEST_CASE("graph: no topic is consumed twice", "[graph]") {
  require_invalid(GroupGraph("g", {goka::input("a", noop), goka::input("a", noop)}),
                  {"'a' is consumed twice", "input", "topic=a"});
  require_invalid(GroupGraph("g", {goka::inputs({"a", "b", "a"}, noop)}),
                  {"'a' is consumed twice"});
  require_invalid(GroupGraph("g", {goka::input("a", noop), goka::join("a")}),
                  {"'a' is consumed twice", "as input and as join"});
  require_invalid(GroupGraph("g", {goka::input("in", noop), goka::join("t"), goka::lookup("t")}),
                  {"'t' is consumed twice", "as join and as lookup"});
  require_invalid(GroupGraph("g", {goka::input("in", noop), goka::lookup("t"), goka::lookup("t")}),
                  {"'t' is consumed twice"});
  require_invalid(GroupGraph("g", {goka::input("in", noop), goka::join("t"), goka::join("t")}),
                  {"'t' is consumed twice"});
  // Outputs are not consumed: one may repeat, or also be an input.
  CHECK_NOTHROW(
      GroupGraph("g", {goka::input("a", noop), goka::output("a"), goka::output("a")}).validate());
}
