#include "cli/value_codec.hpp"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "goka/error.hpp"

namespace goka::cli {
namespace {

using nlohmann::json;

[[noreturn]] void throw_decode(std::string message) {
  throw Error(Errc::decode, std::move(message));
}

// text as a short JSON string for error messages: at most 40 bytes shown.
std::string quoted(std::string_view text) {
  constexpr std::size_t limit = 40;
  std::string out;
  append_json_string(out, text.substr(0, limit));
  if (text.size() > limit) out += "...";
  return out;
}

std::optional<int64_t> parse_int64(std::string_view text) noexcept {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value, 10);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

void append_int64(std::string& out, int64_t value) {
  std::array<char, 24> buf;
  auto [ptr, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), value);
  (void)ec;
  out.append(buf.data(), ptr);
}

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

constexpr char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> base64_values() {
  std::array<int8_t, 256> values{};
  for (auto& v : values) v = -1;
  for (int i = 0; i < 64; ++i) values[static_cast<unsigned char>(base64_alphabet[i])] = int8_t(i);
  return values;
}
constexpr auto base64_value = base64_values();

// The length of the well-formed UTF-8 sequence at text[i] (i < size), or 0.
std::size_t utf8_sequence_length(const unsigned char* s, std::size_t i, std::size_t size) {
  const unsigned char c = s[i];
  if (c < 0x80) return 1;
  auto cont = [&](std::size_t k, unsigned char lo, unsigned char hi) {
    return i + k < size && s[i + k] >= lo && s[i + k] <= hi;
  };
  if (c >= 0xC2 && c <= 0xDF) return cont(1, 0x80, 0xBF) ? 2 : 0;
  if (c == 0xE0) return cont(1, 0xA0, 0xBF) && cont(2, 0x80, 0xBF) ? 3 : 0;
  if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
    return cont(1, 0x80, 0xBF) && cont(2, 0x80, 0xBF) ? 3 : 0;
  if (c == 0xED) return cont(1, 0x80, 0x9F) && cont(2, 0x80, 0xBF) ? 3 : 0;
  if (c == 0xF0) return cont(1, 0x90, 0xBF) && cont(2, 0x80, 0xBF) && cont(3, 0x80, 0xBF) ? 4 : 0;
  if (c >= 0xF1 && c <= 0xF3)
    return cont(1, 0x80, 0xBF) && cont(2, 0x80, 0xBF) && cont(3, 0x80, 0xBF) ? 4 : 0;
  if (c == 0xF4) return cont(1, 0x80, 0x8F) && cont(2, 0x80, 0xBF) && cont(3, 0x80, 0xBF) ? 4 : 0;
  return 0;
}

// "invalid JSON: <why>" for text that is not valid JSON.
std::string invalid_json(std::string_view text) {
  // nlohmann's lexer takes a NUL byte for the end of the input; say so first.
  if (auto nul = text.find('\0'); nul != std::string_view::npos)
    return fmt::format("invalid JSON: a NUL byte at offset {}", nul);
  auto error = json_error(text);
  return fmt::format("invalid JSON: {}", error ? *error : "parse error");
}

}  // namespace

// ---- ValueCodec --------------------------------------------------------------

ValueCodec ValueCodec::from_name(std::string_view name, const ProtoOptions& proto) {
  if (name.starts_with("proto:")) {
    std::string_view message = name.substr(6);
    if (message.empty())
      throw Error(Errc::usage, "codec proto:NAME needs the full name of a message, e.g. proto:shop.Order");
    return ValueCodec(make_proto_codec(message, proto));
  }
  if (name == "json") return ValueCodec(Kind::json);
  if (name == "string") return ValueCodec(Kind::string);
  if (name == "int64") return ValueCodec(Kind::int64);
  if (name == "bytes") return ValueCodec(Kind::bytes);
  throw Error(Errc::usage, fmt::format("unknown codec {}: use one of {}", quoted(name), names()));
}

std::string ValueCodec::check_name(std::string_view name) {
  if (name.starts_with("proto:") && name.size() > 6) return {};
  if (name == "json" || name == "string" || name == "int64" || name == "bytes") return {};
  return fmt::format("unknown codec {}: use one of {}", quoted(name), names());
}

