#pragma once
// The cluster integration tests run against: an embedded broker over TCP, or
// a real Kafka, named by GOKA_TEST_BROKERS or by the file GOKA_TEST_BROKERS_FILE
// (the address file of tests/kafka_tier.sh; beside it, a file "skip" tells why
// the real-Kafka tier cannot run on this machine).

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include <unistd.h>

#include "goka/client_options.hpp"
#include "goka/embedded_broker.hpp"
#include "goka/topic_manager.hpp"

namespace goka::test {

// Ends this test process as skipped: prints the line ctest's
// SKIP_REGULAR_EXPRESSION matches (tests/CMakeLists.txt), exits with 77. Each
// Catch test case runs in its own process under ctest; run by hand, the
// process ends there too, so a skip never counts as a pass.
[[noreturn]] inline void skip(const std::string& why) {
  std::printf("goka-test: skipped: %s\n", why.c_str());
  std::fflush(stdout);
  std::_Exit(77);
}

class Cluster {
 public:
  Cluster() {
    if (const char* real = std::getenv("GOKA_TEST_BROKERS"); real != nullptr && *real != '\0') {
      brokers_ = real;
    } else if (const char* file = std::getenv("GOKA_TEST_BROKERS_FILE");
               file != nullptr && *file != '\0') {
      brokers_ = brokers_from(file);
    } else {
      embedded_ = std::make_unique<EmbeddedBroker>();
      brokers_ = embedded_->bootstrap_servers();
    }
  }

  const std::string& brokers() const { return brokers_; }
  bool embedded() const { return embedded_ != nullptr; }

  // Skips the test unless it runs on the embedded broker; why: what the test
  // needs of it (faults a real cluster cannot be made to have).
  void require_embedded(const std::string& why) const {
    if (!embedded()) skip("needs the embedded broker: " + why);
  }
  // Skips the test on the embedded broker; why: what it lacks.
  void require_real(const std::string& why) const {
    if (embedded()) skip("needs a real Kafka (GOKA_TEST_BROKERS): " + why);
  }
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
    // The process id too: ctest runs test processes side by side.
    return base + "-" + std::to_string(::getpid()) + "-" + std::to_string(now % 1000000000) + "-" +
           std::to_string(counter++);
  }

 private:
  // The address in file; skips the test when the tier told why it cannot run.
  static std::string brokers_from(const std::string& file) {
    std::ifstream in(file);
    std::string address;
    if (in >> address) return address;
    std::ifstream reason(std::filesystem::path(file).parent_path() / "skip");
    std::string why;
    if (std::getline(reason, why)) skip(why);
    std::fprintf(stderr, "no broker address in %s (did the real-Kafka tier start?)\n", file.c_str());
    std::fflush(stderr);
    std::_Exit(1);
  }

  std::unique_ptr<EmbeddedBroker> embedded_;
  std::string brokers_;
};

}  // namespace goka::test
