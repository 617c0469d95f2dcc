#include "cli/envelope.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "goka/error.hpp"

using goka::Headers;
using goka::Record;
using goka::cli::Envelope;
using goka::cli::format_envelope;
using goka::cli::parse_envelope;
using goka::cli::ValueCodec;
using nlohmann::json;

namespace {

const ValueCodec json_codec;

Record record(std::optional<std::string> key, std::optional<std::string> value,
              Headers headers = {}) {
  Record r;
  r.topic = "clicks";
  r.partition = 3;
  r.offset = 17;
  r.timestamp = 1732233600000;
  r.key = std::move(key);
  r.value = std::move(value);
  r.headers = std::move(headers);
  return r;
}

// The detail of the usage error parse_envelope throws for line.
std::string parse_error(std::string_view line, const ValueCodec& codec = json_codec) {
  try {
    parse_envelope(line, codec);
  } catch (const goka::Error& e) {
    CHECK(e.code() == goka::Errc::usage);
    CHECK(e.message() == "invalid record envelope");
    return e.context().detail.value_or("<no detail>");
  }
  return "<no error>";
}

}  // namespace

TEST_CASE("envelope: the example of CLI.md", "[envelope]") {
  const auto line = format_envelope(record("user-7", R"({"n":1})", {{"trace", "abc"}}), json_codec);
  CHECK(line == R"({"topic":"clicks","partition":3,"offset":17,"timestamp":1732233600000,)"
                R"("key":"user-7","value":{"n":1},"headers":{"trace":"abc"}})");

  std::string out;
  goka::cli::append_envelope(out, record("k", "1"), json_codec);
  CHECK(out.back() == '\n');
  CHECK(out.find('\n') == out.size() - 1);
}

TEST_CASE("envelope: null key, tombstone, no headers", "[envelope]") {
  const auto line = format_envelope(record(std::nullopt, std::nullopt), json_codec);
  CHECK(line == R"({"topic":"clicks","partition":3,"offset":17,"timestamp":1732233600000,)"
                R"("key":null,"value":null,"headers":{}})");
  auto parsed = parse_envelope(line, json_codec);
  CHECK_FALSE(parsed.key);
  CHECK_FALSE(parsed.value);
  CHECK(parsed.headers.empty());
  CHECK(parsed.partition == 3);
  CHECK(parsed.timestamp == 1732233600000);
}

TEST_CASE("envelope: an undecodable value becomes value_b64 and value_error", "[envelope]") {
  const auto line = format_envelope(record("k", "not json"), json_codec);
  const auto doc = json::parse(line);
  CHECK_FALSE(doc.contains("value"));
  CHECK(doc["value_b64"] == "bm90IGpzb24=");
  CHECK_THAT(doc["value_error"].get<std::string>(), Catch::StartsWith("invalid JSON"));
  CHECK(doc["key"] == "k");
  CHECK(doc["headers"] == json::object());

  // emit takes value_b64 back as the exact bytes.
  auto parsed = parse_envelope(line, json_codec);
  CHECK(parsed.value == "not json");

  const auto binary =
      format_envelope(record("k", std::string("\xff\x00", 2)), ValueCodec::from_name("string"));
  CHECK(json::parse(binary)["value_error"] == "not valid UTF-8 (byte 0)");
  CHECK(parse_envelope(binary, json_codec).value == std::string("\xff\x00", 2));
}

TEST_CASE("envelope: unicode and escapes survive print and parse", "[envelope]") {
  const std::string key = "\xc3\xbc\x62\x65r \"quoted\" \\ tab\t \xf0\x9f\x98\x80";
  const std::string value = "\"\\u00e9t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac\\n\"";
  const auto line = format_envelope(record(key, value, {{"n\xc3\xa4me", "v\n"}}), json_codec);
  CHECK(line.find('\n') == std::string::npos);
  const auto parsed = parse_envelope(line, json_codec);
  CHECK(parsed.key == key);
  CHECK(json::parse(*parsed.value) == json::parse(value));
  CHECK(parsed.headers == Headers{{"n\xc3\xa4me", "v\n"}});
}