const char* ValueCodec::names() { return "json|string|int64|bytes|proto:NAME"; }

const char* ValueCodec::name() const {
  switch (kind_) {
    case Kind::json:
      return "json";
    case Kind::string:
      return "string";
    case Kind::int64:
      return "int64";
    case Kind::bytes:
      return "bytes";
    case Kind::proto:
      return "proto";
  }
  return "json";
}

std::string ValueCodec::encode(const json& value) const {
  switch (kind_) {
    case Kind::json:
      try {
        return value.dump();
      } catch (const json::exception& e) {
        throw_decode(fmt::format("value cannot be written as JSON: {}", e.what()));
      }
    case Kind::string:
      if (!value.is_string())
        throw_decode(
            fmt::format("value must be a JSON string for codec string, not {}", value.type_name()));
      return value.get_ref<const std::string&>();
    case Kind::int64:
      if (value.is_number_integer()) {
        if (value.is_number_unsigned() &&
            value.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
          throw_decode(fmt::format("value {} does not fit int64", value.dump()));
        std::string out;
        append_int64(out, value.get<int64_t>());
        return out;
      }
      throw_decode(fmt::format("value must be a JSON integer for codec int64, not {}",
                               value.is_number() ? value.dump() : value.type_name()));
    case Kind::bytes:
      if (!value.is_string())
        throw_decode(fmt::format("value must be a base64 JSON string for codec bytes, not {}",
                                 value.type_name()));
      return base64_decode(value.get_ref<const std::string&>());
    case Kind::proto:
      return proto_->encode_json(value.dump());
  }
  return {};
}

std::string ValueCodec::encode_text(std::string_view text) const {
  switch (kind_) {
    case Kind::json: {
      std::string out;
      out.reserve(text.size());
      if (!append_compact_json(out, text)) throw_decode(invalid_json(text));
      return out;
    }
    case Kind::string:
      return std::string(text);
    case Kind::int64: {
      auto value = parse_int64(text);
      if (!value) throw_decode(fmt::format("not a decimal int64: {}", quoted(text)));
      std::string out;
      append_int64(out, *value);
      return out;
    }
    case Kind::bytes:
      return base64_decode(text);
    case Kind::proto:
      return proto_->encode_json(text);
  }
  return {};
}

json ValueCodec::decode(std::string_view bytes) const {
  switch (kind_) {
    case Kind::json: {
      json value = json::parse(bytes, nullptr, false);
      if (value.is_discarded()) throw_decode(invalid_json(bytes));
      return value;
    }
    case Kind::string:
      if (auto bad = find_invalid_utf8(bytes))
        throw_decode(fmt::format("not valid UTF-8 (byte {})", *bad));
      return json(std::string(bytes));
    case Kind::int64: {
      auto value = parse_int64(bytes);
      if (!value) throw_decode(fmt::format("not a decimal int64: {}", quoted(bytes)));
      return json(*value);
    }
    case Kind::bytes:
      return json(base64_encode(bytes));
    case Kind::proto:
      return json::parse(proto_->decode(bytes));
  }
  return {};
}

std::optional<std::string> ValueCodec::append_decoded(std::string& out,
                                                      std::string_view bytes) const {
  switch (kind_) {
    case Kind::json:
      if (append_compact_json(out, bytes)) return std::nullopt;
      return invalid_json(bytes);
    case Kind::string:
      if (auto bad = find_invalid_utf8(bytes))
        return fmt::format("not valid UTF-8 (byte {})", *bad);
      append_json_string(out, bytes);
      return std::nullopt;
    case Kind::int64: {
      auto value = parse_int64(bytes);
      if (!value) return fmt::format("not a decimal int64: {}", quoted(bytes));
      append_int64(out, *value);
      return std::nullopt;
    }
    case Kind::bytes:
      out += '"';
      append_base64(out, bytes);
      out += '"';
      return std::nullopt;
    case Kind::proto:
      try {
        out += proto_->decode(bytes);
      } catch (const Error& e) {
        return e.message();
      }
      return std::nullopt;
  }
  return std::nullopt;
}

// ---- text helpers ------------------------------------------------------------

void append_base64(std::string& out, std::string_view bytes) {
  const auto* s = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();
  const std::size_t start = out.size();
  out.resize(start + (n + 2) / 3 * 4);
  char* d = out.data() + start;
  std::size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const uint32_t v = uint32_t(s[i]) << 16 | uint32_t(s[i + 1]) << 8 | s[i + 2];
    *d++ = base64_alphabet[v >> 18];
    *d++ = base64_alphabet[(v >> 12) & 63];
    *d++ = base64_alphabet[(v >> 6) & 63];
    *d++ = base64_alphabet[v & 63];
  }
  if (i < n) {
    uint32_t v = uint32_t(s[i]) << 16;
    if (i + 1 < n) v |= uint32_t(s[i + 1]) << 8;
    *d++ = base64_alphabet[v >> 18];
    *d++ = base64_alphabet[(v >> 12) & 63];
    *d++ = i + 1 < n ? base64_alphabet[(v >> 6) & 63] : '=';
    *d++ = '=';
  }
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  append_base64(out, bytes);
  return out;
}

