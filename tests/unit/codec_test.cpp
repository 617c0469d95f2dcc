// Goka's codecs: int64 as decimal text, JSON compact, string and bytes raw.

#include <catch2/catch.hpp>

#include "goka/codec.hpp"
#include "goka/error.hpp"

TEST_CASE("int64 codec writes and reads decimal text as Go Goka does") {
  goka::Int64Codec codec;
  CHECK(codec.encode(42) == "42");
  CHECK(codec.encode(-7) == "-7");
  CHECK(codec.encode(INT64_MAX) == "9223372036854775807");
  CHECK(codec.decode("42") == 42);
  CHECK(codec.decode("-9223372036854775808") == INT64_MIN);
}

TEST_CASE("int64 codec rejects what is not an integer with a decode error") {
  goka::Int64Codec codec;
  for (const char* bad : {"", "4x", " 4", "4 ", "1.5", "9223372036854775808", "abc", "+"}) {
    INFO(bad);
    try {
      codec.decode(bad);
      FAIL("decoded");
    } catch (const goka::Error& e) {
      CHECK(e.code() == goka::Errc::decode);
    }
  }
}

TEST_CASE("json codec compacts and validates") {
  goka::JsonCodec codec;
  CHECK(codec.encode("{ \"a\" : [1, 2] }") == R"({"a":[1,2]})");
  CHECK(codec.decode("42") == "42");
  CHECK(codec.decode("\"caf\xc3\xa9\"") == "\"caf\xc3\xa9\"");
  CHECK_THROWS_AS(codec.decode("{\"a\":"), goka::Error);
  CHECK_THROWS_AS(codec.decode("\"\xff\""), goka::Error);
}

TEST_CASE("json codec keeps a Go-written value's bytes but for whitespace") {
  goka::JsonCodec codec;
  // Go's encoding/json writes '<' as \u003c; key order and number spellings
  // stay as written (no re-serialisation).
  const std::string go = "{\"b\":1e2,  \"s\":\"\\u003c\",\"f\":1.50, \"a\":[]}";
  const std::string kept = R"({"b":1e2,"s":"\u003c","f":1.50,"a":[]})";
  CHECK(codec.decode(go) == kept);
  CHECK(codec.encode(go) == kept);
  CHECK(codec.decode(kept) == kept);
  try {
    codec.decode("{\"a\":");
    FAIL("decoded");
  } catch (const goka::Error& e) {
    CHECK(e.code() == goka::Errc::decode);
    CHECK_THAT(e.what(), Catch::Contains("json codec: cannot decode: invalid JSON"));
  }
}

TEST_CASE("int64 codec parses without exceptions") {
  CHECK(goka::Int64Codec::parse("-12") == -12);
  CHECK_FALSE(goka::Int64Codec::parse("1.0"));
  CHECK_FALSE(goka::Int64Codec::parse(""));
  std::string out = "n=";
  goka::Int64Codec::append(out, INT64_MIN);
  CHECK(out == "n=-9223372036854775808");
}

TEST_CASE("a JSON integer and the int64 codec give the same bytes") {
  CHECK(goka::JsonCodec().encode("17") == goka::Int64Codec().encode(17));
}

TEST_CASE("string and bytes codecs pass bytes through unchanged") {
  std::string raw("a\0b\xff", 4);
  CHECK(goka::StringCodec().decode(raw) == raw);
  CHECK(goka::BytesCodec().encode(raw) == raw);
}