TEST_CASE("envelope: a key that is not UTF-8 is kept exactly in key_b64", "[envelope]") {
  const std::string key("k\xff\x01", 3);
  const auto line = format_envelope(record(key, "1"), json_codec);
  const auto doc = json::parse(line);
  CHECK(doc["key"] == "k\xef\xbf\xbd\x01");
  CHECK(doc["key_b64"] == "a/8B");
  CHECK(parse_envelope(line, json_codec).key == key);
}

TEST_CASE("envelope: headers keep their order and repeated names", "[envelope]") {
  const Headers headers{{"z", "1"}, {"a", "2"}, {"z", "3"}};
  const auto line = format_envelope(record("k", "1", headers), json_codec);
  CHECK_THAT(line, Catch::EndsWith(R"("headers":{"z":"1","a":"2","z":"3"}})"));
  CHECK(parse_envelope(line, json_codec).headers == headers);
  // Objects nested in the value do not confuse the header collection.
  const auto nested = parse_envelope(
      R"({"key":"k","value":{"headers":{"x":"y"}},"headers":{"h":"1"},"more":{"headers":{}}})",
      json_codec);
  CHECK(nested.headers == Headers{{"h", "1"}});
}

TEST_CASE("envelope: every codec prints and parses", "[envelope]") {
  struct Case {
    const char* codec;
    std::string bytes;
    const char* printed;
  };
  const Case cases[] = {
      {"json", R"({"a":[1,2]})", R"({"a":[1,2]})"},
      {"json", "{ \"a\" :\n 1 }", R"({"a":1})"},
      {"string", "plain \"text\"", R"("plain \"text\"")"},
      {"int64", "-42", "-42"},
      {"bytes", std::string("\x00\x01\xfe", 3), R"("AAH+")"},
  };
  for (const auto& c : cases) {
    INFO(c.codec << " " << c.printed);
    const auto codec = ValueCodec::from_name(c.codec);
    const auto line = format_envelope(record("k", c.bytes), codec);
    CHECK_THAT(line, Catch::Contains(std::string("\"value\":") + c.printed + ","));
    const auto parsed = parse_envelope(line, codec);
    CHECK(codec.decode(*parsed.value) == codec.decode(c.bytes));
  }
  CHECK(
      parse_envelope(R"({"key":"k","value":"a\u0000b"})", ValueCodec::from_name("string")).value ==
      std::string("a\0b", 3));
}

TEST_CASE("envelope: emit needs only key and value", "[envelope]") {
  const auto e = parse_envelope(R"(  {"key":"user-7","value":{"n":1}}  )", json_codec);
  CHECK(e.key == "user-7");
  CHECK(e.value == R"({"n":1})");
  CHECK_FALSE(e.timestamp);
  CHECK_FALSE(e.partition);
  CHECK(e.headers.empty());

  const auto nulls = parse_envelope(
      R"({"key":"k","value":1,"timestamp":null,"partition":null,"headers":null,"x":[]})",
      json_codec);
  CHECK_FALSE(nulls.timestamp);
  CHECK_FALSE(nulls.partition);
}

TEST_CASE("envelope: table rows", "[envelope]") {
  std::string out;
  goka::cli::append_table_row(out, "k", "{\"n\": 2}", json_codec);
  CHECK(out == "{\"key\":\"k\",\"value\":{\"n\":2}}\n");
  out.clear();
  goka::cli::append_table_row(out, "n", std::nullopt, json_codec);
  CHECK(out == "{\"key\":\"n\",\"value\":null}\n");
  out.clear();
  goka::cli::append_table_row(out, "b", "x", json_codec);
  const auto row = json::parse(out);
  CHECK(row["key"] == "b");
  CHECK(row["value_b64"] == "eA==");
  CHECK(row.contains("value_error"));
  CHECK_FALSE(row.contains("value"));
}

