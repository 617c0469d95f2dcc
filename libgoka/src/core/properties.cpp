#include "goka/properties.hpp"

#include <fmt/format.h>

#include <fstream>

#include "goka/error.hpp"

namespace goka {
namespace {

std::string_view trim(std::string_view s) {
  const char* space = " \t\r\n";
  auto first = s.find_first_not_of(space);
  if (first == std::string_view::npos) return {};
  auto last = s.find_last_not_of(space);
  return s.substr(first, last - first + 1);
}

}  // namespace

void set_property(Properties& props, std::string_view key_equals_value) {
  auto eq = key_equals_value.find('=');
  std::string_view key = eq == std::string_view::npos ? "" : trim(key_equals_value.substr(0, eq));
  if (key.empty()) {
    throw Error(Errc::config,
                fmt::format("property must be key=value: \"{}\"", key_equals_value));
  }
  props[std::string(key)] = std::string(trim(key_equals_value.substr(eq + 1)));
}

Properties read_properties_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) {
    throw Error(Errc::not_found, "cannot read properties file", {.detail = path.string()});
  }
  Properties props;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::string_view text = trim(line);
    if (text.empty() || text.front() == '#') continue;
    try {
      set_property(props, text);
    } catch (const Error& e) {
      throw Error(Errc::config, e.message(),
                  {.detail = fmt::format("{} line {}", path.string(), number)});
    }
  }
  return props;
}

}  // namespace goka
