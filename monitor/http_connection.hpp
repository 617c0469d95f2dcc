#pragma once
// One client connection of monitor/http_server.hpp: its requests read one
// after the other and answered, until it is to close. Limits:
//   - a request's first byte within 1 s (an idle kept-alive connection
//     closes then), the rest of its head within 5 s of it, its body within
//     5 s of its head; a connection that misses one closes without an answer
//   - a head (request line and header fields) of at most 8 KB, else 431
//   - a body (Content-Length) of at most 64 KB, else 413; read and dropped
//   - a response written within 5 s
// A malformed head gets 400, a Transfer-Encoding (chunked) body 501; after
// those and after 413 and 431 the connection closes. A method other than
// GET and HEAD gets 405; HEAD is answered as GET without the body. The
// connection stays open as the request asks (RequestHead::keep_alive),
// unless others_waiting() says another connection waits for a thread.

#include <functional>
#include <string>

#include "monitor/http_message.hpp"

namespace goka::cli {

// What a connection needs of its server. Outlives every serve_connection()
// given it; read by several connections at once (the functions must be
// thread-safe).
struct ConnectionContext {
  // Readable once the server stops: a connection then closes at once
  // (though not in the middle of a handler).
  int wake_fd = -1;
  // The answer to a GET or HEAD request; an exception is answered by
  // error_page(500, what()).
  std::function<HttpResponse(const HttpRequest&)> handle;
  // The answer for an error status the connection gives, with why (its
  // status is set to status). Unset or throwing: a text/plain answer of why.
  std::function<HttpResponse(int status, const std::string& why)> error_page;
  // Whether another connection waits for a thread.
  std::function<bool()> others_waiting;
};

// Serves the connection on fd (a connected, non-blocking stream socket)
// until it is to close; the caller then closes fd. Throws nothing.
void serve_connection(int fd, const ConnectionContext& context) noexcept;

}  // namespace goka::cli
