#pragma once
// Client configuration: librdkafka properties passed through unchanged.

#include <filesystem>
#include <map>
#include <string>
#include <string_view>

namespace goka {

// librdkafka property names to values ("bootstrap.servers", "security.protocol",
// ...). Every property librdkafka knows can be set; unknown ones are rejected
// with Errc::config when a client is created.
using Properties = std::map<std::string, std::string>;

// Parses "key=value" into props. Throws Errc::config without '=' or with an
// empty key.
void set_property(Properties& props, std::string_view key_equals_value);

// Reads a properties file: one key=value per line, '#' comments, blank lines
// ignored, whitespace around key and value trimmed. Throws Errc::not_found for
// a missing file and Errc::config (with the line number) for a bad line.
Properties read_properties_file(const std::filesystem::path& path);

}  // namespace goka
