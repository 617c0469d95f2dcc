#pragma once
// Internal helpers shared by the storage implementations.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "goka/error.hpp"

namespace goka::storage {

// The offset as Go Goka stores it: decimal ASCII, "-" for negatives.
std::string format_offset(int64_t offset);

// Parses stored offset text as Go's strconv.ParseInt(text, 10, 64) does: an
// optional sign and decimal digits. std::nullopt when text is not that.
std::optional<int64_t> parse_offset(std::string_view text) noexcept;

// The offset stored as text (std::nullopt: none stored). Throws
// Errc::decode, with context and the text, when it is not an offset.
std::optional<int64_t> decode_offset(const std::optional<std::string>& text,
                                     const ErrorContext& context);

// The smallest key greater than every key starting with prefix, or
// std::nullopt when there is none (empty prefix, or only 0xff bytes).
std::optional<std::string> prefix_limit(std::string_view prefix);

// Throws Errc::usage when key is the reserved kOffsetKey.
void check_writable_key(std::string_view key, const ErrorContext& context = {});

// The Errc::usage error of a call on a closed storage.
Error closed_error(const ErrorContext& context);

}  // namespace goka::storage
