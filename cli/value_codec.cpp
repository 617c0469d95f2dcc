#include "cli/value_codec.hpp"

#include <fmt/format.h>

#include <limits>
#include <nlohmann/json.hpp>

#include "cli/base64.hpp"
#include "cli/proto_options.hpp"
#include "goka/codec.hpp"
#include "goka/error.hpp"
#include "goka/json_text.hpp"

namespace goka::cli {
namespace {

using nlohmann::json;

// Indexed by ValueCodec::Kind: the one list of codec names.
// proto is "proto:" and a message name (shown as "proto:NAME").
constexpr std::string_view codec_names[] = {"json", "string", "int64", "bytes", "proto:NAME"};
constexpr std::string_view proto_prefix = "proto:";

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

// "invalid JSON: <why>" for text that is not valid JSON.
std::string invalid_json(std::string_view text) {
  auto error = json_error(text);
  return fmt::format("invalid JSON: {}", error ? *error : "parse error");
}

std::string not_int64(std::string_view text) {
  return fmt::format("not a decimal int64: {}", quoted(text));
}

std::string not_utf8(std::size_t at) { return fmt::format("not valid UTF-8 (byte {})", at); }

}  // namespace

struct ValueCodec::Proto {
  std::string name;  // "proto:NAME"
  ProtoCodec codec;
};

std::string ValueCodec::check_name(std::string_view name) {
  if (name.starts_with(proto_prefix)) {
    if (name.size() > proto_prefix.size()) return {};
    return "codec proto:NAME needs the full name of a protobuf message, e.g. proto:shop.Order";
  }
  for (std::size_t i = 0; i < std::size(codec_names) - 1; ++i)
    if (name == codec_names[i]) return {};
  return fmt::format("unknown codec {}: use one of {}", quoted(name), names());
}

ValueCodec ValueCodec::from_name(std::string_view name) { return from_name(name, ProtoOptions{}); }

ValueCodec ValueCodec::from_name(std::string_view name, const ProtoOptions& proto) {
  if (auto why = check_name(name); !why.empty()) throw Error(Errc::usage, why);
  if (name.starts_with(proto_prefix)) {
    auto codec = make_proto_codec(name.substr(proto_prefix.size()), proto);
    ValueCodec out(Kind::proto);
    out.proto_ = std::make_shared<const Proto>(Proto{std::string(name), *codec});
    return out;
  }
  for (std::size_t i = 0; i < std::size(codec_names); ++i)
    if (name == codec_names[i]) return ValueCodec(static_cast<Kind>(i));
  return ValueCodec();
}

std::span<const std::string_view> ValueCodec::all_names() { return codec_names; }

const std::string& ValueCodec::names() {
  static const std::string joined = [] {
    std::string out;
    for (const auto name : codec_names) out += (out.empty() ? "" : "|") + std::string(name);
    return out;
  }();
  return joined;
}

const char* ValueCodec::name() const {
  if (proto_) return proto_->name.c_str();
  return codec_names[static_cast<std::size_t>(kind_)].data();
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
        return Int64Codec().encode(value.get<int64_t>());
      }
      throw_decode(fmt::format("value must be a JSON integer for codec int64, not {}",
                               value.is_number() ? value.dump() : value.type_name()));
    case Kind::bytes:
      if (!value.is_string())
        throw_decode(fmt::format("value must be a base64 JSON string for codec bytes, not {}",
                                 value.type_name()));
      return base64_decode(value.get_ref<const std::string&>());
    case Kind::proto:
      return proto_->codec.encode_json(value.dump());
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
      return std::string(text);  // StringCodec: the bytes as they are
    case Kind::int64: {
      auto value = Int64Codec::parse(text);
      if (!value) throw_decode(not_int64(text));
      return Int64Codec().encode(*value);
    }
    case Kind::bytes:
      return base64_decode(text);
    case Kind::proto:
      return proto_->codec.encode_json(text);
  }
  return {};
}

std::optional<std::string> ValueCodec::encode_value_text(std::string_view text) const {
  if (kind_ == Kind::proto) {
    std::string compact;
    if (append_compact_json(compact, text) && compact == "null") return std::nullopt;
  }
  std::string bytes = encode_text(text);
  if (kind_ == Kind::json && bytes == "null") return std::nullopt;
  return bytes;
}

json ValueCodec::decode(std::string_view bytes) const {
  switch (kind_) {
    case Kind::json: {
      // nlohmann stops at a NUL byte; the one JSON policy rejects it.
      json value = bytes.find('\0') == std::string_view::npos ? json::parse(bytes, nullptr, false)
                                                               : json(json::value_t::discarded);
      if (value.is_discarded()) throw_decode(invalid_json(bytes));
      return value;
    }
    case Kind::string:
      if (auto bad = find_invalid_utf8(bytes)) throw_decode(not_utf8(*bad));
      return json(std::string(bytes));
    case Kind::int64: {
      auto value = Int64Codec::parse(bytes);
      if (!value) throw_decode(not_int64(bytes));
      return json(*value);
    }
    case Kind::bytes:
      return json(base64_encode(bytes));
    case Kind::proto:
      return json::parse(proto_->codec.decode(bytes));
  }
  return {};
}

std::optional<std::string> ValueCodec::check(std::string_view bytes) const {
  switch (kind_) {
    case Kind::bytes:
      return std::nullopt;
    case Kind::string:
      if (auto bad = find_invalid_utf8(bytes)) return not_utf8(*bad);
      return std::nullopt;
    case Kind::int64:
      if (!Int64Codec::parse(bytes)) return not_int64(bytes);
      return std::nullopt;
    case Kind::json:
    case Kind::proto:
      break;
  }
  thread_local std::string scratch;  // one per thread, reused
  scratch.clear();
  return append_decoded(scratch, bytes);
}

std::optional<std::string> ValueCodec::append_decoded(std::string& out,
                                                      std::string_view bytes) const {
  switch (kind_) {
    case Kind::json:
      if (append_compact_json(out, bytes)) return std::nullopt;
      return invalid_json(bytes);
    case Kind::string:
      if (auto bad = find_invalid_utf8(bytes)) return not_utf8(*bad);
      append_json_string(out, bytes);
      return std::nullopt;
    case Kind::int64: {
      auto value = Int64Codec::parse(bytes);
      if (!value) return not_int64(bytes);
      Int64Codec::append(out, *value);
      return std::nullopt;
    }
    case Kind::bytes:
      out += '"';
      append_base64(out, bytes);
      out += '"';
      return std::nullopt;
    case Kind::proto:
      try {
        proto_->codec.decode_to(bytes, out);
      } catch (const Error& e) {
        return e.message();
      }
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace goka::cli
