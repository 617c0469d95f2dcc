// The one JSON policy (goka/json_text.hpp): JSON text is checked as strictly
// as nlohmann's parser and kept as written but for whitespace.

#include "goka/json_text.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

using nlohmann::json;

TEST_CASE("UTF-8 validation", "[json_text]") {
  using goka::find_invalid_utf8;
  CHECK_FALSE(find_invalid_utf8(""));
  CHECK_FALSE(find_invalid_utf8("plain ascii, longer than eight bytes"));
  CHECK_FALSE(find_invalid_utf8("h\xc3\xa9llo \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80"));
  CHECK_FALSE(find_invalid_utf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF
  CHECK(find_invalid_utf8("abc\xff") == 3u);
  CHECK(find_invalid_utf8("\xc0\xaf") == 0u);             // overlong '/'
  CHECK(find_invalid_utf8("\xe0\x80\xaf") == 0u);         // overlong
  CHECK(find_invalid_utf8("ok\xed\xa0\x80") == 2u);       // surrogate U+D800
  CHECK(find_invalid_utf8("\xf4\x90\x80\x80") == 0u);     // above U+10FFFF
  CHECK(find_invalid_utf8("0123456789\xe6\x97") == 10u);  // truncated
  CHECK(find_invalid_utf8("\x80") == 0u);                 // lone continuation
}

TEST_CASE("JSON strings are escaped and invalid UTF-8 is replaced", "[json_text]") {
  std::string out;
  CHECK(goka::append_json_string(out, "a\"b\\c\n\t\r\b\f\x01\x1f\x7f"));
  CHECK(out == "\"a\\\"b\\\\c\\n\\t\\r\\b\\f\\u0001\\u001f\x7f\"");
  CHECK(json::parse(out) == "a\"b\\c\n\t\r\b\f\x01\x1f\x7f");

  out.clear();
  CHECK(goka::append_json_string(out, "\xc3\xa9\xf0\x9f\x98\x80"));
  CHECK(out == "\"\xc3\xa9\xf0\x9f\x98\x80\"");

  out.clear();
  CHECK_FALSE(goka::append_json_string(out,
                                            "a\xff"
                                            "b"));
  CHECK(out ==
        "\"a\xef\xbf\xbd"
        "b\"");

  out.clear();
  CHECK(goka::append_json_string(out, std::string("\0", 1)));
  CHECK(out == "\"\\u0000\"");
}

TEST_CASE("json_error explains and compact JSON removes only whitespace", "[json_text]") {
  CHECK_FALSE(goka::json_error("[1, {\"a\": \"b\"}]"));
  auto error = goka::json_error("[1,");
  REQUIRE(error);
  CHECK_THAT(*error, Catch::StartsWith("parse error") && !Catch::Contains("[json.exception"));

  std::string out = ">";
  CHECK(goka::append_compact_json(out, " [ \"a b\" , \"c\\\\\" , { \"d\\\" \" : 1.50 } ] "));
  CHECK(out == R"(>["a b","c\\",{"d\" ":1.50}])");
  CHECK_FALSE(goka::append_compact_json(out, "[1, 2"));
  CHECK(out == R"(>["a b","c\\",{"d\" ":1.50}])");
}

