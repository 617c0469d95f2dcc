// Unit tests of the librdkafka partition reader that need no broker: a topic
// librdkafka refuses is a clear error at once.

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "core/backend.hpp"
#include "goka/error.hpp"

TEST_CASE("kafka reader: a topic librdkafka refuses is a usage error naming it", "[kafka]") {
  goka::ClientOptions options;
  options.brokers = "127.0.0.1:1";  // never contacted
  options.timeout = std::chrono::milliseconds(500);
  options.log_level = goka::LogLevel::error;
  const std::string topic(600, 't');  // librdkafka takes at most 512 characters
  auto backend = goka::core::kafka_backend(options);
  try {
    auto reader = backend->reader(topic);
    FAIL("a reader of a topic librdkafka has no handle for");
  } catch (const goka::Error& e) {
    CHECK(e.code() == goka::Errc::usage);
    CHECK(e.context().topic == std::optional<std::string>(topic));
    CHECK(e.message().find("cannot read topic") != std::string::npos);
  }
}
