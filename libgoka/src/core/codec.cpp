#include "goka/codec.hpp"

#include <array>
#include <charconv>

#include "goka/error.hpp"
#include "goka/json_text.hpp"

namespace goka {

std::optional<int64_t> Int64Codec::parse(std::string_view bytes) noexcept {
  int64_t value = 0;
  const char* end = bytes.data() + bytes.size();
  auto [ptr, ec] = std::from_chars(bytes.data(), end, value, 10);
  if (bytes.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

void Int64Codec::append(std::string& out, int64_t value) {
  std::array<char, 24> buf;
  auto [ptr, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), value);
  (void)ec;  // 24 bytes hold every int64
  out.append(buf.data(), ptr);
}

std::string Int64Codec::encode(const int64_t& value) const {
  std::string out;
  append(out, value);
  return out;
}

int64_t Int64Codec::decode(std::string_view bytes) const {
  if (auto value = parse(bytes)) return *value;
  std::string shown(bytes.substr(0, 40));
  throw Error(Errc::decode, "int64 codec: not a decimal 64-bit integer: \"" + shown + "\"");
}

namespace {

std::string compact_json(std::string_view text, const char* what) {
  std::string out;
  out.reserve(text.size());
  if (append_compact_json(out, text)) return out;
  auto why = json_error(text);
  throw Error(Errc::decode, std::string("json codec: ") + what + ": invalid JSON: " +
                                (why ? *why : "parse error"));
}

}  // namespace

std::string JsonCodec::encode(const std::string& json_text) const {
  return compact_json(json_text, "cannot encode");
}

std::string JsonCodec::decode(std::string_view bytes) const {
  return compact_json(bytes, "cannot decode");
}

}  // namespace goka
