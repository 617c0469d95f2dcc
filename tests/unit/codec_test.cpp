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

TEST_CASE("a JSON integer and the int64 codec give the same bytes") {
  CHECK(goka::JsonCodec().encode("17") == goka::Int64Codec().encode(17));
}

TEST_CASE("string and bytes codecs pass bytes through unchanged") {
  std::string raw("a\0b\xff", 4);
  CHECK(goka::StringCodec().decode(raw) == raw);
  CHECK(goka::BytesCodec().encode(raw) == raw);
}
