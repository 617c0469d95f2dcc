#include <cstddef>
#include <string>

#include "core/utf8.hpp"
#include "goka/json_text.hpp"

namespace goka {
namespace {

using detail::utf8_sequence_length;

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

}  // namespace goka
