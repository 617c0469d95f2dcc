#include "cli/offset_spec.hpp"

#include <catch2/catch.hpp>

#include "goka/error.hpp"

using goka::StartOffset;
using goka::cli::parse_offset_spec;
using Kind = goka::StartOffset::Kind;

TEST_CASE("offset spec: the forms of kcat's -o", "[offset_spec]") {
  CHECK(parse_offset_spec("beginning").kind == Kind::beginning);
  CHECK(parse_offset_spec("end").kind == Kind::end);

  auto at = parse_offset_spec("17");
  CHECK(at.kind == Kind::offset);
  CHECK(at.value == 17);
  CHECK(parse_offset_spec("0").kind == Kind::offset);
  CHECK(parse_offset_spec("9223372036854775807").value == INT64_MAX);

  auto tail = parse_offset_spec("-10");
  CHECK(tail.kind == Kind::tail);
  CHECK(tail.value == 10);
  CHECK(parse_offset_spec("-0").kind == Kind::tail);

  auto time = parse_offset_spec("s@1732233600000");
  CHECK(time.kind == Kind::timestamp);
  CHECK(time.value == 1732233600000);
}

TEST_CASE("offset spec: bad text is a usage error quoting it", "[offset_spec]") {
  for (const char* bad :
       {"", "begin", "Beginning", "end ", " 5", "+5", "5x", "--5", "-", "-x", "s@", "s@-1", "s@abc",
        "1.5", "0x10", "9223372036854775808", "stored", "e@1732233600000"}) {
    INFO(bad);
    try {
      parse_offset_spec(bad);
      FAIL("no error");
    } catch (const goka::Error& e) {
      CHECK(e.code() == goka::Errc::usage);
      CHECK_THAT(e.what(), Catch::Contains(std::string("\"") + bad + "\""));
    }
  }
}

TEST_CASE("offset spec: unsupported kcat forms say so", "[offset_spec]") {
  CHECK_THROWS_WITH(parse_offset_spec("stored"), Catch::Contains("consumer group"));
  CHECK_THROWS_WITH(parse_offset_spec("e@5"), Catch::Contains("not supported"));
  CHECK_THROWS_WITH(parse_offset_spec("nope"), Catch::Contains("beginning, end, N, -N or s@MS"));
}
