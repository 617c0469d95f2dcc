#include "cli/value_codec.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/base64.hpp"
#include "cli/codec_option.hpp"
#include "goka/codec.hpp"
#include "goka/error.hpp"

using goka::Errc;
using goka::Error;
using goka::cli::ValueCodec;
using nlohmann::json;

namespace {

ValueCodec codec(const char* name) { return ValueCodec::from_name(name); }

// The Errc of what f throws, or nothing when it does not throw goka::Error.
template <class F>
std::optional<Errc> thrown(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  return std::nullopt;
}

std::string decoded_text(const ValueCodec& c, std::string_view bytes) {
  std::string out = "prefix:";
  auto error = c.append_decoded(out, bytes);
  if (error) return "ERROR " + *error + " / " + out;
  return out.substr(7);
}

}  // namespace

TEST_CASE("base64 encodes and decodes the RFC 4648 test vectors", "[value_codec]") {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    CHECK(goka::cli::base64_encode(plain) == encoded);
    CHECK(goka::cli::base64_decode(encoded) == plain);
  }
}

TEST_CASE("base64 round-trips every byte value", "[value_codec]") {
  std::string all;
  for (int i = 0; i < 256; ++i) all += char(i);
  for (std::size_t n = 0; n <= all.size(); n += 37) {
    const std::string part = all.substr(0, n);
    CHECK(goka::cli::base64_decode(goka::cli::base64_encode(part)) == part);
  }
  CHECK(goka::cli::base64_encode(std::string("\x00\xff", 2)) == "AP8=");
  CHECK(goka::cli::base64_encode("\xfb\xff") == "+/8=");
}

TEST_CASE("base64 accepts unpadded input and rejects what is not base64", "[value_codec]") {
  CHECK(goka::cli::base64_decode("Zg") == "f");
  CHECK(goka::cli::base64_decode("Zm8") == "fo");
  for (const char* bad : {"Z", "Zg=", "Zg===", "Zm9v!", "Zm=v", "Zm9v Zm9v", "Zm9vY", "Zm9v\n"}) {
    INFO(bad);
    CHECK(thrown([&] { goka::cli::base64_decode(bad); }) == Errc::decode);
  }
  try {
    goka::cli::base64_decode("Zm9v!A==");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("\"!\"") && Catch::Contains("offset 4"));
  }
}

TEST_CASE("codec names", "[value_codec]") {
  CHECK(codec("json").kind() == ValueCodec::Kind::json);
  CHECK(codec("string").kind() == ValueCodec::Kind::string);
  CHECK(codec("int64").kind() == ValueCodec::Kind::int64);
  CHECK(codec("bytes").kind() == ValueCodec::Kind::bytes);
  CHECK(std::string(codec("int64").name()) == "int64");
  CHECK(ValueCodec().kind() == ValueCodec::Kind::json);
  // One list: every listed name parses back to a codec of that name.
  CHECK(ValueCodec::names() == "json|string|int64|bytes|proto:NAME");
  for (const auto name : ValueCodec::all_names()) {
    if (name.starts_with("proto:")) continue;  // needs a schema: tests/cli/proto.sh
    CHECK(ValueCodec::from_name(name).name() == name);
  }
  CHECK(ValueCodec::check_name("proto:shop.Order").empty());
  CHECK_THAT(ValueCodec::check_name("proto:"), Catch::Contains("proto:NAME"));
  CHECK_THAT(ValueCodec::check_name("protobuf"), Catch::Contains("unknown codec"));
  try {
    codec("protobuf");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::usage);
    CHECK_THAT(e.what(), Catch::Contains("protobuf") && Catch::Contains("json|string|int64|bytes"));
  }
}