TEST_CASE("envelope: invalid lines name what is wrong", "[envelope]") {
  CHECK_THAT(parse_error("{\"key\":\"k\",\"value\":"), Catch::StartsWith("invalid JSON: "));
  CHECK_THAT(parse_error("not json"), Catch::StartsWith("invalid JSON: "));
  CHECK_THAT(parse_error(""), Catch::StartsWith("invalid JSON: "));
  CHECK(parse_error("[1,2]") == "a JSON object is expected, not array");
  CHECK(parse_error(R"({"value":1})") == "missing \"key\"");
  CHECK(parse_error(R"({"key":"k"})") == "missing \"value\"");
  CHECK(parse_error(R"({"key":5,"value":1})") == "\"key\" must be a string or null, not number");
  CHECK_THAT(parse_error(R"({"key":"k","value":"x"})", ValueCodec::from_name("int64")),
             Catch::StartsWith("value: value must be a JSON integer"));
  CHECK_THAT(parse_error(R"({"key":"k","value":"*"})", ValueCodec::from_name("bytes")),
             Catch::StartsWith("value: invalid base64"));
  CHECK_THAT(parse_error(R"({"key":"k","value":1,"timestamp":"now"})"),
             Catch::Contains("\"timestamp\""));
  CHECK_THAT(parse_error(R"({"key":"k","value":1,"timestamp":-1})"),
             Catch::Contains("\"timestamp\""));
  CHECK_THAT(parse_error(R"({"key":"k","value":1,"partition":-1})"),
             Catch::Contains("\"partition\""));
  CHECK_THAT(parse_error(R"({"key":"k","value":1,"partition":2147483648})"),
             Catch::Contains("\"partition\""));
  CHECK_THAT(parse_error(R"({"key":"k","value":1,"partition":1.5})"),
             Catch::Contains("\"partition\""));
  CHECK(parse_error(R"({"key":"k","value":1,"headers":[]})") ==
        "\"headers\" must be an object, not array");
  CHECK(parse_error(R"({"key":"k","value":1,"headers":{"h":1}})") ==
        "header \"h\" must be a string, not number");
  CHECK_THAT(parse_error(R"({"key":"k","value_b64":"!!"})"), Catch::StartsWith("\"value_b64\""));
  CHECK_THAT(parse_error(R"({"key_b64":1,"value":1})"), Catch::StartsWith("\"key_b64\""));
}

TEST_CASE("envelope: a JSON value keeps its bytes on the way in (Go Goka's values replay unchanged)") {
  const ValueCodec json(ValueCodec::Kind::json);
  auto value_of = [&](std::string_view line) { return *parse_envelope(line, json).value; };
  // Key order, escapes such as Go's \u003c and number spellings stay.
  CHECK(value_of(R"({"key":"k","value":{"z":1,"a":"\u003c","f":-3e-7}})") ==
        R"({"z":1,"a":"\u003c","f":-3e-7})");
  // Only whitespace outside strings goes.
  CHECK(value_of(R"({ "value" : [ 1, "a b" ,{ "x" : null } ] , "key" : "k" })") ==
        R"([1,"a b",{"x":null}])");
  // The top-level member, not one of the same name inside another.
  CHECK(value_of(R"({"headers":{"value":"h"},"key":"k","value":"v\"}"})") == R"("v\"}")");
  CHECK(value_of(R"({"key":"k","value":1.50})") == "1.50");
  // A member name written with escapes is still "value"; of repeated names
  // the last counts, as for the other fields.
  CHECK(value_of(R"({"key":"k","\u0076alue":{"b":1e2,"a":0.10}})") == R"({"b":1e2,"a":0.10})");
  CHECK(value_of(R"({"value":1.0,"key":"k","value":2.50})") == "2.50");
  // A value that is a BOM-prefixed document line.
  CHECK(value_of("\xEF\xBB\xBF{\"key\":\"k\",\"value\":1E3}") == "1E3");
}
