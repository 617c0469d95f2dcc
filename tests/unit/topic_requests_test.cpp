// The embedded broker's topic requests (kafka/topic_requests.hpp) without a
// broker: which bootstrap addresses are asked, the request line and its
// answers, names checked before the handler sees them, stale sockets.

#include "kafka/topic_requests.hpp"

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <mutex>
#include <vector>

#include "goka/error.hpp"
#include "tests/temp_dir.hpp"

namespace {

// Points XDG_RUNTIME_DIR at a fresh directory while it lives.
struct RuntimeDir {
  goka::test::TempDir dir;
  std::string old;
  bool had = false;
  RuntimeDir() {
    if (const char* v = getenv("XDG_RUNTIME_DIR")) old = v, had = true;
    setenv("XDG_RUNTIME_DIR", dir.path().c_str(), 1);
  }
  ~RuntimeDir() { had ? setenv("XDG_RUNTIME_DIR", old.c_str(), 1) : unsetenv("XDG_RUNTIME_DIR"); }
};

}  // namespace

TEST_CASE("topic requests: only loopback addresses of the bootstrap list are asked") {
  using goka::kafka::loopback_ports;
  CHECK(loopback_ports("127.0.0.1:9092") == std::vector<int>{9092});
  CHECK(loopback_ports("127.0.0.1:1, localhost:2,[::1]:3,PLAINTEXT://127.0.0.1:4") ==
        std::vector<int>{1, 2, 3, 4});
  CHECK(loopback_ports("kafka.example.com:9092,10.0.0.1:9092").empty());
  CHECK(loopback_ports("127.0.0.1,127.0.0.1:x,127.0.0.1:").empty());
}

TEST_CASE("topic requests: a request reaches the server of its port and gets its answer") {
  RuntimeDir runtime;
  std::mutex mutex;
  std::vector<std::pair<std::string, int32_t>> asked;
  goka::kafka::TopicRequestServer server({40001, 40002}, [&](const std::string& name, int32_t n) {
    std::lock_guard lock(mutex);
    asked.emplace_back(name, n);
    return name == "old" ? std::string("exists") : std::string("ok");
  });
  CHECK(server.path() == runtime.dir.path() / "goka-broker" / "40001");
  auto ask = [](const std::string& bootstrap, const std::string& name, int32_t n) {
    return goka::kafka::request_topic(bootstrap, name, n, std::chrono::seconds(5));
  };
  CHECK(ask("127.0.0.1:40001", "orders", 3) == "ok");
  CHECK(ask("localhost:40002", "old", 1) == "exists");  // the second port: a link
  CHECK(ask("127.0.0.1:40003", "orders", 3) == std::nullopt);  // nobody there
  CHECK(ask("127.0.0.1:40001", "bad name", 3).value().starts_with("error invalid topic name"));
  CHECK(ask("127.0.0.1:40001", std::string(250, 'a'), 3).value().starts_with("error invalid topic name"));
  CHECK(ask("127.0.0.1:40001", "x", 0).value().starts_with("error invalid partition count"));
  std::lock_guard lock(mutex);
  CHECK(asked == std::vector<std::pair<std::string, int32_t>>{{"orders", 3}, {"old", 1}});
}

TEST_CASE("topic requests: sockets go with their server, stale ones are not asked") {
  RuntimeDir runtime;
  auto dir = runtime.dir.path() / "goka-broker";
  {
    goka::kafka::TopicRequestServer server({40011}, [](const std::string&, int32_t) { return "ok"; });
    CHECK(std::filesystem::exists(dir / "40011"));
  }
  CHECK_FALSE(std::filesystem::exists(dir / "40011"));
  // A socket nobody listens on any more (a killed broker): not an answer,
  // and removed when the next server starts.
  std::filesystem::create_symlink("gone", dir / "40012");
  CHECK(goka::kafka::request_topic("127.0.0.1:40012", "t", 1, std::chrono::seconds(1)) == std::nullopt);
  goka::kafka::TopicRequestServer server({40013}, [](const std::string&, int32_t) { return "ok"; });
  CHECK_FALSE(std::filesystem::is_symlink(dir / "40012"));
}
