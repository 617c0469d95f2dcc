// The --serve HTTP server's own HTTP/1.1 (monitor/http_server.hpp) over raw
// sockets: URL decoding, keep-alive, limits, malformed requests, and that its
// destructor does not wait for the clients.

#include "monitor/http_server.hpp"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "goka/error.hpp"
#include "monitor/http_message.hpp"

using goka::cli::HttpRequest;
using goka::cli::HttpResponse;
using goka::cli::HttpServer;

namespace {

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};

// A client on a raw socket: what it sends goes out as written.
class RawClient {
 public:
  explicit RawClient(int port, const std::string& host = "127.0.0.1") {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    REQUIRE(getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) == 0);
    fd_ = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const bool connected = fd_ >= 0 && connect(fd_, found->ai_addr, found->ai_addrlen) == 0;
    freeaddrinfo(found);
    REQUIRE(connected);
    timeval timeout{3, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }
  ~RawClient() { close(fd_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  void send(const std::string& data) {
    REQUIRE(::send(fd_, data.data(), data.size(), MSG_NOSIGNAL) == ssize_t(data.size()));
  }

  // The next response (without a body after a HEAD request); std::nullopt
  // when the connection closed (or 3 s passed) before a whole one came.
  std::optional<Reply> read_reply(bool head_only = false) {
    size_t end;
    while ((end = in_.find("\r\n\r\n")) == std::string::npos) {
      if (!read_more()) return std::nullopt;
    }
    Reply reply;
    std::string head = in_.substr(0, end + 2);
    in_.erase(0, end + 4);
    if (!head.starts_with("HTTP/1.1 ")) return std::nullopt;
    reply.status = std::stoi(head.substr(9, 3));
    for (size_t at = head.find("\r\n") + 2; at < head.size(); at = head.find("\r\n", at) + 2) {
      std::string line = head.substr(at, head.find("\r\n", at) - at);
      std::string name = line.substr(0, line.find(':'));
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      reply.headers[name] = line.substr(line.find(':') + 2);
    }
    if (!reply.headers.contains("content-length")) return std::nullopt;
    const size_t length = head_only ? 0 : std::stoul(reply.headers["content-length"]);
    while (in_.size() < length) {
      if (!read_more()) return std::nullopt;
    }
    reply.body = in_.substr(0, length);
    in_.erase(0, length);
    return reply;
  }

  // Whether the server closed the connection (within 3 s), sending nothing more.
  bool closed() {
    char c;
    ssize_t n = recv(fd_, &c, 1, 0);
    return in_.empty() && (n == 0 || (n < 0 && errno == ECONNRESET));
  }

 private:
  bool read_more() {
    char buffer[4096];
    ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
    if (n <= 0) return false;
    in_.append(buffer, size_t(n));
    return true;
  }

  int fd_ = -1;
  std::string in_;
};

// Answers "METHOD PATH?QUERY" as the body; "/throw" throws.
HttpResponse echo(const HttpRequest& request) {
  if (request.path == "/throw") throw std::runtime_error("thrown");
  return {200, "text/plain", request.method + " " + request.path + "?" + request.query};
}

HttpResponse json_error(int status, const std::string& why) {
  return {status, "application/json", "{\"error\":\"" + why + "\"}"};
}

std::string get(const std::string& target, const std::string& fields = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: test\r\n" + fields + "\r\n";
}

}  // namespace

TEST_CASE("http server: URL decoding") {
  using goka::cli::url_decode;
  CHECK(url_decode("a%2Fb%2fc") == "a/b/c");
  CHECK(url_decode("a+b%20c") == "a+b c");
  CHECK(url_decode("%zz%4") == "%zz%4");
  CHECK(url_decode("%") == "%");
  CHECK(url_decode("%41%00") == std::string("A\0", 2));
}

TEST_CASE("http server: port 0 picks a port, paths are decoded but not queries") {
  HttpServer server("127.0.0.1", 0, echo);
  REQUIRE(server.port() > 0);
  RawClient client(server.port());
  client.send(get("/tables/t/a%2Fb+c%20d%zz?x=%2F&y"));
  auto reply = client.read_reply();
  REQUIRE(reply);
  CHECK(reply->status == 200);
  CHECK(reply->body == "GET /tables/t/a/b+c d%zz?x=%2F&y");
  CHECK(reply->headers["content-type"] == "text/plain");
  // The absolute form of a target, as sent to a proxy.
  client.send("GET http://example.com:80/p%41th?q HTTP/1.1\r\n\r\n");
  reply = client.read_reply();
  REQUIRE(reply);
  CHECK(reply->body == "GET /pAth?q");
}

TEST_CASE("http server: connections are kept alive as the client asks") {
  HttpServer server("127.0.0.1", 0, echo);
  SECTION("HTTP/1.1: two requests on one connection, then two at once") {
    RawClient client(server.port());
    client.send(get("/one"));
    auto one = client.read_reply();
    REQUIRE(one);
    CHECK(one->headers["connection"] == "keep-alive");
    client.send(get("/two"));
    auto two = client.read_reply();
    REQUIRE(two);
    CHECK(two->body == "GET /two?");
    client.send(get("/three") + "\r\n" + get("/four"));  // an empty line between is skipped
    auto three = client.read_reply();
    auto four = client.read_reply();
    REQUIRE(three);
    REQUIRE(four);
    CHECK(three->body == "GET /three?");
    CHECK(four->body == "GET /four?");
  }
  SECTION("HTTP/1.1 with Connection: close") {
    RawClient client(server.port());
    client.send(get("/", "Connection: close\r\n"));
    auto reply = client.read_reply();
    REQUIRE(reply);
    CHECK(reply->headers["connection"] == "close");
    CHECK(client.closed());
  }
  SECTION("HTTP/1.0 closes unless asked to keep alive") {
    RawClient closing(server.port());
    closing.send("GET /a HTTP/1.0\r\n\r\n");
    REQUIRE(closing.read_reply());
    CHECK(closing.closed());
    RawClient kept(server.port());
    kept.send("GET /a HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
    auto reply = kept.read_reply();
    REQUIRE(reply);
    CHECK(reply->headers["connection"] == "keep-alive");
    kept.send("GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    reply = kept.read_reply();
    REQUIRE(reply);
    CHECK(reply->body == "GET /b?");
  }
  SECTION("an idle connection closes after a second") {
    RawClient client(server.port());
    client.send(get("/"));
    REQUIRE(client.read_reply());
    const auto start = std::chrono::steady_clock::now();
    CHECK(client.closed());
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(2500));
  }
}

TEST_CASE("http server: methods, HEAD, bodies, and a handler that throws") {
  HttpServer server("127.0.0.1", 0, echo, json_error);
  RawClient client(server.port());
  // A body is read and dropped; the connection serves on.
  client.send("POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello" + get("/after", "X: 1\r\n"));
  auto post = client.read_reply();
  REQUIRE(post);
  CHECK(post->status == 405);
  CHECK(post->headers["allow"] == "GET, HEAD");
  CHECK(post->headers["content-type"] == "application/json");
  CHECK(post->body == "{\"error\":\"method not allowed: POST\"}");
  auto after = client.read_reply();
  REQUIRE(after);
  CHECK(after->body == "GET /after?");

  client.send("HEAD /h HTTP/1.1\r\n\r\n");
  auto head = client.read_reply(true);
  REQUIRE(head);
  CHECK(head->status == 200);
  CHECK(head->headers["content-length"] == std::to_string(std::string("HEAD /h?").size()));

  client.send(get("/throw"));
  auto thrown = client.read_reply();
  REQUIRE(thrown);
  CHECK(thrown->status == 500);
  CHECK(thrown->body == "{\"error\":\"thrown\"}");

  client.send("GET /big HTTP/1.1\r\nContent-Length: 65537\r\n\r\n" + std::string(1000, 'x'));
  auto big = client.read_reply();
  REQUIRE(big);
  CHECK(big->status == 413);
  CHECK(client.closed());

  RawClient chunked(server.port());
  chunked.send("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  auto refused = chunked.read_reply();
  REQUIRE(refused);
  CHECK(refused->status == 501);
  CHECK(chunked.closed());
}

TEST_CASE("http server: a head over 8 KB gets 431, a malformed one 400, and it serves on") {
  HttpServer server("127.0.0.1", 0, echo, json_error);
  {
    RawClient client(server.port());
    client.send(get("/", "X: " + std::string(10000, 'x') + "\r\n"));
    auto reply = client.read_reply();
    REQUIRE(reply);
    CHECK(reply->status == 431);
    CHECK(client.closed());
  }
  {
    RawClient client(server.port());
    client.send("GET /" + std::string(9000, 'x'));  // no line end yet
    auto reply = client.read_reply();
    REQUIRE(reply);
    CHECK(reply->status == 431);
  }
  const std::vector<std::string> malformed = {
      "NOT HTTP AT ALL\r\n\r\n",
      "GET /\x01\x02 HTTP/1.1\r\n\r\n",
      "GET / HTTP/9\r\n\r\n",
      "GET / HTTP/2.0\r\n\r\n",
      "GET  / HTTP/1.1\r\n\r\n",
      "GET relative HTTP/1.1\r\n\r\n",
      "G(T / HTTP/1.1\r\n\r\n",
      "GET / HTTP/1.1\r\nNo colon\r\n\r\n",
      "GET / HTTP/1.1\r\nName : value\r\n\r\n",
      "GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
      "GET / HTTP/1.1\r\nA: b\x01\r\n\r\n",
      "GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
      "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
      "GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
  };
  for (const std::string& request : malformed) {
    INFO(request);
    RawClient client(server.port());
    client.send(request);
    auto reply = client.read_reply();
    REQUIRE(reply);
    CHECK(reply->status == 400);
    CHECK(reply->body.starts_with("{\"error\":"));
    CHECK(client.closed());
  }
  RawClient client(server.port());
  client.send(get("/still"));
  auto reply = client.read_reply();
  REQUIRE(reply);
  CHECK(reply->status == 200);
}

TEST_CASE("http server: the destructor does not wait for clients") {
  auto server = std::make_unique<HttpServer>("127.0.0.1", 0, echo);
  // One kept-alive connection idle, more than there are threads with half a
  // request sent (each may wait 5 s for the rest), some of them still queued.
  RawClient idle(server->port());
  idle.send(get("/"));
  REQUIRE(idle.read_reply());
  std::vector<std::unique_ptr<RawClient>> halves;
  for (int i = 0; i < 6; ++i) {
    halves.push_back(std::make_unique<RawClient>(server->port()));
    halves.back()->send("GET / HTTP/1.1\r\nHost: x\r\n");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto start = std::chrono::steady_clock::now();
  server.reset();
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
  CHECK(idle.closed());
  for (auto& half : halves) CHECK(half->closed());
}

TEST_CASE("http server: hosts resolve, a port in use is a runtime error naming it") {
  HttpServer first("127.0.0.1", 0, echo);
  try {
    HttpServer second("127.0.0.1", first.port(), echo);
    FAIL("listened twice");
  } catch (const goka::Error& e) {
    CHECK(e.code() == goka::Errc::runtime);
    CHECK_THAT(e.what(), Catch::Contains("127.0.0.1:" + std::to_string(first.port())));
  }
  CHECK_THROWS_AS(HttpServer("127.0.0.1", 70000, echo), goka::Error);

  HttpServer local("localhost", 0, echo);
  CHECK(local.port() > 0);
  std::optional<HttpServer> v6;
  try {
    v6.emplace("::1", 0, echo);
  } catch (const goka::Error& e) {
    WARN("no IPv6 loopback here: " << e.what());
  }
  if (v6) {
    RawClient client(v6->port(), "::1");
    client.send(get("/v6"));
    auto reply = client.read_reply();
    REQUIRE(reply);
    CHECK(reply->body == "GET /v6?");
  }
}
