#pragma once
// The record envelope of goka-cli (CLI.md): one JSON object per line, what
// `dump` writes and `emit` reads.
//
//   {"topic":"clicks","partition":3,"offset":17,"timestamp":1732233600000,
//    "key":"user-7","value":{"n":1},"headers":{"trace":"abc"}}
//
// Printing:
// - key is a JSON string, null for a null key. A key that is not valid UTF-8
//   is printed with U+FFFD replacements plus "key_b64" holding its exact bytes.
// - value is decoded with the codec; a tombstone is null. A value that does
//   not decode is printed as "value_b64" (its exact bytes) and "value_error"
//   (why) instead of "value".
// - headers keep their order; a repeated name is printed repeatedly. Header
//   bytes that are not UTF-8 are printed with U+FFFD replacements.
//
// Parsing (emit) needs "key" (or "key_b64") and "value" (or "value_b64", raw
// bytes that bypass the codec); "timestamp", "partition" and "headers" are
// used when present and not null; every other field is ignored. With the json
// codec a value's text is kept as written, but for whitespace.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cli/value_codec.hpp"
#include "goka/json_text.hpp"  // the envelope is written with its helpers
#include "goka/record.hpp"

namespace goka::cli {

// Appends the envelope of record and a '\n' to out. Never throws for record
// contents: an undecodable value becomes value_b64/value_error.
void append_envelope(std::string& out, const Record& record, const ValueCodec& codec);
// The envelope of record, without the '\n'.
std::string format_envelope(const Record& record, const ValueCodec& codec);

// Appends a table row {"key":K,"value":V} and a '\n' to out; the value is
// decoded with the codec (value_b64/value_error when it does not decode, null
// when absent). Invalid UTF-8 in the key is handled as in the envelope.
void append_table_row(std::string& out, std::optional<std::string_view> key,
                      std::optional<std::string_view> value, const ValueCodec& codec);

// One parsed envelope line.
struct Envelope {
  std::optional<std::string> key;    // null key when std::nullopt
  std::optional<std::string> value;  // bytes encoded with the codec; nullopt: tombstone
  std::optional<int64_t> timestamp;  // ms since the epoch, when given
  std::optional<int32_t> partition;  // when given
  Headers headers;                   // in their order, repeated names kept
};

// Parses one line (surrounding whitespace allowed). Throws goka::Error with
// Errc::usage, message "invalid record envelope" and a detail naming what is
// wrong ("invalid JSON: ...", "missing \"value\"", "\"partition\" must be an
// integer from 0 to 2147483647", "value: ..." for a codec error); the caller
// adds the line number.
Envelope parse_envelope(std::string_view line, const ValueCodec& codec);

}  // namespace goka::cli