std::string base64_decode(std::string_view text) {
  std::size_t length = text.size();
  std::size_t padding = 0;
  while (length > 0 && padding < 2 && text[length - 1] == '=') {
    --length;
    ++padding;
  }
  if (padding > 0 && text.size() % 4 != 0)
    throw_decode(fmt::format("invalid base64: length {} is not a multiple of 4", text.size()));
  if (length % 4 == 1)
    throw_decode(fmt::format("invalid base64: {} characters cannot be base64", length));
  std::string out;
  out.reserve(length / 4 * 3 + 2);
  uint32_t bits = 0;
  int count = 0;
  for (std::size_t i = 0; i < length; ++i) {
    const int8_t v = base64_value[static_cast<unsigned char>(text[i])];
    if (v < 0) {
      std::string shown;
      append_json_string(shown, text.substr(i, 1));
      throw_decode(fmt::format("invalid base64: character {} at offset {}", shown, i));
    }
    bits = bits << 6 | uint32_t(v);
    if (++count == 4) {
      out += char(bits >> 16);
      out += char((bits >> 8) & 0xFF);
      out += char(bits & 0xFF);
      bits = 0;
      count = 0;
    }
  }
  if (count == 2) {
    out += char(bits >> 4);
  } else if (count == 3) {
    out += char(bits >> 10);
    out += char((bits >> 2) & 0xFF);
  }
  return out;
}

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
  ErrorCatcher catcher;
  if (json::sax_parse(text.begin(), text.end(), &catcher)) return std::nullopt;
  if (catcher.error.empty()) catcher.error = "parse error";
  return std::move(catcher.error);
}

