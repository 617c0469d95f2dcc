#include "cli/envelope.hpp"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>

#include "cli/base64.hpp"
#include "goka/error.hpp"

namespace goka::cli {
namespace {

using nlohmann::json;

void append_integer(std::string& out, int64_t value) {
  std::array<char, 24> buf;
  auto [ptr, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), value);
  (void)ec;
  out.append(buf.data(), ptr);
}

std::optional<std::string_view> view(const std::optional<std::string>& bytes) {
  if (!bytes) return std::nullopt;
  return std::string_view(*bytes);
}

// Appends "key":K (and ,"key_b64":"..." when K is not valid UTF-8).
void append_key(std::string& out, std::optional<std::string_view> key) {
  out += "\"key\":";
  if (!key) {
    out += "null";
    return;
  }
  if (!append_json_string(out, *key)) {
    out += ",\"key_b64\":\"";
    append_base64(out, *key);
    out += '"';
  }
}

// Appends "value":V, or "value_b64":"...","value_error":"..." when the bytes do
// not decode with codec.
void append_value(std::string& out, std::optional<std::string_view> value,
                  const ValueCodec& codec) {
  if (!value) {
    out += "\"value\":null";
    return;
  }
  out += "\"value\":";
  const std::size_t mark = out.size();
  auto error = codec.append_decoded(out, *value);
  if (!error) return;
  out.resize(mark - 8);  // drop "value":
  out += "\"value_b64\":\"";
  append_base64(out, *value);
  out += "\",\"value_error\":";
  append_json_string(out, *error);
}

[[noreturn]] void invalid(std::string detail) {
  ErrorContext context;
  context.detail = std::move(detail);
  throw Error(Errc::usage, "invalid record envelope", std::move(context));
}

const json* find_field(const json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string base64_field(const json& field, const char* name) {
  if (!field.is_string()) invalid(fmt::format("\"{}\" must be a base64 string", name));
  try {
    return base64_decode(field.get_ref<const std::string&>());
  } catch (const Error& e) {
    invalid(fmt::format("\"{}\": {}", name, e.message()));
  }
}

// Collects the headers object of the top-level envelope in document order,
// which a JSON object (nlohmann's, a map) would not keep for repeated names.
struct HeaderCollector {
  Headers headers;
  std::string top_key;
  std::string name;
  bool in_headers = false;

  bool operator()(int depth, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::key:
        if (depth == 1) {
          top_key = parsed.get_ref<const std::string&>();
        } else if (depth == 2 && in_headers) {
          name = parsed.get_ref<const std::string&>();
        }
        break;
      case json::parse_event_t::object_start:
        if (depth == 1 && top_key == "headers") {
          in_headers = true;
          headers.clear();
        }
        break;
      case json::parse_event_t::object_end:
        if (depth == 1) in_headers = false;
        break;
      case json::parse_event_t::value:
        if (depth == 2 && in_headers && parsed.is_string())
          headers.emplace_back(std::move(name), parsed.get_ref<const std::string&>());
        break;
      default:
        break;
    }
    return true;
  }
};

// The end of the JSON string starting at text[i] (a '"'): past its closing quote.
std::size_t skip_string(std::string_view text, std::size_t i) {
  for (++i; i < text.size() && text[i] != '"'; ++i) {
    if (text[i] == '\\') ++i;
  }
  return i + 1;
}

std::size_t skip_space(std::string_view text, std::size_t i) {
  while (i < text.size() &&
         (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) {
    ++i;
  }
  return i;
}

// The end of the JSON value starting at text[i].
std::size_t skip_value(std::string_view text, std::size_t i) {
  if (text[i] == '"') return skip_string(text, i);
  if (text[i] != '{' && text[i] != '[') {
    while (i < text.size() && text[i] != ',' && text[i] != '}' && text[i] != ']' &&
           text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r') {
      ++i;
    }
    return i;
  }
  int depth = 0;
  for (; i < text.size(); ++i) {
    if (text[i] == '"') {
      i = skip_string(text, i) - 1;
    } else if (text[i] == '{' || text[i] == '[') {
      ++depth;
    } else if ((text[i] == '}' || text[i] == ']') && --depth == 0) {
      return i + 1;
    }
  }
  return i;
}

// Whether the member name written at text (a JSON string with its quotes) is
// name; escapes ("\u0076alue") are decoded first.
bool name_is(std::string_view written, std::string_view name) {
  if (written.find('\\') == std::string_view::npos)
    return written.substr(1, written.size() - 2) == name;
  return json::parse(written).get_ref<const std::string&>() == name;
}

// The text of the top-level member name of a JSON object as written, the last
// one when the name is repeated (as nlohmann keeps the last); std::nullopt when
// there is none.
// REQUIRES: text is one valid JSON object.
std::optional<std::string_view> raw_member(std::string_view text, std::string_view name) {
  std::optional<std::string_view> found;
  std::size_t i = skip_space(text, 0);
  if (text.substr(i, 3) == "\xEF\xBB\xBF") i = skip_space(text, i + 3);  // a BOM
  i = skip_space(text, i + 1);  // past '{'
  while (i < text.size() && text[i] == '"') {
    const std::size_t key_end = skip_string(text, i);
    const bool match = name_is(text.substr(i, key_end - i), name);
    i = skip_space(text, skip_space(text, key_end) + 1);  // past ':'
    const std::size_t value_end = skip_value(text, i);
    if (match) found = text.substr(i, value_end - i);
    i = skip_space(text, skip_space(text, value_end) + 1);  // past ','
  }
  return found;
}

// "key": a string or null; "key_b64", when present, holds the exact bytes.
std::optional<std::string> parse_key(json& doc) {
  if (const json* key_b64 = find_field(doc, "key_b64")) return base64_field(*key_b64, "key_b64");
  auto key = doc.find("key");
  if (key == doc.end()) invalid("missing \"key\"");
  if (key->is_string()) return std::move(key->get_ref<std::string&>());
  if (!key->is_null())
    invalid(fmt::format("\"key\" must be a string or null, not {}", key->type_name()));
  return std::nullopt;
}

// "value": encoded with the codec, null a tombstone; or "value_b64", raw bytes.
std::optional<std::string> parse_value(const json& doc, std::string_view line,
                                       const ValueCodec& codec) {
  auto value = doc.find("value");
  if (value == doc.end()) {
    if (const json* value_b64 = find_field(doc, "value_b64"))
      return base64_field(*value_b64, "value_b64");
    invalid("missing \"value\"");
  }
  if (value->is_null()) return std::nullopt;
  try {
    // A JSON value keeps its bytes (key order, number spelling, escapes): its
    // text as written is compacted, never the parsed value re-written.
    std::optional<std::string_view> raw;
    // A protobuf value's text goes to libprotobuf's JSON parser as written.
    if (codec.kind() == ValueCodec::Kind::json || codec.kind() == ValueCodec::Kind::proto)
      raw = raw_member(line, "value");
    return raw ? codec.encode_text(*raw) : codec.encode(*value);
  } catch (const Error& e) {
    invalid(fmt::format("value: {}", e.message()));
  }
}

}  // namespace

void append_envelope(std::string& out, const Record& record, const ValueCodec& codec) {
  out += "{\"topic\":";
  append_json_string(out, record.topic);
  out += ",\"partition\":";
  append_integer(out, record.partition);
  out += ",\"offset\":";
  append_integer(out, record.offset);
  out += ",\"timestamp\":";
  append_integer(out, record.timestamp);
  out += ',';
  append_key(out, view(record.key));
  out += ',';
  append_value(out, view(record.value), codec);
  out += ",\"headers\":{";
  bool first = true;
  for (const auto& [name, value] : record.headers) {
    if (!first) out += ',';
    first = false;
    append_json_string(out, name);
    out += ':';
    append_json_string(out, value);
  }
  out += "}}\n";
}

std::string format_envelope(const Record& record, const ValueCodec& codec) {
  std::string out;
  append_envelope(out, record, codec);
  out.pop_back();
  return out;
}

void append_table_row(std::string& out, std::optional<std::string_view> key,
                      std::optional<std::string_view> value, const ValueCodec& codec) {
  out += '{';
  append_key(out, key);
  out += ',';
  append_value(out, value, codec);
  out += "}\n";
}

Envelope parse_envelope(std::string_view line, const ValueCodec& codec) {
  HeaderCollector collector;
  json doc;
  try {
    doc = json::parse(line, std::ref(collector));
  } catch (const json::parse_error& e) {
    std::string_view what = e.what();
    auto close = what.find("] ");
    if (!what.empty() && what.front() == '[' && close != std::string_view::npos)
      what.remove_prefix(close + 2);
    invalid(fmt::format("invalid JSON: {}", what));
  }
  if (!doc.is_object()) invalid(fmt::format("a JSON object is expected, not {}", doc.type_name()));

  Envelope envelope;

  envelope.key = parse_key(doc);
  envelope.value = parse_value(doc, line, codec);

  if (const json* timestamp = find_field(doc, "timestamp")) {
    if (!timestamp->is_number_integer() ||
        (!timestamp->is_number_unsigned() && timestamp->get<int64_t>() < 0) ||
        (timestamp->is_number_unsigned() &&
         timestamp->get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max())))
      invalid("\"timestamp\" must be a non-negative integer (ms since the epoch)");
    envelope.timestamp = timestamp->get<int64_t>();
  }

  if (const json* partition = find_field(doc, "partition")) {
    const bool in_range = partition->is_number_unsigned()
                              ? partition->get<uint64_t>() <= uint64_t(INT32_MAX)
                              : partition->is_number_integer() && partition->get<int64_t>() >= 0;
    if (!in_range) invalid("\"partition\" must be an integer from 0 to 2147483647");
    envelope.partition = int32_t(partition->get<int64_t>());
  }

  if (const json* headers = find_field(doc, "headers")) {
    if (!headers->is_object())
      invalid(fmt::format("\"headers\" must be an object, not {}", headers->type_name()));
    for (const auto& [name, header] : headers->items()) {
      if (!header.is_string())
        invalid(fmt::format("header \"{}\" must be a string, not {}", name, header.type_name()));
    }
    envelope.headers = std::move(collector.headers);
  }
  return envelope;
}

}  // namespace goka::cli
