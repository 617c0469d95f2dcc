#include "goka/codec.hpp"

#include <charconv>
#include <nlohmann/json.hpp>

#include "goka/error.hpp"

namespace goka {

std::string Int64Codec::encode(const int64_t& value) const { return std::to_string(value); }

int64_t Int64Codec::decode(std::string_view bytes) const {
  int64_t value = 0;
  const char* end = bytes.data() + bytes.size();
  auto [ptr, ec] = std::from_chars(bytes.data(), end, value);
  if (bytes.empty() || ec != std::errc() || ptr != end) {
    std::string shown(bytes.substr(0, 40));
    throw Error(Errc::decode, "int64 codec: not a decimal 64-bit integer: \"" + shown + "\"");
  }
  return value;
}

namespace {

std::string compact_json(std::string_view text, const char* what) {
  try {
    return nlohmann::json::parse(text).dump(-1, ' ', false,
                                            nlohmann::json::error_handler_t::strict);
  } catch (const nlohmann::json::exception& e) {
    throw Error(Errc::decode, std::string("json codec: ") + what + ": " + e.what());
  }
}

}  // namespace

std::string JsonCodec::encode(const std::string& json_text) const {
  return compact_json(json_text, "cannot encode");
}

std::string JsonCodec::decode(std::string_view bytes) const {
  return compact_json(bytes, "cannot decode");
}

}  // namespace goka
