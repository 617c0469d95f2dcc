#pragma once
// The value codecs of goka-cli (`--codec`): how a value in a JSON document
// (the record envelope, a table row, a handler request) maps to the bytes
// stored in Kafka. Built on libgoka's codecs (goka/codec.hpp) and its one JSON
// policy (goka/json_text.hpp), so the bytes are Go Goka's:
//
//   json    any JSON value      <-> its UTF-8 text, kept as written (only
//                                   whitespace outside strings dropped)
//   string  a JSON string       <-> the raw bytes of the string (UTF-8)
//   int64   a JSON integer      <-> decimal ASCII text, "42" or "-7"
//   bytes   base64 text (JSON)  <-> the raw bytes
//   proto:NAME  proto3's canonical JSON <-> protobuf message NAME's wire bytes
//               (libgoka's ProtoCodec; schema from cli/proto_options.hpp)
//
// The names are listed once, in all_names(); the options that choose a codec
// are made in cli/codec_option.hpp. A new kind is added here: its name in
// the list, from_name() and the four conversions. Stateless, cheap to copy and
// thread-safe.

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace goka::cli {

struct ProtoOptions;

class ValueCodec {
 public:
  enum class Kind { json, string, int64, bytes, proto };

  explicit ValueCodec(Kind kind = Kind::json) : kind_(kind) {}
  // A codec by its name, one of all_names(), or "proto:<full.MessageName>"
  // with its schema from proto. Throws goka::Error(Errc::usage) naming the
  // text and the valid names otherwise; for proto, what make_proto_codec()
  // (cli/proto_options.hpp) throws.
  static ValueCodec from_name(std::string_view name);
  static ValueCodec from_name(std::string_view name, const ProtoOptions& proto);
  // Why from_name() would reject name, or "" when it takes it; a proto name
  // is checked without its schema.
  static std::string check_name(std::string_view name);
  // The names from_name() accepts, in the order shown to users: the one list
  // of codec names (--help, completions and error messages are made of it).
  static std::span<const std::string_view> all_names();
  // all_names() joined with '|': "json|string|int64|bytes".
  static const std::string& names();

  Kind kind() const { return kind_; }
  // Whether decoding costs much more than copying the bytes (proto), so that
  // `dump` and `view` decode on several threads.
  bool costly() const { return kind_ == Kind::proto; }
  const char* name() const;

  // A JSON value (one made or changed by goka-cli, e.g. a run-group state) to
  // the bytes stored in Kafka. Throws goka::Error(Errc::decode) when value has
  // the wrong type for the codec (a number for string, a fraction for int64, a
  // string that is not base64 for bytes, ...).
  std::string encode(const nlohmann::json& value) const;

  // Text to bytes: command-line and `--input kv` values, and for json the
  // text of a value as written in an envelope (so its bytes are kept):
  //   json   the text must be one valid JSON value; returned compacted
  //          (whitespace outside strings removed, everything else unchanged);
  //   string the text itself;
  //   int64  an optional '-' and decimal digits that fit int64, normalised
  //          ("007" -> "7");
  //   bytes  base64 text, decoded.
  // Throws goka::Error(Errc::decode) with what is wrong.
  std::string encode_text(std::string_view text) const;

  // encode_text() for a message's value given as text (`emit TOPIC KEY VALUE`,
  // `--input kv`): for json, the text `null` (whitespace around allowed) is a
  // tombstone, std::nullopt, as an envelope's "value":null is and as Goka's
  // emitter sends a nil value. The other codecs never give std::nullopt.
  std::optional<std::string> encode_value_text(std::string_view text) const;

  // Bytes from Kafka to a JSON value, to inspect or compute with. Throws
  // goka::Error(Errc::decode) when they do not decode (invalid JSON, invalid
  // UTF-8 for string, not an int64).
  nlohmann::json decode(std::string_view bytes) const;

  // Appends the decoded value of bytes as JSON text to out and returns
  // std::nullopt, or, when the bytes do not decode, leaves out unchanged and
  // returns why. A json value is appended as written (compacted). Never
  // throws for bad bytes; the fast path of `dump` and `view`.
  std::optional<std::string> append_decoded(std::string& out, std::string_view bytes) const;
  // Why bytes do not decode, as append_decoded says, or std::nullopt. Builds
  // nothing where the codec checks in place (bytes, string, int64).
  std::optional<std::string> check(std::string_view bytes) const;

 private:
  struct Proto;  // the protobuf codec and the name "proto:NAME"
  Kind kind_;
  std::shared_ptr<const Proto> proto_;  // Kind::proto only
};

}  // namespace goka::cli
