#include "cli/offset_spec.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cstdint>
#include <optional>

#include "goka/error.hpp"

namespace goka::cli {
namespace {

constexpr const char* forms = "beginning, end, N, -N or s@MS";

// Decimal digits only (no sign), fitting int64.
std::optional<int64_t> parse_count(std::string_view text) {
  if (text.empty() || text.front() < '0' || text.front() > '9') return std::nullopt;
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value, 10);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

[[noreturn]] void bad(std::string_view text, std::string_view why) {
  throw Error(Errc::usage, fmt::format("invalid offset \"{}\": {}", text, why));
}

}  // namespace

StartOffset parse_offset_spec(std::string_view text) {
  if (text == "beginning") return StartOffset::beginning();
  if (text == "end") return StartOffset::end();
  if (text == "stored")
    bad(text,
        "stored offsets need a consumer group, which dump does not use; use " + std::string(forms));
  if (text.starts_with("e@")) bad(text, "stop timestamps (e@MS) are not supported");
  if (text.starts_with("s@")) {
    auto ms = parse_count(text.substr(2));
    if (!ms) bad(text, "s@ needs a timestamp in ms since the epoch, e.g. s@1732233600000");
    return StartOffset::at_time(*ms);
  }
  if (text.starts_with('-')) {
    auto count = parse_count(text.substr(1));
    if (!count) bad(text, fmt::format("expected {}", forms));
    return StartOffset::tail(*count);
  }
  auto offset = parse_count(text);
  if (!offset) bad(text, fmt::format("expected {}", forms));
  return StartOffset::at(*offset);
}

}  // namespace goka::cli
