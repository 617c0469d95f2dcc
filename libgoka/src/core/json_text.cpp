#include "goka/json_text.hpp"

#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/utf8.hpp"

namespace goka {
namespace {

using detail::utf8_sequence_length;
using nlohmann::json;

// A SAX handler that accepts everything and keeps the parse error message.
struct ErrorCatcher {
  std::string error;
  bool null() { return true; }
  bool boolean(bool) { return true; }
  bool number_integer(json::number_integer_t) { return true; }
  bool number_unsigned(json::number_unsigned_t) { return true; }
  bool number_float(json::number_float_t, const json::string_t&) { return true; }
  bool string(json::string_t&) { return true; }
  bool binary(json::binary_t&) { return true; }
  bool start_object(std::size_t) { return true; }
  bool key(json::string_t&) { return true; }
  bool end_object() { return true; }
  bool start_array(std::size_t) { return true; }
  bool end_array() { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& ex) {
    std::string_view what = ex.what();
    // "[json.exception.parse_error.101] parse error at ..." -> "parse error at ..."
    if (!what.empty() && what.front() == '[') {
      auto close = what.find("] ");
      if (close != std::string_view::npos) what.remove_prefix(close + 2);
    }
    error = what;
    return false;
  }
};

}  // namespace

std::optional<std::size_t> find_invalid_utf8(std::string_view text) noexcept {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    // Skip ASCII eight bytes at a time.
    while (i + 8 <= n) {
      uint64_t word;
      std::memcpy(&word, s + i, 8);
      if (word & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i >= n) break;
    const std::size_t len = utf8_sequence_length(s, i, n);
    if (len == 0) return i;
    i += len;
  }
  return std::nullopt;
}

bool append_json_string(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  bool valid = true;
  out += '"';
  std::size_t run = 0;  // start of the bytes not yet appended
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = s[i];
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      const std::size_t len = utf8_sequence_length(s, i, n);
      if (len > 0) {
        i += len;
        continue;
      }
      out.append(text.data() + run, i - run);
      out += "\xEF\xBF\xBD";
      valid = false;
      run = ++i;
      continue;
    }
    out.append(text.data() + run, i - run);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default: {
        const char escape[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        out.append(escape, sizeof escape);
      }
    }
    run = ++i;
  }
  out.append(text.data() + run, n - run);
  out += '"';
  return valid;
}

std::optional<std::string> json_error(std::string_view text) {
  // nlohmann's lexer takes a NUL byte for the end of the input; say so first.
  if (auto nul = text.find('\0'); nul != std::string_view::npos)
    return "a NUL byte at offset " + std::to_string(nul);
  ErrorCatcher catcher;
  if (json::sax_parse(text.begin(), text.end(), &catcher)) return std::nullopt;
  if (catcher.error.empty()) catcher.error = "parse error";
  return std::move(catcher.error);
}

}  // namespace goka
