#include "cli/record_format.hpp"

#include <catch2/catch.hpp>

#include "goka/error.hpp"

using goka::Record;
using goka::cli::RecordFormat;

namespace {

Record sample() {
  Record r;
  r.topic = "clicks";
  r.partition = 3;
  r.offset = 17;
  r.timestamp = 1732233600000;
  r.key = "user-7";
  r.value = "{\"n\":1}";
  r.headers = {{"trace", "abc"}, {"trace", "def"}, {"src", ""}};
  return r;
}

std::string render(const char* format, const Record& r = sample()) {
  std::string out = "<";
  RecordFormat(format).append(out, r);
  return out.substr(1);
}

}  // namespace

TEST_CASE("record format: every token", "[record_format]") {
  CHECK(render("%k") == "user-7");
  CHECK(render("%s") == "{\"n\":1}");
  CHECK(render("%K") == "6");
  CHECK(render("%S") == "7");
  CHECK(render("%t") == "clicks");
  CHECK(render("%p") == "3");
  CHECK(render("%o") == "17");
  CHECK(render("%T") == "1732233600000");
  CHECK(render("%h") == "trace=abc,trace=def,src=");
  CHECK(render("%%") == "%");
  CHECK(render("100%% %k") == "100% user-7");
  CHECK(render("") == "");
  CHECK(render("no tokens at all") == "no tokens at all");
  CHECK(render("%t/%p@%o: %k=%s (%K/%S bytes) at %T [%h]\\n") ==
        "clicks/3@17: user-7={\"n\":1} (6/7 bytes) at 1732233600000 "
        "[trace=abc,trace=def,src=]\n");
}

TEST_CASE("record format: escapes", "[record_format]") {
  CHECK(render("\\n") == "\n");
  CHECK(render("\\t") == "\t");
  CHECK(render("\\r") == "\r");
  CHECK(render("\\\\") == "\\");
  CHECK(render("%k\\t%s\\r\\n") == "user-7\t{\"n\":1}\r\n");
  CHECK(render("a\\\\nb") == "a\\nb");  // an escaped backslash, then a plain n
  CHECK(render("\\x") == "\\x");        // unknown escapes stay as they are
  CHECK(render("end\\") == "end\\");
  CHECK(render("real\nnewline") == "real\nnewline");
}

TEST_CASE("record format: null key, tombstone, no headers, binary bytes", "[record_format]") {
  Record r;
  r.topic = "t";
  CHECK(render("[%k][%s][%K][%S][%h]", r) == "[][][-1][-1][]");
  r.key = "";
  r.value = "";
  CHECK(render("[%k][%s][%K][%S]", r) == "[][][0][0]");
  r.value = std::string("\0\xff", 2);
  CHECK(render("%s|%S", r) == std::string("\0\xff|2", 4));
}

TEST_CASE("record format: appends many records to one buffer", "[record_format]") {
  RecordFormat format("%p:%o\\n");
  std::string out;
  Record r = sample();
  for (int i = 0; i < 3; ++i) {
    r.offset = i;
    format.append(out, r);
  }
  CHECK(out == "3:0\n3:1\n3:2\n");
}

TEST_CASE("record format: bad tokens are usage errors", "[record_format]") {
  for (const char* bad : {"%x", "%k %q", "%", "abc%", "%R"}) {
    INFO(bad);
    try {
      RecordFormat format(bad);
      FAIL("no error");
    } catch (const goka::Error& e) {
      CHECK(e.code() == goka::Errc::usage);
    }
  }
  CHECK_THROWS_WITH(RecordFormat("%x"), Catch::Contains("%x"));
}
