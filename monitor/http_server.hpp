#pragma once
// A small HTTP/1.1 server for GET requests, on threads of its own: what
// `--serve` (monitor/serve.hpp) answers with.
//
// One thread accepts connections; four answer them, a connection at a time
// each, its requests one after the other (connections wait for a free
// thread). Connections are kept alive as the client asks, for at most a
// second between requests, and not when other connections wait. HEAD is
// answered as GET without the body. What a request may be, and the time
// limits, are in monitor/http_connection.hpp; the server answers on its own
//   400 a malformed request (the connection closes)
//   405 a method other than GET and HEAD
//   413 a body over 64 KB, 431 a head over 8 KB (the connection closes)
//   500 a handler that threw
//   501 a body in a Transfer-Encoding (the connection closes)
// with the page the ErrorPage gives.

#include <functional>
#include <memory>
#include <string>

#include "monitor/http_message.hpp"

namespace goka::cli {

class HttpServer {
 public:
  // The answer to a GET (or HEAD) request. Runs on the server's threads,
  // several at once: must be thread-safe. An exception is answered by
  // ErrorPage(500, what()).
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  // The answer for an error status of the server's own, and why (its status
  // is set to status). Thread-safe too. Unset or throwing: a text/plain
  // answer of why.
  using ErrorPage = std::function<HttpResponse(int status, const std::string& why)>;

  // Listens on host (an IPv4 or IPv6 address without brackets, or a name
  // such as "localhost"; the first address it resolves to that takes the
  // port) and port (0: any free port), with SO_REUSEADDR, and serves. Throws
  // goka::Error: Errc::usage for a port outside 0..65535, Errc::runtime
  // "cannot listen on HOST:PORT: WHY" when it cannot resolve, bind or
  // listen, or cannot start its threads.
  HttpServer(const std::string& host, int port, Handler handler, ErrorPage error_page = {});
  // Stops accepting, closes every connection and waits for the threads: at
  // once but for handlers running, whose answers are waited for.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The port listened on.
  int port() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace goka::cli
