#pragma once
// HTTP/1.1 messages on the wire, for monitor/http_server.hpp: the head of a
// request parsed, the head of a response written. No I/O; pure functions,
// thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace goka::cli {

// A request as a handler sees it.
struct HttpRequest {
  std::string method;  // as sent: "GET", "HEAD", ...
  std::string path;    // the target up to its '?', URL-decoded (url_decode)
  std::string query;   // after the first '?' as sent (not decoded); "" when none
};

// A handler's answer. The server adds Content-Length and Connection.
struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  // More header fields, name and value, neither holding CR or LF.
  std::vector<std::pair<std::string, std::string>> headers{};
};

// The head of a request that parsed: the request and what the connection
// needs of its header fields.
struct RequestHead {
  HttpRequest request;
  // HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with "Connection: keep-alive".
  bool keep_alive = false;
  // Content-Length, 0 without one; UINT64_MAX for one too large to hold.
  uint64_t content_length = 0;
  bool transfer_encoding = false;  // a Transfer-Encoding field (chunked body)
  bool expect_continue = false;    // "Expect: 100-continue"
};

// Why a head did not parse: the status to answer (400) and what was wrong.
struct HeadError {
  int status = 400;
  std::string message;
};

// The size of the head that in starts with, through the empty line that
// ends it; 0 while in holds no whole head yet. Lines end in CRLF or LF.
size_t head_size(std::string_view in);

// How many empty lines (CRLF or LF) in starts with: a client may send some
// between requests, and they are skipped.
size_t leading_empty_lines(std::string_view in);

// Parses head (as head_size measured it): a request line
// "METHOD SP TARGET SP HTTP/1.x" and header fields "Name: value". TARGET is
// "/path?query" or "http://authority/path?query". A HeadError for anything
// else, for obsolete line folding and for control characters.
std::variant<RequestHead, HeadError> parse_request_head(std::string_view head);

// Percent-decodes text: "%2F" becomes '/'. '+' stays '+', as does a '%'
// that two hex digits do not follow.
std::string url_decode(std::string_view text);

// The status line and header fields of response, through the empty line:
// Content-Type, Content-Length (of response.body), Connection (keep-alive or
// close), then response.headers.
std::string response_head(const HttpResponse& response, bool keep_alive);

}  // namespace goka::cli
