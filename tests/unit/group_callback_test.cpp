// Unit tests of run-group's callback (handlers/group_callback.hpp): the
// integer path of count, sum, min and max writes exactly the bytes the
// generic path (GroupOp::apply on JSON documents, then the table codec)
// writes, and leaves what it cannot take to the generic path and its errors.

#include "handlers/group_callback.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "goka/error.hpp"
#include "handlers/decision.hpp"

namespace {

using goka::cli::GroupCallback;
using goka::cli::GroupCallbackOptions;
using goka::cli::GroupOp;
using goka::cli::ValueCodec;
using Kind = ValueCodec::Kind;

// A Context of one message of topic "in", partition 3, offset 17, key "k",
// whose table row is state; records what the callback writes.
class FakeContext final : public goka::Context {
 public:
  explicit FakeContext(std::optional<std::string> state) : state_(std::move(state)) {}

  const std::string& topic() const override { return topic_; }
  const std::string& key() const override { return key_; }
  int32_t partition() const override { return 3; }
  int64_t offset() const override { return 17; }
  int64_t timestamp() const override { return 0; }
  const goka::Headers& headers() const override { return headers_; }
  const std::string& group() const override { return group_; }
  std::optional<std::string> value() const override { return state_; }
  void set_value(std::string_view value) override {
    state_ = std::string(value);
    ++writes;
  }
  void delete_value() override {
    state_.reset();
    ++writes;
  }
  std::optional<std::string> join(const std::string&) const override { return std::nullopt; }
  std::optional<std::string> lookup(const std::string&, std::string_view) const override {
    return std::nullopt;
  }
  void emit(const std::string& topic, std::string_view key, std::optional<std::string_view> value,
            const goka::Headers&) override {
    emits.push_back({topic, std::string(key),
                     value ? std::optional<std::string>(std::string(*value)) : std::nullopt});
  }
  void loopback(std::string_view, std::optional<std::string_view>) override {}
  [[noreturn]] void fail(const std::string& reason) override {
    throw goka::Error(goka::Errc::runtime, reason);
  }
  goka::CommitCompletion defer_commit() override { return {}; }

  const std::optional<std::string>& state() const { return state_; }
  struct Emit {
    std::string topic, key;
    std::optional<std::string> value;
    bool operator==(const Emit&) const = default;
  };
  std::vector<Emit> emits;
  int writes = 0;

 private:
  std::string topic_ = "in", key_ = "k", group_ = "g";
  goka::Headers headers_;
  std::optional<std::string> state_;
};

// What one message does to the table row and the outputs.
struct Outcome {
  std::optional<std::string> state;
  int writes = 0;
  std::vector<FakeContext::Emit> emits;
  std::string error;  // what() of the goka::Error thrown, if any
  bool operator==(const Outcome&) const = default;
};

GroupCallbackOptions options(const std::string& op, Kind codec, Kind table_codec) {
  return {.op = {op, "", 0},
          .outputs = {"out"},
          .codec = ValueCodec(codec),
          .table_codec = ValueCodec(table_codec)};
}

Outcome through_callback(const GroupCallbackOptions& opts, std::optional<std::string> state,
                         const std::optional<std::string>& message) {
  GroupCallback callback(opts);
  FakeContext ctx(std::move(state));
  Outcome out;
  try {
    callback(ctx, message);
  } catch (const goka::Error& e) {
    out.error = e.what();
  }
  out.state = ctx.state();
  out.writes = ctx.writes;
  out.emits = ctx.emits;
  return out;
}

// The generic path, written out: documents, GroupOp::apply, the table codec.
Outcome through_documents(const GroupCallbackOptions& opts, std::optional<std::string> state,
                          const std::optional<std::string>& message) {
  Outcome out;
  out.state = state;
  const std::string where = " (topic=in, partition=3, offset=17)";
  nlohmann::json value, current;
  try {
    value = message ? opts.codec.decode(*message) : nlohmann::json();
  } catch (const goka::Error& e) {
    out.error = "input value does not decode: " + e.message() + where;
    return out;
  }
  try {
    if (state) current = opts.table_codec.decode(*state);
  } catch (const goka::Error& e) {
    out.error = "table value does not decode: " + e.message() + where;
    return out;
  }
  goka::cli::Decision d;
  try {
    d = opts.op.apply(current, value);
  } catch (const goka::Error& e) {
    out.error = e.message() + where;
    return out;
  }
  if (d.action == goka::cli::Decision::Action::set) {
    try {
      out.state = opts.table_codec.encode(d.state);
    } catch (const goka::Error& e) {  // outside the callback's context (the processor adds it)
      out.error = e.what();
      return out;
    }
    out.writes = 1;
    out.emits.push_back({"out", "k", out.state});
  }
  return out;
}

const std::vector<std::optional<std::string>> states = {
    std::nullopt, "0",   "41",      "-5",    "007", "-0", "+3",   "4.5", "1e2",
    "\"x\"",      "",    "not json", "9007199254740993", "9007199254740992",
    "99999999999999999999"};  // int64 extremes: see the count case (sum would overflow)
const std::vector<std::optional<std::string>> values = {
    std::nullopt, "1", "-3", "0", "2.5", "12", "007", "\"s\"", "9007199254740992",
    "9007199254740993", "1 ", "x"};

}  // namespace

