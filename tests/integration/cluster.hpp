#pragma once
// The cluster integration tests run against: an embedded broker over TCP, or
// the real Kafka named by GOKA_TEST_BROKERS.

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "goka/client_options.hpp"
#include "goka/embedded_broker.hpp"
#include "goka/topic_manager.hpp"

namespace goka::test {

class Cluster {
 public:
  Cluster() {
    if (const char* real = std::getenv("GOKA_TEST_BROKERS"); real != nullptr && *real != '\0') {
      brokers_ = real;
    } else {
      embedded_ = std::make_unique<EmbeddedBroker>();
      brokers_ = embedded_->bootstrap_servers();
    }
  }

  const std::string& brokers() const { return brokers_; }
  bool embedded() const { return embedded_ != nullptr; }
  EmbeddedBroker* embedded_broker() { return embedded_.get(); }

  ClientOptions options(std::chrono::milliseconds timeout = std::chrono::seconds(10)) const {
    ClientOptions o;
    o.brokers = brokers_;
    o.timeout = timeout;
    o.log_level = LogLevel::error;
    return o;
  }

  // A topic name no other test uses, created with partitions partitions.
  std::string topic(const std::string& base, int32_t partitions) {
    std::string name = unique(base);
    if (embedded_) {
      embedded_->create_topic(name, partitions);
    } else {
      TopicManager(options()).ensure_stream(name, partitions);
    }
    return name;
  }

  static std::string unique(const std::string& base) {
    static std::atomic<int> counter{0};
    auto now = std::chrono::system_clock::now().time_since_epoch().count();
    return base + "-" + std::to_string(now % 1000000000) + "-" + std::to_string(counter++);
  }

 private:
  std::unique_ptr<EmbeddedBroker> embedded_;
  std::string brokers_;
};

}  // namespace goka::test