TEST_CASE("the JSON scanner accepts exactly what nlohmann's parser accepts", "[json_text]") {
  const char* cases[] = {
      "0",
      "-0",
      "1",
      "-1",
      "10",
      "01",
      "-",
      "+1",
      "1.",
      ".5",
      "1.5",
      "1e5",
      "1E+5",
      "1e-5",
      "1e",
      "1e+",
      "-01",
      "1.5e3",
      "123456789012345678901234567890",
      "true",
      "false",
      "null",
      "tru",
      "nul",
      "True",
      "truex",
      "nullnull",
      "\"\"",
      "\"a\"",
      "\"a",
      "a\"",
      "\"\\\"\"",
      "\"\\/\\b\\f\\n\\r\\t\\\\\"",
      "\"\\x\"",
      "\"\\u00e9\"",
      "\"\\u00E9\"",
      "\"\\u00g9\"",
      "\"\\u12\"",
      "\"\\ud83d\\ude00\"",
      "\"\\ud83d\"",
      "\"\\ude00\"",
      "\"\\ud83d\\u0041\"",
      "\"\\ud83dx\"",
      "\"tab\there\"",
      "\"nl\nhere\"",
      "\"del\x7f\"",
      "\"\xc3\xa9\"",
      "\"\xff\"",
      "\"\xed\xa0\x80\"",
      "\"\xf0\x9f\x98\x80\"",
      "[]",
      "{}",
      "[ ]",
      "{ }",
      "[1,2]",
      "[1,]",
      "[,1]",
      "[1 2]",
      "{\"a\":1}",
      "{\"a\" : 1 , \"b\" : [ ] }",
      "{\"a\"}",
      "{\"a\":}",
      "{a:1}",
      "{\"a\":1,}",
      "{,}",
      "{\"a\":1 \"b\":2}",
      "[[[[[]]]]]",
      "[[[[[]]]]",
      "[]]",
      "{}}",
      "[{\"a\":[{\"b\":{}}]}]",
      "[{]",
      "{[]}",
      "",
      " ",
      "\n\t\r ",
      " 1 ",
      "1 2",
      "\xEF\xBB\xBF"
      "1",
      "\xEF\xBB\xBF",
      "\xEF\xBB"
      "1",
      "1\xEF\xBB\xBF",
      "[1]x",
      "{\"a\":1}{\"b\":2}",
      "\"\\u0000\"",
      "[-]",
      "[1.e5]",
      "[0x10]",
      "[Infinity]",
      "[NaN]",
      "// comment\n1",
      "[1,/**/2]",
      "'single'",
      "\v1",
      "\f1",
      "[true,false,null]",
  };
  for (const char* text : cases) {
    INFO(text);
    std::string out;
    const bool scanned = goka::append_compact_json(out, text);
    CHECK(scanned == json::accept(text));
    if (scanned) CHECK(json::parse(out) == json::parse(text));
  }
}

TEST_CASE("the JSON scanner agrees with nlohmann on mutated documents", "[json_text]") {
  const std::string seed =
      "{\"k\": [1, -2.5e3, true, null, \"s\\u00e9\\n\xc3\xa9\"], \"o\": {\"x\": {}, \"y\": []}}";
  const char alphabet[] = "{}[]\":,-+.0123456789eEtrufalsn \\/u\x01\xc3\xa9";
  uint32_t state = 12345;
  auto next = [&state] {
    state = state * 1103515245u + 12345u;
    return (state >> 16) & 0x7fff;
  };
  int valid = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string text = seed;
    const int edits = 1 + int(next() % 3);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = next() % (text.size() + 1);
      const char c = alphabet[next() % (sizeof alphabet - 1)];
      switch (next() % 3) {
        case 0:
          text.insert(at, 1, c);
          break;
        case 1:
          if (at < text.size()) text.erase(at, 1);
          break;
        default:
          if (at < text.size()) text[at] = c;
      }
    }
    std::string out;
    const bool scanned = goka::append_compact_json(out, text);
    if (scanned != json::accept(text)) FAIL("disagreement on: " << text);
    if (scanned && json::parse(out) != json::parse(text)) FAIL("changed value: " << text);
    valid += scanned ? 1 : 0;
  }
  CHECK(valid > 1000);  // both outcomes are well exercised
  CHECK(valid < 19000);
}

TEST_CASE("compact JSON keeps key order, number spellings and escapes", "[json_text]") {
  std::string out;
  CHECK(goka::append_compact_json(out, "{\"a\":1e2,  \"s\":\"\\u003c\",\"f\":1.50}"));
  CHECK(out == R"({"a":1e2,"s":"\u003c","f":1.50})");
  out.clear();
  CHECK(goka::append_compact_json(out, "{ \"z\" : -0.0E+1 , \"a\" : [ \"\\/\" , 12345678901234567890123 ] }"));
  CHECK(out == R"({"z":-0.0E+1,"a":["\/",12345678901234567890123]})");
}

TEST_CASE("json_error names a NUL byte, which nlohmann would take for the end", "[json_text]") {
  CHECK(goka::json_error(std::string("1\0x", 3)) == "a NUL byte at offset 1");
  std::string out;
  CHECK_FALSE(goka::append_compact_json(out, std::string("1\0x", 3)));
}
