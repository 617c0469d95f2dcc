#include "cli/topic_spec.hpp"

#include <fmt/format.h>

#include <charconv>

#include "goka/error.hpp"

namespace goka::cli {

std::pair<std::string, int32_t> parse_topic_spec(const std::string& spec, const std::string& what) {
  auto colon = spec.rfind(':');
  int32_t partitions = 0;
  if (colon != std::string::npos && colon > 0) {
    const char* first = spec.data() + colon + 1;
    const char* last = spec.data() + spec.size();
    auto [end, ec] = std::from_chars(first, last, partitions);
    if (first != last && ec == std::errc() && end == last && partitions >= 1) {
      return {spec.substr(0, colon), partitions};
    }
  }
  throw Error(Errc::usage, fmt::format("{} must be NAME:PARTITIONS (PARTITIONS >= 1), not \"{}\"",
                                       what, spec));
}

}  // namespace goka::cli