TEST_CASE("group callback: the integer path writes what the generic path writes") {
  for (const char* op : {"count", "sum", "min", "max"}) {
    for (Kind codec : {Kind::json, Kind::int64, Kind::string}) {
      for (Kind table_codec : {Kind::json, Kind::int64}) {
        auto opts = options(op, codec, table_codec);
        for (const auto& state : states) {
          for (const auto& value : values) {
            CAPTURE(op, int(codec), int(table_codec), state.value_or("<none>"),
                    value.value_or("<none>"));
            CHECK(through_callback(opts, state, value) == through_documents(opts, state, value));
          }
        }
      }
    }
  }
}

TEST_CASE("group callback: a table value that does not decode names the message") {
  for (const char* op : {"count", "sum", "max"}) {
    auto out = through_callback(options(op, Kind::json, Kind::json), "{oops", "1");
    CAPTURE(op);
    CHECK(out.error.starts_with("table value does not decode: invalid JSON"));
    CHECK(out.error.ends_with("(topic=in, partition=3, offset=17)"));
    CHECK(out.writes == 0);
    CHECK(out.emits.empty());
  }
}

TEST_CASE("group callback: count counts from 1 and overflow goes the generic way") {
  auto opts = options("count", Kind::json, Kind::int64);
  CHECK(through_callback(opts, std::nullopt, "1").state == "1");
  CHECK(through_callback(opts, "41", std::nullopt).state == "42");
  CHECK(through_callback(opts, "-1", "1").state == "0");
  CHECK(through_callback(opts, "9223372036854775806", "1").state == "9223372036854775807");
  auto bad_input = through_callback(opts, "41", "{");
  CHECK(bad_input.error.starts_with("input value does not decode"));
  CHECK(bad_input.writes == 0);
}

TEST_CASE("group callback: min and max keep the state without writing") {
  auto out = through_callback(options("min", Kind::json, Kind::json), "3", "5");
  CHECK(out.writes == 0);
  CHECK(out.state == "3");
  CHECK(out.emits.empty());
  CHECK(through_callback(options("max", Kind::int64, Kind::json), "3", "5").state == "5");
}

TEST_CASE("group ops: canonical_int64 takes only what the codecs write") {
  using goka::cli::canonical_int64;
  CHECK(canonical_int64("0") == 0);
  CHECK(canonical_int64("-7") == -7);
  CHECK(canonical_int64("9223372036854775807") == INT64_MAX);
  CHECK(canonical_int64("-9223372036854775808") == INT64_MIN);
  for (const char* bad : {"", "-", "-0", "00", "007", "+1", " 1", "1 ", "1.0", "1e2",
                          "9223372036854775808", "x"}) {
    CAPTURE(bad);
    CHECK_FALSE(canonical_int64(bad).has_value());
  }
}
