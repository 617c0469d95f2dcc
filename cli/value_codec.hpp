#pragma once
// The value codecs of goka-cli (`--codec json|string|int64|bytes`): how a
// value in a JSON document (the record envelope, a table row) maps to the
// bytes stored in Kafka, byte-compatible with Go Goka's codecs:
//
//   json    any JSON value      <-> its compact UTF-8 text
//   string  a JSON string       <-> the raw bytes of the string (UTF-8)
//   int64   a JSON integer      <-> decimal ASCII text, "42" or "-7"
//   bytes   base64 text (JSON)  <-> the raw bytes
//
// Plus the text helpers the codecs are made of: base64 (RFC 4648, standard
// alphabet, padded), UTF-8 validation and JSON string escaping. Stateless and
// thread-safe.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "cli/proto_options.hpp"

namespace goka::cli {

class ValueCodec {
 public:
  enum class Kind { json, string, int64, bytes, proto };

  explicit ValueCodec(Kind kind = Kind::json) : kind_(kind) {}
  // The codec of a protobuf message type: proto3's canonical JSON mapping.
  explicit ValueCodec(std::shared_ptr<const ProtoCodec> proto)
      : kind_(Kind::proto), proto_(std::move(proto)) {}
  // "json", "string", "int64", "bytes" or "proto:<full.MessageName>" (its
  // schema from proto, see cli/proto_options.hpp). Throws goka::Error:
  // usage naming the text and the valid names; for proto, what
  // make_proto_codec() throws.
  static ValueCodec from_name(std::string_view name, const ProtoOptions& proto = {});
  // The names from_name() accepts, "json|string|int64|bytes|proto:NAME".
  static const char* names();
  // Whether from_name() knows name, without loading a proto schema; the
  // message why not, or "" (a CLI11 validator's answer).
  static std::string check_name(std::string_view name);

  Kind kind() const { return kind_; }
  const char* name() const;

  // A JSON value to the bytes stored in Kafka. Throws goka::Error(Errc::decode)
  // when value has the wrong type for the codec (a number for string, a
  // fraction for int64, a string that is not base64 for bytes, ...).
  std::string encode(const nlohmann::json& value) const;

  // Command-line and `--input kv` text to bytes:
  //   json   the text must be one valid JSON value; returned compacted
  //          (whitespace outside strings removed, everything else unchanged);
  //   string the text itself;
  //   int64  an optional '-' and decimal digits that fit int64, normalised
  //          ("007" -> "7");
  //   bytes  base64 text, decoded.
  // Throws goka::Error(Errc::decode) with what is wrong.
  std::string encode_text(std::string_view text) const;

  // Bytes from Kafka to a JSON value. Throws goka::Error(Errc::decode) when
  // they do not decode (invalid JSON, invalid UTF-8 for string, not an int64).
  nlohmann::json decode(std::string_view bytes) const;

  // Appends the decoded value of bytes as compact JSON text to out and returns
  // std::nullopt, or, when the bytes do not decode, leaves out unchanged and
  // returns why. Never throws for bad bytes; the fast path of `dump`.
  std::optional<std::string> append_decoded(std::string& out, std::string_view bytes) const;

 private:
  Kind kind_;
  std::shared_ptr<const ProtoCodec> proto_;  // Kind::proto only
};

// ---- text helpers ------------------------------------------------------------

// RFC 4648 base64 with the standard alphabet and '=' padding.
std::string base64_encode(std::string_view bytes);
void append_base64(std::string& out, std::string_view bytes);
// Decodes padded base64 (unpadded input whose length allows it is accepted
// too). Throws goka::Error(Errc::decode) naming the first bad character.
std::string base64_decode(std::string_view text);

// The offset of the first byte that is not part of well-formed UTF-8
// (overlong forms, surrogates and code points above U+10FFFF are not), or
// std::nullopt when text is valid UTF-8.
std::optional<std::size_t> find_invalid_utf8(std::string_view text) noexcept;
inline bool is_valid_utf8(std::string_view text) noexcept {
  return !find_invalid_utf8(text).has_value();
}

// Appends text as a quoted JSON string: '"' and '\\' escaped, control
// characters as \n, \t, ... or \u00XX. Bytes that are not valid UTF-8 become
// U+FFFD. Returns false when such a replacement was needed.
bool append_json_string(std::string& out, std::string_view text);

// Why text is not one valid JSON value (nlohmann's message without its
// "[json.exception...]" prefix), or std::nullopt when it is. No exceptions.
std::optional<std::string> json_error(std::string_view text);

// Checks that text is one valid JSON value (RFC 8259, strict as nlohmann's
// parser: UTF-8 strings, paired surrogate escapes, a leading BOM allowed) and
// appends it with the whitespace outside strings (and the BOM) removed. All
// else is copied unchanged: number spellings and escapes stay as they are.
// Returns false and leaves out unchanged when text is not valid JSON. One
// pass, no DOM: the fast path of the json codec.
bool append_compact_json(std::string& out, std::string_view text);

}  // namespace goka::cli
