#pragma once
// UTF-8 well-formedness, byte by byte (Unicode's table 3-7): what the JSON
// text helpers of json_text.hpp are made of.

#include <cstddef>

namespace goka::detail {

// The length of the well-formed UTF-8 sequence at s[i], or 0 when s[i] does
// not start one (overlong forms, surrogates, code points above U+10FFFF and
// truncated sequences are not well-formed). REQUIRES: i < size.
inline std::size_t utf8_sequence_length(const unsigned char* s, std::size_t i, std::size_t size) {
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

}  // namespace goka::detail