namespace {

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Scans a JSON text the way a strict RFC 8259 parser (nlohmann's) accepts it,
// copying it without the whitespace outside strings to out. One pass, no
// recursion, no allocation but out (and the nesting stack beyond 15 levels).
class JsonScanner {
 public:
  JsonScanner(std::string_view text, std::string& out)
      : s_(reinterpret_cast<const unsigned char*>(text.data())), n_(text.size()), out_(out) {}

  bool run() {
    if (n_ >= 3 && s_[0] == 0xEF && s_[1] == 0xBB && s_[2] == 0xBF) i_ = run_ = 3;
    std::string stack;  // '{' or '[' per open container
    skip_space();
    for (;;) {
      // A value is expected here.
      if (i_ >= n_) return false;
      const unsigned char c = s_[i_];
      if (c == '{' || c == '[') {
        ++i_;
        skip_space();
        if (i_ < n_ && s_[i_] == (c == '{' ? '}' : ']')) {
          ++i_;  // an empty container is a complete value
        } else {
          stack += char(c);
          if (c == '{' && !member_name()) return false;
          continue;
        }
      } else if (c == '"') {
        if (!string()) return false;
      } else if (c == '-' || is_digit(char(c))) {
        if (!number()) return false;
      } else if (!literal()) {
        return false;
      }
      // After a value: the end, or ',' / the closer of the open container.
      for (;;) {
        skip_space();
        if (stack.empty()) {
          if (i_ != n_) return false;
          out_.append(reinterpret_cast<const char*>(s_) + run_, n_ - run_);
          return true;
        }
        if (i_ >= n_) return false;
        const char open = stack.back();
        if (s_[i_] == ',') {
          ++i_;
          skip_space();
          if (open == '{' && !member_name()) return false;
          break;  // the next value
        }
        if (s_[i_] != (open == '{' ? '}' : ']')) return false;
        ++i_;
        stack.pop_back();
      }
    }
  }

 private:
  // Skips whitespace, flushing the bytes before it to out.
  void skip_space() {
    if (i_ >= n_ || !is_json_space(char(s_[i_]))) return;
    out_.append(reinterpret_cast<const char*>(s_) + run_, i_ - run_);
    while (i_ < n_ && is_json_space(char(s_[i_]))) ++i_;
    run_ = i_;
  }

  // "name" ws ':' ws, at the start of an object member.
  bool member_name() {
    if (i_ >= n_ || s_[i_] != '"' || !string()) return false;
    skip_space();
    if (i_ >= n_ || s_[i_] != ':') return false;
    ++i_;
    skip_space();
    return true;
  }

  bool string() {
    ++i_;  // the opening quote
    for (;;) {
      if (i_ >= n_) return false;
      const unsigned char c = s_[i_];
      if (c == '"') {
        ++i_;
        return true;
      }
      if (c < 0x20) return false;
      if (c == '\\') {
        if (!escape()) return false;
      } else if (c < 0x80) {
        ++i_;
      } else {
        const std::size_t len = utf8_sequence_length(s_, i_, n_);
        if (len == 0) return false;
        i_ += len;
      }
    }
  }

  // A backslash escape; \u escapes must pair surrogates correctly.
  bool escape() {
    if (i_ + 1 >= n_) return false;
    const char e = char(s_[i_ + 1]);
    if (e != 'u') {
      i_ += 2;
      return e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' ||
             e == 't';
    }
    const int unit = hex4(i_ + 2);
    if (unit < 0) return false;
    i_ += 6;
    if (unit >= 0xDC00 && unit <= 0xDFFF) return false;  // a lone low surrogate
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      if (i_ + 1 >= n_ || s_[i_] != '\\' || s_[i_ + 1] != 'u') return false;
      const int low = hex4(i_ + 2);
      if (low < 0xDC00 || low > 0xDFFF) return false;
      i_ += 6;
    }
    return true;
  }

  int hex4(std::size_t at) const {
    if (at + 4 > n_) return -1;
    int value = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const int h = hex_value(char(s_[at + k]));
      if (h < 0) return -1;
      value = value << 4 | h;
    }
    return value;
  }

  bool digits() {
    const std::size_t start = i_;
    while (i_ < n_ && is_digit(char(s_[i_]))) ++i_;
    return i_ > start;
  }

  bool number() {
    if (s_[i_] == '-') ++i_;
    if (i_ >= n_) return false;
    if (s_[i_] == '0') {
      ++i_;
    } else if (!digits()) {
      return false;
    }
    if (i_ < n_ && s_[i_] == '.') {
      ++i_;
      if (!digits()) return false;
    }
    if (i_ < n_ && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < n_ && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (!digits()) return false;
    }
    return true;
  }

  bool literal() {
    const std::string_view rest(reinterpret_cast<const char*>(s_) + i_, n_ - i_);
    for (std::string_view word : {"true", "false", "null"}) {
      if (rest.starts_with(word)) {
        i_ += word.size();
        return true;
      }
    }
    return false;
  }

  const unsigned char* s_;
  std::size_t n_;
  std::string& out_;
  std::size_t i_ = 0;
  std::size_t run_ = 0;  // start of the bytes not yet copied to out_
};

}  // namespace

bool append_compact_json(std::string& out, std::string_view text) {
  const std::size_t mark = out.size();
  if (JsonScanner(text, out).run()) return true;
  out.resize(mark);
  return false;
}

}  // namespace goka::cli
