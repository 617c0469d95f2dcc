#include "monitor/http_connection.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <exception>
#include <string_view>

namespace goka::cli {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kIdle = std::chrono::seconds(1);
constexpr auto kRead = std::chrono::seconds(5);
constexpr auto kWrite = std::chrono::seconds(5);
constexpr size_t kMaxHead = 8 * 1024;
constexpr uint64_t kMaxBody = 64 * 1024;
// After an error answer: how long and how much of the rest of the request is
// read and dropped before the connection closes.
constexpr auto kLinger = std::chrono::seconds(1);
constexpr size_t kMaxLinger = 256 * 1024;

class Connection {
 public:
  Connection(int fd, const ConnectionContext& context) : fd_(fd), context_(context) {}

  // Answers requests until the connection is to close.
  void serve() {
    while (serve_one()) {
    }
  }

 private:
  // Reads one request and answers it; false when the connection is to close.
  bool serve_one();
  // Reads until in_ starts with a whole head (empty lines before it dropped)
  // and gives its size; 0 when the connection is to close (a 431 answered).
  size_t read_head(Clock::time_point deadline);
  // Reads and drops a body of length bytes, those in in_ first.
  bool skip_body(uint64_t length, Clock::time_point deadline);
  // The handler's answer, or an error page: 405, or 500 when it throws.
  HttpResponse respond(const HttpRequest& request);
  HttpResponse error_page(int status, const std::string& why);
  bool send(const HttpResponse& response, bool keep_alive, bool head_only);
  // Answers a request not read to its end with an error status and hangs up.
  void refuse(int status, const std::string& why);
  // Stops sending, then reads and drops what the client still sends (for a
  // while): closing a socket with unread input resets the connection, and
  // the client could lose the answer.
  void linger();

  // Appends what the client sent to in_, waiting for it until deadline;
  // false when the client closed, the deadline passed, reading failed or the
  // server stops.
  bool read_more(Clock::time_point deadline);
  bool write_all(std::string_view data, Clock::time_point deadline);
  // Waits until fd_ is ready for events; false when the deadline passed
  // first or the server stops.
  bool await(short events, Clock::time_point deadline);

  const int fd_;
  const ConnectionContext& context_;
  std::string in_;  // read, not parsed yet
};

bool Connection::serve_one() {
  in_.erase(0, leading_empty_lines(in_));
  if (in_.empty() && !read_more(Clock::now() + kIdle)) return false;
  const size_t size = read_head(Clock::now() + kRead);
  if (size == 0) return false;
  auto parsed = parse_request_head(std::string_view(in_).substr(0, size));
  in_.erase(0, size);
  if (const auto* error = std::get_if<HeadError>(&parsed)) {
    refuse(error->status, error->message);
    return false;
  }
  const RequestHead& head = std::get<RequestHead>(parsed);
  if (head.transfer_encoding) {
    refuse(501, "request bodies in a Transfer-Encoding are not supported");
    return false;
  }
  if (head.content_length > kMaxBody) {
    refuse(413, "request body over 64 KB");
    return false;
  }
  if (head.expect_continue && head.content_length > in_.size() &&
      !write_all("HTTP/1.1 100 Continue\r\n\r\n", Clock::now() + kWrite)) {
    return false;
  }
  if (!skip_body(head.content_length, Clock::now() + kRead)) return false;
  const HttpResponse response = respond(head.request);
  const bool keep_alive = head.keep_alive && !context_.others_waiting();
  if (!send(response, keep_alive, head.request.method == "HEAD")) return false;
  // A client that asked to keep the connection may have sent more already.
  if (!keep_alive && head.keep_alive) linger();
  return keep_alive;
}

size_t Connection::read_head(Clock::time_point deadline) {
  for (;;) {
    in_.erase(0, leading_empty_lines(in_));
    const size_t size = head_size(in_);
    if (size > kMaxHead || (size == 0 && in_.size() > kMaxHead)) {
      refuse(431, "request head over 8 KB");
      return 0;
    }
    if (size > 0) return size;
    if (!read_more(deadline)) return 0;
  }
}

bool Connection::skip_body(uint64_t length, Clock::time_point deadline) {
  while (in_.size() < length) {
    if (!read_more(deadline)) return false;
  }
  in_.erase(0, static_cast<size_t>(length));
  return true;
}

HttpResponse Connection::respond(const HttpRequest& request) {
  if (request.method != "GET" && request.method != "HEAD") {
    HttpResponse response = error_page(405, "method not allowed: " + request.method);
    response.headers.emplace_back("Allow", "GET, HEAD");
    return response;
  }
  try {
    return context_.handle(request);
  } catch (const std::exception& e) {
    return error_page(500, e.what());
  } catch (...) {
    return error_page(500, "unknown error");
  }
}

HttpResponse Connection::error_page(int status, const std::string& why) {
  if (context_.error_page) {
    try {
      HttpResponse response = context_.error_page(status, why);
      response.status = status;
      return response;
    } catch (...) {
      // The plain page below.
    }
  }
  return HttpResponse{status, "text/plain; charset=utf-8", why + "\n"};
}

bool Connection::send(const HttpResponse& response, bool keep_alive, bool head_only) {
  std::string out = response_head(response, keep_alive);
  if (!head_only) out += response.body;
  return write_all(out, Clock::now() + kWrite);
}

void Connection::refuse(int status, const std::string& why) {
  if (send(error_page(status, why), false, false)) linger();
}

void Connection::linger() {
  ::shutdown(fd_, SHUT_WR);
  const auto deadline = Clock::now() + kLinger;
  size_t dropped = 0;
  in_.clear();
  while (dropped < kMaxLinger && read_more(deadline)) {
    dropped += in_.size();
    in_.clear();
  }
}

bool Connection::read_more(Clock::time_point deadline) {
  char buffer[16 * 1024];
  // Waiting first, also when input is there: a client that never stops
  // sending still notices that the server stops.
  while (await(POLLIN, deadline)) {
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n > 0) {
      in_.append(buffer, static_cast<size_t>(n));
      return true;
    }
    if (n == 0 || (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) return false;
  }
  return false;
}

bool Connection::write_all(std::string_view data, Clock::time_point deadline) {
  while (!data.empty()) {
    if (!await(POLLOUT, deadline)) return false;
    // MSG_NOSIGNAL: a client gone is an error here, not a SIGPIPE.
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) {
      return false;
    }
  }
  return true;
}

bool Connection::await(short events, Clock::time_point deadline) {
  for (;;) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd fds[2] = {{fd_, events, 0}, {context_.wake_fd, POLLIN, 0}};
    const int n = ::poll(fds, 2, static_cast<int>(std::min<int64_t>(left, 60'000)));
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (fds[1].revents != 0) return false;
    // POLLERR or POLLHUP too: recv() or send() then says what happened.
    if (fds[0].revents != 0) return true;
  }
}

}  // namespace

void serve_connection(int fd, const ConnectionContext& context) noexcept {
  try {
    Connection(fd, context).serve();
  } catch (...) {
    // Out of memory, say: this connection closes, the server serves on.
  }
}

}  // namespace goka::cli
