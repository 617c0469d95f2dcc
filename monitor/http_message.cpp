#include "monitor/http_message.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <optional>

namespace goka::cli {
namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return lower(x) == lower(y);
         });
}

bool istarts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

// A character of a token (RFC 9110: method and field names).
bool is_tchar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

// A control character: anything below ' ' but a tab, and DEL.
bool is_ctl(char c) { return (static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The lines of a head without their line ends, the empty last one left out.
std::vector<std::string_view> head_lines(std::string_view head) {
  std::vector<std::string_view> lines;
  while (!head.empty()) {
    size_t end = head.find('\n');
    std::string_view line = head.substr(0, end);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;
    lines.push_back(line);
    if (end == std::string_view::npos) break;
    head.remove_prefix(end + 1);
  }
  return lines;
}

// Whether the comma-separated list holds token (case-insensitive).
bool list_has(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    if (iequals(trim(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

// A Content-Length value: digits only; one too large to hold is UINT64_MAX.
std::optional<uint64_t> parse_length(std::string_view value) {
  if (value.empty()) return std::nullopt;
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  uint64_t n = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<uint64_t>(c - '0');
    n = n > (kMax - digit) / 10 ? kMax : n * 10 + digit;
  }
  return n;
}

// Path and query of a target in origin form ("/p?q") or absolute form
// ("http://host/p?q"); std::nullopt for any other.
std::optional<std::pair<std::string_view, std::string_view>> split_target(std::string_view target) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (!istarts_with(target, scheme)) continue;
    target.remove_prefix(scheme.size());
    size_t start = target.find_first_of("/?");
    std::string_view rest = start == std::string_view::npos ? "" : target.substr(start);
    if (!rest.starts_with('/')) {  // "http://host" or "http://host?query"
      return std::pair{std::string_view("/"), rest.empty() ? rest : rest.substr(1)};
    }
    target = rest;
    break;
  }
  if (target.empty() || target.front() != '/') return std::nullopt;
  size_t mark = target.find('?');
  if (mark == std::string_view::npos) return std::pair{target, std::string_view()};
  return std::pair{target.substr(0, mark), target.substr(mark + 1)};
}

// Parses "METHOD SP TARGET SP HTTP/1.x" into head; the HTTP minor version, or
// std::nullopt when the line is malformed.
std::optional<int> parse_request_line(std::string_view line, RequestHead& head) {
  size_t first = line.find(' ');
  size_t last = line.rfind(' ');
  if (first == std::string_view::npos || first == last) return std::nullopt;
  std::string_view method = line.substr(0, first);
  std::string_view target = line.substr(first + 1, last - first - 1);
  std::string_view version = line.substr(last + 1);
  if (!is_token(method) || target.empty()) return std::nullopt;
  auto bad_in_target = [](char c) { return c == ' ' || c == '\t' || is_ctl(c); };
  if (std::any_of(target.begin(), target.end(), bad_in_target)) return std::nullopt;
  if (version.size() != 8 || !version.starts_with("HTTP/1.") || version[7] < '0' ||
      version[7] > '9') {
    return std::nullopt;
  }
  auto parts = split_target(target);
  if (!parts) return std::nullopt;
  head.request.method = method;
  head.request.path = url_decode(parts->first);
  head.request.query = parts->second;
  return version[7] - '0';
}

// What a head's fields say about its connection and body.
struct Fields {
  std::optional<uint64_t> length;
  bool close = false;
  bool keep_alive = false;
};

// Takes in one "Name: value" line; a message when it is malformed.
std::optional<std::string> read_field(std::string_view line, RequestHead& head, Fields& fields) {
  if (line.front() == ' ' || line.front() == '\t') return "obsolete line folding";
  size_t colon = line.find(':');
  if (colon == std::string_view::npos || !is_token(line.substr(0, colon)))
    return "malformed header field";
  std::string_view name = line.substr(0, colon);
  std::string_view value = trim(line.substr(colon + 1));
  if (std::any_of(value.begin(), value.end(), is_ctl)) return "control character in a header field";
  if (iequals(name, "Content-Length")) {
    std::optional<uint64_t> length = parse_length(value);
    if (!length || (fields.length && *fields.length != *length)) return "bad Content-Length";
    fields.length = length;
  } else if (iequals(name, "Transfer-Encoding")) {
    head.transfer_encoding = true;
  } else if (iequals(name, "Connection")) {
    fields.close = fields.close || list_has(value, "close");
    fields.keep_alive = fields.keep_alive || list_has(value, "keep-alive");
  } else if (iequals(name, "Expect")) {
    head.expect_continue = iequals(value, "100-continue");
  }
  return std::nullopt;
}

}  // namespace

size_t head_size(std::string_view in) {
  for (size_t end = in.find('\n'); end != std::string_view::npos; end = in.find('\n', end + 1)) {
    std::string_view rest = in.substr(end + 1);
    if (rest.starts_with("\n")) return end + 2;
    if (rest.starts_with("\r\n")) return end + 3;
  }
  return 0;
}

size_t leading_empty_lines(std::string_view in) {
  size_t n = 0;
  for (;;) {
    if (in.substr(n).starts_with("\n")) {
      n += 1;
    } else if (in.substr(n).starts_with("\r\n")) {
      n += 2;
    } else {
      return n;
    }
  }
}

std::variant<RequestHead, HeadError> parse_request_head(std::string_view head) {
  std::vector<std::string_view> lines = head_lines(head);
  RequestHead parsed;
  std::optional<int> minor;
  if (!lines.empty()) minor = parse_request_line(lines.front(), parsed);
  if (!minor) return HeadError{400, "malformed request line"};
  Fields fields;
  for (size_t i = 1; i < lines.size(); ++i) {
    if (auto why = read_field(lines[i], parsed, fields)) return HeadError{400, *why};
  }
  // Both would let a proxy in front and this server disagree on where the
  // next request starts.
  if (fields.length && parsed.transfer_encoding)
    return HeadError{400, "both Content-Length and Transfer-Encoding"};
  parsed.content_length = fields.length.value_or(0);
  parsed.keep_alive = !fields.close && (*minor >= 1 || fields.keep_alive);
  return parsed;
}

std::string url_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    int high = -1;
    int low = -1;
    if (text[i] == '%' && i + 2 < text.size()) {
      high = hex_value(text[i + 1]);
      low = hex_value(text[i + 2]);
    }
    if (high >= 0 && low >= 0) {
      out += static_cast<char>(high * 16 + low);
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

namespace {

std::string_view reason(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

}  // namespace

std::string response_head(const HttpResponse& response, bool keep_alive) {
  std::string out = fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: {}\r\n",
      response.status, reason(response.status), response.content_type, response.body.size(),
      keep_alive ? "keep-alive" : "close");
  for (const auto& [name, value] : response.headers) out += fmt::format("{}: {}\r\n", name, value);
  out += "\r\n";
  return out;
}

}  // namespace goka::cli