TEST_CASE("json codec", "[value_codec]") {
  const auto c = codec("json");
  CHECK(c.encode(json::parse(R"({ "a" : [1, 2.5, "x"], "b": null })")) ==
        R"({"a":[1,2.5,"x"],"b":null})");
  CHECK(c.encode(json("h\xc3\xa9")) == "\"h\xc3\xa9\"");
  CHECK(c.encode(json(42)) == "42");

  CHECK(c.encode_text(" { \"a\" : [ 1 , 2 ] ,\n\"s\": \"x y\\\" z\" } ") ==
        R"({"a":[1,2],"s":"x y\" z"})");
  CHECK(c.encode_text("1e2") == "1e2");
  CHECK(c.encode_text("\xEF\xBB\xBF[1, 2]") == "[1,2]");
  CHECK(thrown([&] { c.encode_text(""); }) == Errc::decode);
  CHECK(thrown([&] { c.encode_text("hello"); }) == Errc::decode);
  CHECK(thrown([&] { c.encode_text("{\"a\":1} x"); }) == Errc::decode);
  CHECK(thrown([&] { c.encode_text("\"\xff\""); }) == Errc::decode);

  CHECK(c.decode(R"({"n":1})") == json{{"n", 1}});
  CHECK(thrown([&] { c.decode("{"); }) == Errc::decode);

  CHECK(decoded_text(c, R"({"n":1})") == R"({"n":1})");
  CHECK(decoded_text(c, "{ \"n\" :\r\n 1 }\n") == R"({"n":1})");
  CHECK(decoded_text(c, "\xEF\xBB\xBF\"x\"") == "\"x\"");
  CHECK(decoded_text(c, R"("a\nb")") == R"("a\nb")");
  CHECK(decoded_text(c, "\"h\xc3\xa9\"") == "\"h\xc3\xa9\"");
  CHECK_THAT(decoded_text(c, "hello"),
             Catch::StartsWith("ERROR invalid JSON: ") && Catch::EndsWith(" / prefix:"));
  CHECK_THAT(decoded_text(c, ""), Catch::StartsWith("ERROR invalid JSON"));
  CHECK_THAT(decoded_text(c, "\"\xff\""), Catch::StartsWith("ERROR invalid JSON"));
  CHECK_THAT(decoded_text(c, "\"a\nb\""), Catch::StartsWith("ERROR invalid JSON"));
  // nlohmann stops at a NUL byte and would accept "1\0x"; the codec does not.
  CHECK(decoded_text(c, std::string("1\0x", 3)) ==
        "ERROR invalid JSON: a NUL byte at offset 1 / prefix:");
  CHECK(thrown([&] { c.encode_text(std::string("[1]\0", 4)); }) == Errc::decode);
}

TEST_CASE("a JSON null given as text is a tombstone with the json codec only", "[value_codec]") {
  CHECK_FALSE(codec("json").encode_value_text("null"));
  CHECK_FALSE(codec("json").encode_value_text(" null\n"));
  CHECK(codec("json").encode_value_text("\"null\"") == "\"null\"");
  CHECK(codec("json").encode_value_text("[null]") == "[null]");
  CHECK(codec("string").encode_value_text("null") == "null");
  CHECK(thrown([&] { codec("json").encode_value_text("nul"); }) == Errc::decode);
}

TEST_CASE("the json codec keeps a value as written through every path", "[value_codec]") {
  const auto c = codec("json");
  const std::string go = "{\"b\":1e2,  \"s\":\"\\u003c\",\"f\":1.50}";
  const std::string kept = R"({"b":1e2,"s":"\u003c","f":1.50})";
  CHECK(c.encode_text(go) == kept);
  CHECK(decoded_text(c, go) == kept);
  CHECK(c.decode(go) == json::parse(kept));  // parsed only to inspect
}

TEST_CASE("the json codec gives the bytes goka::JsonCodec gives", "[value_codec]") {
  const auto c = codec("json");
  goka::JsonCodec goka_codec;
  for (const char* text : {"{\"a\":1,\"b\":[true,false,null]}", "\"x y\"", "-3", "[]"}) {
    INFO(text);
    CHECK(c.encode_text(text) == goka_codec.encode(text));
    CHECK(c.encode(json::parse(text)) == goka_codec.encode(text));
  }
}

TEST_CASE("string codec", "[value_codec]") {
  const auto c = codec("string");
  CHECK(c.encode(json("h\xc3\xa9llo")) == "h\xc3\xa9llo");
  CHECK(thrown([&] { c.encode(json(1)); }) == Errc::decode);
  CHECK(thrown([&] { c.encode(json::object()); }) == Errc::decode);
  CHECK(c.encode_text("any text { not json") == "any text { not json");
  CHECK(c.encode_text("") == "");

  CHECK(c.decode("a\"b") == json("a\"b"));
  CHECK(thrown([&] { c.decode("a\xff"); }) == Errc::decode);

  CHECK(decoded_text(c, "tab\there") == "\"tab\\there\"");
  CHECK(decoded_text(c, "") == "\"\"");
  CHECK(decoded_text(c, "\xe2\x82\xac") == "\"\xe2\x82\xac\"");
  CHECK(decoded_text(c, "ab\xff") == "ERROR not valid UTF-8 (byte 2) / prefix:");
}

