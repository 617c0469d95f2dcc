#pragma once
// JSON text as Goka's json codec treats it: the one JSON policy of libgoka and
// goka-cli. A JSON value's bytes are kept as written -- key order, number
// spellings ("1e2", "1.50"), escapes (Go's "\u003c") -- and only insignificant
// whitespace may be dropped. Values are checked, never re-serialised, so a
// value written by Go Goka passes through unchanged.
//
// Strictness is nlohmann's parser's (RFC 8259): UTF-8 strings, paired
// surrogate escapes, no comments, no NaN; a leading UTF-8 BOM is accepted and
// dropped. All functions are stateless, thread-safe and never throw for bad
// input.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace goka {

// Checks that text is one valid JSON value and appends it to out with the
// whitespace outside strings (and a leading BOM) removed; everything else is
// copied unchanged. Returns false and leaves out unchanged when text is not
// valid JSON. One pass, no DOM.
bool append_compact_json(std::string& out, std::string_view text);

// Why text is not one valid JSON value ("parse error at line 1, column 3:
// ...", or "a NUL byte at offset N"), or std::nullopt when it is.
std::optional<std::string> json_error(std::string_view text);

// Appends text as a quoted JSON string: '"' and '\\' escaped, control
// characters as \n, \t, ... or \u00XX, all else (UTF-8 included) as it is.
// Bytes that are not valid UTF-8 become U+FFFD; returns false when such a
// replacement was needed.
bool append_json_string(std::string& out, std::string_view text);

// The offset of the first byte that is not part of well-formed UTF-8 (overlong
// forms, surrogates and code points above U+10FFFF are not), or std::nullopt
// when text is valid UTF-8.
std::optional<std::size_t> find_invalid_utf8(std::string_view text) noexcept;
inline bool is_valid_utf8(std::string_view text) noexcept {
  return !find_invalid_utf8(text).has_value();
}

}  // namespace goka
