// Unit tests of the Tester, and through it of the processor core
// (PartitionProcessor, CommitTracker): every Context operation, nil handling,
// failures, and Goka's example scenarios (click count, join, lookup,
// loopback, emits) as Tester tests.

#include "goka/tester.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "goka/codec.hpp"
#include "goka/context.hpp"
#include "goka/error.hpp"
#include "goka/graph.hpp"
#include "goka/hasher.hpp"

using goka::Context;
using goka::Errc;
using goka::GroupGraph;
using goka::Tester;
using Value = std::optional<std::string>;
using Offsets = std::map<std::string, int64_t>;

namespace {

// The goka::Error f throws; fails the test when it throws none.
template <class F>
goka::Error error_of(F&& f) {
  try {
    f();
  } catch (const goka::Error& e) {
    return e;
  }
  FAIL("no goka::Error was thrown");
  throw std::logic_error("unreachable");
}

// The error names the message: topic, partition and offset.
void require_names(const goka::Error& e, const std::string& topic, int32_t partition,
                   int64_t offset) {
  INFO(e.what());
  CHECK(e.context().topic == std::optional<std::string>(topic));
  CHECK(e.context().partition == std::optional<int32_t>(partition));
  CHECK(e.context().offset == std::optional<int64_t>(offset));
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

void noop(Context&, const Value&) {}

}  // namespace

// ---- Context operations --------------------------------------------------------

TEST_CASE("tester: the context describes the message", "[tester]") {
  std::vector<std::string> seen;
  GroupGraph graph("g", {goka::input("in", [&](Context& ctx, const Value& msg) {
                     seen.push_back(ctx.topic());
                     seen.push_back(ctx.key());
                     seen.push_back(std::to_string(ctx.partition()));
                     seen.push_back(std::to_string(ctx.offset()));
                     seen.push_back(std::to_string(ctx.timestamp()));
                     seen.push_back(ctx.group());
                     seen.push_back(msg.value_or("<null>"));
                     for (const auto& [name, value] : ctx.headers()) {
                       seen.push_back(name + "=" + value);
                     }
                   })});
  Tester tester(graph);
  tester.consume("in", "alice", "hello", {{"trace", "t1"}, {"trace", "t2"}}, 1234);
  CHECK(seen == std::vector<std::string>{"in", "alice", "0", "0", "1234", "g", "hello", "trace=t1",
                                         "trace=t2"});
  seen.clear();
  tester.consume("in", "bob", "again");
  REQUIRE(seen.size() == 7);
  CHECK(seen[3] == "1");  // the next offset
  CHECK(seen[4] != "0");  // timestamp 0 means now
}

TEST_CASE("tester: value, set_value and delete_value with read-your-writes", "[tester]") {
  std::vector<Value> reads;
  GroupGraph graph("g", {goka::input("in",
                                     [&](Context& ctx, const Value& msg) {
                                       reads.push_back(ctx.value());
                                       if (*msg == "delete") {
                                         ctx.delete_value();
                                       } else {
                                         ctx.set_value(*msg);
                                       }
                                       reads.push_back(ctx.value());  // its own write
                                     }),
                         goka::persist()});
  Tester tester(graph);
  goka::MessageTracker table = tester.tracker("g-table");
  tester.consume("in", "k", "one");
  tester.consume("in", "k", "two");
  CHECK(tester.table_value("g", "k") == Value("two"));
  CHECK(tester.table_value("g-table", "k") == Value("two"));  // group or topic name
  tester.consume("in", "k", "delete");
  tester.consume("in", "k", "delete");  // deleting nothing still writes a tombstone
  CHECK(tester.table_value("g", "k") == std::nullopt);
  CHECK(reads == std::vector<Value>{std::nullopt, "one", "one", "two", "two", std::nullopt,
                                    std::nullopt, std::nullopt});
  // Every change went to the table topic, in order; deletes as tombstones.
  CHECK(table.count() == 4);
  std::vector<Value> logged;
  while (auto m = table.next()) {
    CHECK(m->key == "k");
    CHECK(m->headers.empty());  // Goka writes no headers of its own
    logged.push_back(m->value);
  }
  CHECK(logged == std::vector<Value>{"one", "two", std::nullopt, std::nullopt});
  CHECK(table.empty());
}

TEST_CASE("tester: the table and its topic are partitioned by key", "[tester]") {
  goka::TesterOptions options;
  options.partitions = 4;
  GroupGraph graph("g", {goka::input("in",
                                     [](Context& ctx, const Value& msg) {
                                       CHECK(ctx.partition() == goka::partition_for(ctx.key(), 4));
                                       ctx.set_value(*msg);
                                     }),
                         goka::persist()});
  Tester tester(graph, options);
  goka::MessageTracker table = tester.tracker("g-table");
  std::vector<std::string> keys{"alice", "bob", "carol", "dave", "eve", "frank"};
  for (const std::string& key : keys) tester.consume("in", key, "v-" + key);
  for (const std::string& key : keys) {
    CHECK(tester.table_value("g", key) == Value("v-" + key));
    auto m = table.next();
    REQUIRE(m);
    CHECK(m->key == key);
    CHECK(m->partition == goka::partition_for(key, 4));
  }
  CHECK(tester.table_keys("g") ==
        std::vector<std::string>{"alice", "bob", "carol", "dave", "eve", "frank"});
}

TEST_CASE("tester: emit produces to a declared output, partitioned by key", "[tester]") {
  goka::TesterOptions options;
  options.partitions = 3;
  GroupGraph graph(
      "g", {goka::input("in",
                        [](Context& ctx, const Value& msg) {
                          ctx.emit("out", ctx.key() + "-copy", msg, {{"source", ctx.topic()}});
                          ctx.emit("out", "null", std::nullopt);
                        }),
            goka::output("out")});
  Tester tester(graph, options);
  goka::MessageTracker out = tester.tracker("out");
  tester.consume("in", "a", "1");
  tester.consume("in", "b", "2");
  REQUIRE(out.count() == 4);
  auto first = out.next();
  CHECK(first->key == "a-copy");
  CHECK(first->value == Value("1"));
  CHECK(first->partition == goka::partition_for("a-copy", 3));
  CHECK(first->headers == goka::Headers{{"source", "in"}});
  auto second = out.next();
  CHECK(second->key == "null");
  CHECK(second->value == std::nullopt);
  CHECK(out.count() == 2);
  out.clear();
  CHECK(out.empty());
  CHECK_FALSE(out.next());
  CHECK(tester.tracker("out").empty());  // a new tracker starts at the end
}

TEST_CASE("tester: join reads the co-partitioned table, lookup any key", "[tester]") {
  goka::TesterOptions options;
  options.partitions = 4;
  std::vector<Value> joined;
  std::vector<Value> looked_up;
  GroupGraph graph("g", {goka::input("in",
                                     [&](Context& ctx, const Value& msg) {
                                       joined.push_back(ctx.join("users-table"));
                                       looked_up.push_back(ctx.lookup("devices-table", *msg));
                                     }),
                         goka::join("users-table"), goka::lookup("devices-table")});
  Tester tester(graph, options);
  tester.set_table_value("users-table", "alice", "Alice A.");
  tester.set_table_value("devices-table", "phone-1", "android");
  tester.set_table_value("devices-table", "phone-2", "ios");
  tester.consume("in", "alice", "phone-2");
  tester.consume("in", "bob", "phone-1");
  tester.consume("in", "bob", "phone-9");
  CHECK(joined == std::vector<Value>{"Alice A.", std::nullopt, std::nullopt});
  CHECK(looked_up == std::vector<Value>{"ios", "android", std::nullopt});
  tester.set_table_value("users-table", "alice", std::nullopt);
  CHECK(tester.table_value("users-table", "alice") == std::nullopt);
  CHECK(tester.table_keys("devices-table") == std::vector<std::string>{"phone-1", "phone-2"});
}

TEST_CASE("tester: loopback goes to the loop topic, partitioned by key", "[tester]") {
  goka::TesterOptions options;
  options.partitions = 4;
  std::vector<std::string> looped;
  GroupGraph graph(
      "g",
      {goka::input("in", [](Context& ctx, const Value& msg) { ctx.loopback(*msg, ctx.key()); }),
       goka::loop([&](Context& ctx, const Value& msg) {
         CHECK(ctx.topic() == "g-loop");
         CHECK(ctx.partition() == goka::partition_for(ctx.key(), 4));
         looped.push_back(ctx.key() + "<-" + *msg);
       })});
  Tester tester(graph, options);
  goka::MessageTracker loop = tester.tracker("g-loop");
  tester.consume("in", "alice", "bob");
  tester.consume("in", "carol", "dave");
  CHECK(looped == std::vector<std::string>{"bob<-alice", "dave<-carol"});
  CHECK(loop.count() == 2);
}

TEST_CASE("tester: typed helpers apply codecs", "[tester]") {
  GroupGraph graph(
      "g",
      {goka::input("in",
                   [](Context& ctx, const Value& msg) {
                     int64_t n = *Context::decode_optional<goka::Int64Codec>(msg);
                     int64_t sum = ctx.value_as<goka::Int64Codec>().value_or(0);
                     ctx.set_value_as<goka::Int64Codec>(sum + n);
                     ctx.emit_as<goka::JsonCodec>("out", ctx.key(), "{ \"n\" : 1 }");
                     ctx.loopback_as<goka::Int64Codec>(ctx.key(), sum + n);
                   }),
       goka::loop([](Context& ctx, const Value& msg) {
         CHECK(ctx.value_as<goka::Int64Codec>() == Context::decode_optional<goka::Int64Codec>(msg));
       }),
       goka::persist(), goka::output("out")});
  Tester tester(graph);
  goka::MessageTracker out = tester.tracker("out");
  tester.consume("in", "k", "40");
  tester.consume("in", "k", "2");
  CHECK(tester.table_value("g", "k") == Value("42"));
  CHECK(out.next()->value == Value("{\"n\":1}"));
}

// ---- nil handling -------------------------------------------------------------

TEST_CASE("tester: nil handling", "[tester]") {
  std::vector<Value> messages;
  auto record = [&](Context& ctx, const Value& msg) {
    messages.push_back(msg);
    ctx.set_value("seen");
  };

  SECTION("ignore (the default): the callback is not called, the offset still counts") {
    Tester tester(GroupGraph("g", {goka::input("in", record), goka::persist()}));
    tester.consume("in", "k", std::nullopt);
    CHECK(messages.empty());
    CHECK(tester.table_value("g", "k") == std::nullopt);
    CHECK(tester.committable("g") == Offsets{{"in", 1}});
    tester.consume("in", "k", "x");
    CHECK(messages == std::vector<Value>{"x"});
  }

  SECTION("process: the callback gets a null value") {
    goka::GraphOptions options;
    options.nil_handling = goka::NilHandling::process;
    Tester tester(GroupGraph("g", {goka::input("in", record), goka::persist()}, options));
    tester.consume("in", "k", std::nullopt);
    CHECK(messages == std::vector<Value>{std::nullopt});
    CHECK(tester.table_value("g", "k") == Value("seen"));
  }

  SECTION("decode: the callback gets empty bytes, which its codec must decode") {
    goka::GraphOptions options;
    options.nil_handling = goka::NilHandling::decode;
    Tester tester(GroupGraph("g", {goka::input("in", record), goka::persist()}, options));
    tester.consume("in", "k", std::nullopt);
    CHECK(messages == std::vector<Value>{""});
    CHECK(goka::StringCodec().decode(*messages[0]).empty());

    Tester strict(GroupGraph("h",
                             {goka::input("in",
                                          [](Context&, const Value& msg) {
                                            Context::decode_optional<goka::Int64Codec>(msg);
                                          })},
                             options));
    goka::Error e = error_of([&] { strict.consume("in", "k", std::nullopt); });
    CHECK(e.code() == Errc::decode);
    require_names(e, "in", 0, 0);
  }
}

// ---- failures -----------------------------------------------------------------

TEST_CASE("tester: fail() stops processing with the message's coordinates", "[tester]") {
  goka::TesterOptions options;
  options.partitions = 2;
  int after_fail = 0;
  GroupGraph graph("g", {goka::input("in",
                                     [&](Context& ctx, const Value& msg) {
                                       ctx.set_value(*msg);
                                       if (*msg == "bad") ctx.fail("refusing " + ctx.key());
                                       ++after_fail;
                                     }),
                         goka::persist()});
  Tester tester(graph, options);
  tester.consume("in", "k", "good");
  goka::Error e = error_of([&] { tester.consume("in", "k", "bad"); });
  CHECK(e.code() == Errc::runtime);
  CHECK(e.message() == "refusing k");
  require_names(e, "in", goka::partition_for("k", 2), 1);
  CHECK(after_fail == 1);
  // The failed message is not committable; the one before is.
  // (The tester then replaced the processor; it keeps working.)
  tester.consume("in", "k", "good again");
  CHECK(tester.table_value("g", "k") == Value("good again"));
}

TEST_CASE("tester: fail() counts even when the callback catches it", "[tester]") {
  GroupGraph graph("g", {goka::input("in", [](Context& ctx, const Value&) {
                     try {
                       ctx.fail("stop");
                     } catch (...) {
                     }
                   })});
  Tester tester(graph);
  goka::Error e = error_of([&] { tester.consume("in", "k", "v"); });
  CHECK(e.message() == "stop");
  require_names(e, "in", 0, 0);
}

TEST_CASE("tester: an emit to an undeclared topic fails the message", "[tester]") {
  bool caught = false;
  GroupGraph graph("g", {goka::input("in",
                                     [&](Context& ctx, const Value&) {
                                       try {
                                         ctx.emit("elsewhere", "k", "v");
                                       } catch (const goka::Error&) {
                                         caught = true;  // swallowing it does not help
                                       }
                                     }),
                         goka::output("out")});
  Tester tester(graph);
  goka::Error e = error_of([&] { tester.consume("in", "k", "v"); });
  CHECK(caught);
  CHECK(e.code() == Errc::usage);
  CHECK(contains(e.what(), "'elsewhere'"));
  require_names(e, "in", 0, 0);
}

TEST_CASE("tester: undeclared tables and edges fail the message", "[tester]") {
  std::function<void(Context&)> action;
  GroupGraph graph("g", {goka::input("in", [&](Context& ctx, const Value&) { action(ctx); })});
  Tester tester(graph);
  auto check = [&](std::function<void(Context&)> a, const std::string& part) {
    action = std::move(a);
    goka::Error e = error_of([&] { tester.consume("in", "k", "v"); });
    INFO(e.what());
    CHECK(e.code() == Errc::usage);
    CHECK(contains(e.what(), part));
    CHECK(e.context().topic == std::optional<std::string>("in"));
  };
  check([](Context& ctx) { ctx.value(); }, "no persist edge");
  check([](Context& ctx) { ctx.set_value("x"); }, "no persist edge");
  check([](Context& ctx) { ctx.delete_value(); }, "no persist edge");
  check([](Context& ctx) { ctx.join("users-table"); }, "'users-table'");
  check([](Context& ctx) { ctx.lookup("users-table", "k"); }, "'users-table'");
  check([](Context& ctx) { ctx.loopback("k", "v"); }, "no loop edge");
}

TEST_CASE("tester: a callback that throws stops processing", "[tester]") {
  GroupGraph graph("g", {goka::input("in", [](Context&, const Value& msg) {
                     if (*msg == "boom") throw std::runtime_error("kaboom");
                     if (*msg == "int") throw 42;
                   })});
  Tester tester(graph);
  tester.consume("in", "k", "fine");
  goka::Error e = error_of([&] { tester.consume("in", "k", "boom"); });
  CHECK(e.code() == Errc::runtime);
  CHECK(contains(e.what(), "kaboom"));
  require_names(e, "in", 0, 1);
  goka::Error unknown = error_of([&] { tester.consume("in", "k", "int"); });
  CHECK(contains(unknown.what(), "unknown exception"));
  require_names(unknown, "in", 0, 2);
}

TEST_CASE("tester: an int64 decode error names the message", "[tester]") {
  GroupGraph graph("g", {goka::input("in",
                                     [](Context& ctx, const Value& msg) {
                                       int64_t n = goka::Int64Codec().decode(*msg);
                                       ctx.set_value_as<goka::Int64Codec>(n);
                                     }),
                         goka::persist()});
  Tester tester(graph);
  tester.consume("in", "k", "7");
  goka::Error e = error_of([&] { tester.consume("in", "k", "seven"); });
  CHECK(e.code() == Errc::decode);
  CHECK(contains(e.what(), "int64 codec"));
  CHECK(contains(e.what(), "seven"));
  require_names(e, "in", 0, 1);
  CHECK(tester.table_value("g", "k") == Value("7"));

  // A stored value that does not decode fails the same way.
  tester.set_table_value("g", "k", "not a number");
  GroupGraph reader(
      "r", {goka::input("in2", [](Context& ctx,
                                  const Value&) { ctx.join_as<goka::Int64Codec>("g-table"); }),
            goka::join("g-table")});
  tester.add(reader);
  goka::Error join_error = error_of([&] { tester.consume("in2", "k", "x"); });
  CHECK(join_error.code() == Errc::decode);
  require_names(join_error, "in2", 0, 0);
}

// ---- commits and deferred completions ------------------------------------------

TEST_CASE("tester: offsets become committable once outputs are acknowledged", "[tester]") {
  std::vector<goka::CommitCompletion> deferred;
  GroupGraph graph("g", {goka::input("in",
                                     [&](Context& ctx, const Value& msg) {
                                       ctx.set_value(*msg);
                                       if (*msg == "defer") deferred.push_back(ctx.defer_commit());
                                     }),
                         goka::persist()});
  Tester tester(graph);
  tester.consume("in", "k", "a");
  CHECK(tester.committable("g") == Offsets{{"in", 1}});
  tester.consume("in", "k", "defer");
  tester.consume("in", "k", "b");
  CHECK(tester.committable("g") == Offsets{{"in", 1}});  // offset 1 waits, and so does 2
  REQUIRE(deferred.size() == 1);
  deferred[0](std::nullopt);
  CHECK(tester.committable("g") == Offsets{{"in", 3}});

  tester.consume("in", "k", "defer");
  deferred[1](goka::Error(Errc::runtime, "the mail server refused"));
  goka::Error e = error_of([&] { tester.consume("in", "k", "c"); });
  CHECK(contains(e.what(), "deferred commit failed: the mail server refused"));
  require_names(e, "in", 0, 3);
  CHECK_THROWS_AS(tester.committable("nope"), goka::Error);
  CHECK_THROWS_AS(tester.committable("g", 1), goka::Error);
}

// ---- the Tester itself -----------------------------------------------------------

TEST_CASE("tester: usage errors", "[tester]") {
  Tester tester;
  CHECK(error_of([&] { tester.add(GroupGraph("g")); }).code() == Errc::config);
  tester.add(GroupGraph("g", {goka::input("in", noop), goka::persist()}));
  CHECK(error_of([&] { tester.add(GroupGraph("g", {goka::input("x", noop)})); }).code() ==
        Errc::usage);
  CHECK(error_of([&] { tester.consume("unknown", "k", "v"); }).code() == Errc::usage);
  CHECK(error_of([&] { (void)tester.table_value("nope", "k"); }).code() == Errc::not_found);
  CHECK(tester.table_value("g", "k") == std::nullopt);
  goka::TesterOptions bad;
  bad.partitions = 0;
  CHECK_THROWS_AS(Tester(bad), goka::Error);
}

TEST_CASE("tester: an endless loop is stopped", "[tester]") {
  goka::TesterOptions options;
  options.max_messages = 50;
  GroupGraph graph(
      "g", {goka::input("in", [](Context& ctx, const Value&) { ctx.loopback(ctx.key(), "again"); }),
            goka::loop([](Context& ctx, const Value&) { ctx.loopback(ctx.key(), "again"); })});
  Tester tester(graph, options);
  goka::Error e = error_of([&] { tester.consume("in", "k", "go"); });
  CHECK(e.code() == Errc::runtime);
  CHECK(contains(e.what(), "more than 50 messages"));
}

TEST_CASE("tester: a group consumes what another group emits", "[tester]") {
  Tester tester;
  tester.add(GroupGraph("upper", {goka::input("words",
                                              [](Context& ctx, const Value& msg) {
                                                std::string up = *msg;
                                                for (char& c : up)
                                                  c = static_cast<char>(std::toupper(c));
                                                ctx.emit("shouts", ctx.key(), up);
                                              }),
                                  goka::output("shouts")}));
  tester.add(GroupGraph(
      "last", {goka::input("shouts", [](Context& ctx, const Value& msg) { ctx.set_value(*msg); }),
               goka::persist()}));
  tester.consume("words", "w", "hey");
  CHECK(tester.table_value("last", "w") == Value("HEY"));
}

// ---- Goka's examples -------------------------------------------------------------

// examples/2-clicks: count the clicks of every user; int64 decimal text.
TEST_CASE("tester: example click count", "[tester][example]") {
  auto count = [](Context& ctx, const Value&) {
    int64_t clicks = ctx.value_as<goka::Int64Codec>().value_or(0);
    ctx.set_value_as<goka::Int64Codec>(clicks + 1);
  };
  goka::TesterOptions options;
  options.partitions = 10;
  Tester tester(GroupGraph("mini-group", {goka::input("mini-input", count), goka::persist()}),
                options);
  for (int i = 0; i < 3; ++i) tester.consume("mini-input", "user-1", "click");
  tester.consume("mini-input", "user-2", "click");
  CHECK(tester.table_value("mini-group", "user-1") == Value("3"));
  CHECK(tester.table_value("mini-group", "user-2") == Value("1"));
  CHECK(goka::Int64Codec().decode(*tester.table_value("mini-group-table", "user-1")) == 3);
  CHECK(tester.table_keys("mini-group") == std::vector<std::string>{"user-1", "user-2"});
}

// A user-click stream joined with a users table: clicks are counted per
// user and emitted per country of the user (from the joined table).
TEST_CASE("tester: example join of clicks with users", "[tester][example]") {
  auto process = [](Context& ctx, const Value&) {
    Value country = ctx.join("users-table");
    if (!country) {
      ctx.emit("unknown-users", ctx.key(), ctx.key());
      return;
    }
    ctx.set_value_as<goka::Int64Codec>(ctx.value_as<goka::Int64Codec>().value_or(0) + 1);
    ctx.emit("clicks-by-country", *country, ctx.key());
  };
  goka::TesterOptions options;
  options.partitions = 4;
  Tester tester(
      GroupGraph("user-clicks",
                 {goka::input("clicks", process), goka::join("users-table"), goka::persist(),
                  goka::output("clicks-by-country"), goka::output("unknown-users")}),
      options);
  tester.set_table_value("users-table", "alice", "DE");
  tester.set_table_value("users-table", "bob", "BR");
  goka::MessageTracker by_country = tester.tracker("clicks-by-country");
  goka::MessageTracker unknown = tester.tracker("unknown-users");
  tester.consume("clicks", "alice", "c");
  tester.consume("clicks", "bob", "c");
  tester.consume("clicks", "mallory", "c");
  tester.consume("clicks", "alice", "c");
  CHECK(tester.table_value("user-clicks", "alice") == Value("2"));
  CHECK(tester.table_value("user-clicks", "mallory") == std::nullopt);
  std::vector<std::string> emitted;
  while (auto m = by_country.next()) emitted.push_back(m->key + ":" + *m->value);
  CHECK(emitted == std::vector<std::string>{"DE:alice", "BR:bob", "DE:alice"});
  REQUIRE(unknown.count() == 1);
  CHECK(unknown.next()->key == "mallory");
}

// A lookup in the table of a group that is not co-partitioned with the input:
// clicks keyed by user carry a device id; the owner table is keyed by device.
TEST_CASE("tester: example lookup in another group's table", "[tester][example]") {
  goka::TesterOptions options;
  options.partitions = 4;
  Tester tester(options);
  // The devices group keeps the device -> owner table.
  tester.add(GroupGraph(
      "devices", {goka::input("device-registrations",
                              [](Context& ctx, const Value& owner) { ctx.set_value(*owner); }),
                  goka::persist()}));
  // The audit group checks that a user clicks only on their own devices.
  tester.add(GroupGraph("audit", {goka::input("device-clicks",
                                              [](Context& ctx, const Value& device) {
                                                Value owner = ctx.lookup("devices-table", *device);
                                                if (owner != Value(ctx.key())) {
                                                  ctx.emit("alerts", ctx.key(), *device);
                                                }
                                              }),
                                  goka::lookup("devices-table"), goka::output("alerts")}));
  tester.consume("device-registrations", "phone-1", "alice");
  tester.consume("device-registrations", "phone-2", "bob");
  goka::MessageTracker alerts = tester.tracker("alerts");
  tester.consume("device-clicks", "alice", "phone-1");
  tester.consume("device-clicks", "alice", "phone-2");
  tester.consume("device-clicks", "bob", "phone-2");
  tester.consume("device-clicks", "bob", "phone-3");
  std::vector<std::string> raised;
  while (auto m = alerts.next()) raised.push_back(m->key + "@" + *m->value);
  CHECK(raised == std::vector<std::string>{"alice@phone-2", "bob@phone-3"});
}

// examples/3-messaging, reduced: a message sent by a user is looped back to
// the recipient's key, where it is appended to the recipient's inbox.
TEST_CASE("tester: example messaging with loopback", "[tester][example]") {
  // A sent message is "<recipient>|<text>", keyed by the sender.
  auto send = [](Context& ctx, const Value& msg) {
    std::string::size_type bar = msg->find('|');
    ctx.loopback(msg->substr(0, bar), ctx.key() + ": " + msg->substr(bar + 1));
  };
  auto deliver = [](Context& ctx, const Value& msg) {
    std::string inbox = ctx.value().value_or("");
    ctx.set_value(inbox.empty() ? *msg : inbox + "\n" + *msg);
    ctx.emit("notifications", ctx.key(), "new message");
  };
  goka::TesterOptions options;
  options.partitions = 8;
  Tester tester(GroupGraph("messaging", {goka::input("sent-messages", send), goka::loop(deliver),
                                         goka::persist(), goka::output("notifications")}),
                options);
  goka::MessageTracker notifications = tester.tracker("notifications");
  tester.consume("sent-messages", "alice", "bob|hi bob");
  tester.consume("sent-messages", "carol", "bob|lunch?");
  tester.consume("sent-messages", "bob", "alice|hi alice");
  CHECK(tester.table_value("messaging", "bob") == Value("alice: hi bob\ncarol: lunch?"));
  CHECK(tester.table_value("messaging", "alice") == Value("bob: hi alice"));
  CHECK(tester.table_value("messaging", "carol") == std::nullopt);
  CHECK(notifications.count() == 3);
  CHECK(notifications.next()->key == "bob");
  // Both topics of the partition of bob are committed.
  int32_t p = goka::partition_for("bob", 8);
  Offsets committed = tester.committable("messaging", p);
  CHECK(committed.count("messaging-loop") == 1);
}

// ---- instances and rebalances ----------------------------------------------------

namespace {

// A click counter whose instance books, per key, the messages it processed
// ("<instance>:<value>"), and defers the commit of a message "defer".
GroupGraph counting_instance(const std::string& name, std::vector<std::string>& seen,
                             std::vector<goka::CommitCompletion>& deferred) {
  return GroupGraph("counter", {goka::input("clicks",
                                            [name, &seen, &deferred](Context& ctx, const Value& msg) {
                                              seen.push_back(name + ":" + *msg);
                                              if (*msg == "defer") {
                                                deferred.push_back(ctx.defer_commit());
                                              }
                                              goka::Int64Codec codec;
                                              auto n = ctx.value();
                                              ctx.set_value(codec.encode(
                                                  (n ? codec.decode(*n) : 0) + 1));
                                            }),
                                goka::persist()});
}

}  // namespace

TEST_CASE("tester: a partition moved to another instance continues there, with the table",
          "[tester][rebalance]") {
  std::vector<std::string> seen;
  std::vector<goka::CommitCompletion> deferred;
  goka::TesterOptions options;
  options.partitions = 4;
  Tester tester(counting_instance("a", seen, deferred), options);
  int b = tester.add_instance(counting_instance("b", seen, deferred));
  CHECK(b == 1);
  int32_t p = goka::partition_for("alice", 4);
  CHECK(tester.owner("counter", p) == 0);
  tester.consume("clicks", "alice", "1");
  tester.consume("clicks", "alice", "2");
  tester.move("counter", p, b);
  CHECK(tester.owner("counter", p) == b);
  CHECK(tester.owner("counter", (p + 1) % 4) == 0);  // only that partition moved
  tester.consume("clicks", "alice", "3");
  // Committed before the move: nothing processed twice; b reads a's count.
  CHECK(seen == std::vector<std::string>{"a:1", "a:2", "b:3"});
  CHECK(tester.table_value("counter", "alice") == Value("3"));
  CHECK(tester.committable("counter", p) == Offsets{{"clicks", 3}});

  tester.move("counter", p, 0);  // and back
  tester.consume("clicks", "alice", "4");
  CHECK(seen.back() == "a:4");
  CHECK(tester.table_value("counter", "alice") == Value("4"));
  tester.move("counter", p, 0);  // already there: nothing happens
  CHECK(seen.size() == 4);
}

TEST_CASE("tester: a move processes again what the old owner could not commit",
          "[tester][rebalance]") {
  std::vector<std::string> seen;
  std::vector<goka::CommitCompletion> deferred;
  Tester tester(counting_instance("a", seen, deferred));
  int b = tester.add_instance(counting_instance("b", seen, deferred));
  tester.consume("clicks", "alice", "1");
  tester.consume("clicks", "alice", "defer");
  tester.consume("clicks", "alice", "3");
  CHECK(tester.committable("counter") == Offsets{{"clicks", 1}});  // held back by "defer"
  tester.move("counter", 0, b);
  // At least once: b processes "defer" and "3" again, on a's table writes.
  CHECK(seen == std::vector<std::string>{"a:1", "a:defer", "a:3", "b:defer", "b:3"});
  CHECK(tester.table_value("counter", "alice") == Value("5"));
  REQUIRE(deferred.size() == 2);
  deferred[0](std::nullopt);  // the old owner's completion, late: changes nothing
  deferred[1](std::nullopt);
  CHECK(tester.committable("counter") == Offsets{{"clicks", 3}});
  tester.consume("clicks", "alice", "4");
  CHECK(seen.back() == "b:4");
}

TEST_CASE("tester: instance usage errors", "[tester][rebalance]") {
  std::vector<std::string> seen;
  std::vector<goka::CommitCompletion> deferred;
  Tester tester(counting_instance("a", seen, deferred));
  CHECK(error_of([&] { tester.add_instance(GroupGraph("other", {goka::input("clicks", noop)})); })
            .code() == Errc::not_found);
  CHECK(error_of([&] {
          tester.add_instance(GroupGraph("counter", {goka::input("clicks", noop)}));  // no table
        }).code() == Errc::usage);
  CHECK(error_of([&] { tester.add_instance(GroupGraph("counter")); }).code() == Errc::config);
  CHECK(error_of([&] { tester.move("counter", 0, 1); }).code() == Errc::not_found);
  CHECK(error_of([&] { tester.move("counter", 1, 0); }).code() == Errc::not_found);
  CHECK(error_of([&] { tester.move("nope", 0, 0); }).code() == Errc::not_found);
  CHECK(error_of([&] { (void)tester.owner("nope", 0); }).code() == Errc::not_found);
  CHECK(error_of([&] { (void)tester.owner("counter", -1); }).code() == Errc::not_found);
  CHECK(tester.add_instance(counting_instance("b", seen, deferred)) == 1);
  CHECK(tester.add_instance(counting_instance("c", seen, deferred)) == 2);
}