TEST_CASE("int64 codec", "[value_codec]") {
  const auto c = codec("int64");
  CHECK(c.encode(json(42)) == "42");
  CHECK(c.encode(json(-7)) == "-7");
  CHECK(c.encode(json(INT64_MIN)) == "-9223372036854775808");
  CHECK(c.encode(json(uint64_t(INT64_MAX))) == "9223372036854775807");
  CHECK(thrown([&] { c.encode(json(uint64_t(INT64_MAX) + 1)); }) == Errc::decode);
  CHECK(thrown([&] { c.encode(json(1.5)); }) == Errc::decode);
  CHECK(thrown([&] { c.encode(json("42")); }) == Errc::decode);
  CHECK(thrown([&] { c.encode(json(nullptr)); }) == Errc::decode);

  CHECK(c.encode_text("42") == "42");
  CHECK(c.encode_text("-0") == "0");
  CHECK(c.encode_text("007") == "7");
  for (const char* bad : {"", "+5", " 1", "1 ", "1.0", "0x10", "9223372036854775808", "abc"}) {
    INFO(bad);
    CHECK(thrown([&] { c.encode_text(bad); }) == Errc::decode);
  }

  CHECK(c.decode("-12") == json(-12));
  CHECK(thrown([&] { c.decode("12a"); }) == Errc::decode);
  CHECK(decoded_text(c, "123") == "123");
  CHECK(decoded_text(c, "0042") == "42");
  CHECK_THAT(decoded_text(c, "{\"n\":1}"), Catch::StartsWith("ERROR not a decimal int64"));

  // A JSON integer and the int64 codec produce the same bytes (DESIGN.md),
  // and both agree with goka::Int64Codec.
  goka::Int64Codec goka_codec;
  for (int64_t v : {int64_t(0), int64_t(-1), int64_t(1) << 40, INT64_MAX, INT64_MIN}) {
    CHECK(c.encode(json(v)) == goka_codec.encode(v));
    CHECK(codec("json").encode(json(v)) == goka_codec.encode(v));
    CHECK(c.decode(goka_codec.encode(v)) == json(v));
  }
}

TEST_CASE("bytes codec", "[value_codec]") {
  const auto c = codec("bytes");
  CHECK(c.encode(json("Zm9vYmFy")) == "foobar");
  CHECK(thrown([&] { c.encode(json("not base64!")); }) == Errc::decode);
  CHECK(thrown([&] { c.encode(json(5)); }) == Errc::decode);
  CHECK(c.encode_text("AP8=") == std::string("\x00\xff", 2));
  CHECK(thrown([&] { c.encode_text("???"); }) == Errc::decode);
  CHECK(c.decode(std::string("\x00\xff", 2)) == json("AP8="));
  CHECK(decoded_text(c, "\xff\xfe") == "\"//4=\"");
  CHECK(decoded_text(c, "") == "\"\"");
}


TEST_CASE("add_codec_option sets the command's codec and rejects unknown names",
          "[value_codec]") {
  CLI::App app;
  ValueCodec codec;  // json
  ValueCodec table_codec(ValueCodec::Kind::int64);
  goka::cli::add_codec_option(&app, codec);
  goka::cli::add_codec_option(&app, table_codec, "--table-codec", "Table codec");
  app.parse(std::vector<std::string>{"bytes", "--codec"});  // CLI11 takes them reversed
  CHECK(codec.kind() == ValueCodec::Kind::bytes);
  CHECK(table_codec.kind() == ValueCodec::Kind::int64);  // the default stays
  // --help and completions show the names from the one list.
  CHECK(app.get_option("--codec")->get_type_name() == "TEXT:{json,string,int64,bytes,proto:NAME}");
  // ... and the protobuf flags a proto:NAME codec is built with, once.
  CHECK(app.get_option_group("Protobuf (--codec proto:NAME)")->get_option("--proto") != nullptr);
  CHECK_THROWS_AS(app.parse(std::vector<std::string>{"proto:", "--codec"}), CLI::ValidationError);
  CHECK(app.get_option("--table-codec")->get_default_str() == "int64");
  CHECK_THROWS_AS(app.parse(std::vector<std::string>{"yaml", "--codec"}), CLI::ValidationError);
}

TEST_CASE("check tells what append_decoded tells, for every codec", "[value_codec]") {
  const std::vector<std::string> inputs = {"",     "42",      "-7",        " 1",         "1.5",
                                           "abc",  "\"s\"",   "{\"a\":1}", "[1,",        "\xff\xfe",
                                           "caf\xc3\xa9", "9223372036854775808", std::string("\0x", 2)};
  for (const auto name : ValueCodec::all_names()) {
    if (name.starts_with("proto:")) continue;  // needs a schema: tests/cli/proto.sh
    ValueCodec c = ValueCodec::from_name(name);
    for (const std::string& bytes : inputs) {
      INFO(name << " '" << bytes << "'");
      std::string out;
      CHECK(c.check(bytes) == c.append_decoded(out, bytes));
    }
  }
  CHECK(codec("string").check("\xff").has_value());
  CHECK(codec("int64").check("x").has_value());
  CHECK_FALSE(codec("bytes").check("\xff").has_value());
}
