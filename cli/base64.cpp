#include "cli/base64.hpp"

#include <fmt/format.h>

#include <array>
#include <cstdint>

#include "goka/error.hpp"
#include "goka/json_text.hpp"

namespace goka::cli {
namespace {

[[noreturn]] void throw_decode(std::string message) {
  throw Error(Errc::decode, std::move(message));
}

constexpr char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> base64_values() {
  std::array<int8_t, 256> values{};
  for (auto& v : values) v = -1;
  for (int i = 0; i < 64; ++i) values[static_cast<unsigned char>(base64_alphabet[i])] = int8_t(i);
  return values;
}
constexpr auto base64_value = base64_values();

}  // namespace

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

}  // namespace goka::cli
