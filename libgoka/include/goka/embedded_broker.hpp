#pragma once
// EmbeddedBroker: a Kafka-protocol broker on loopback TCP, in memory, for
// development and tests (librdkafka's mock cluster). It keeps only about the
// newest 5 MB of each partition, has no compaction, and cannot create topics
// on a client's request: pre-create them here. A topic a client asks for by
// name that does not exist is created with 4 partitions.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace goka {

struct EmbeddedBrokerOptions {
  int brokers = 1;                                      // cluster size
  std::vector<std::pair<std::string, int32_t>> topics;  // pre-created: name, partitions
};

// Thread-safe. The broker serves until stop() or destruction.
class EmbeddedBroker {
 public:
  // Throws Errc::runtime when the cluster cannot be started.
  explicit EmbeddedBroker(EmbeddedBrokerOptions options = {});
  ~EmbeddedBroker();
  EmbeddedBroker(const EmbeddedBroker&) = delete;
  EmbeddedBroker& operator=(const EmbeddedBroker&) = delete;

  // "127.0.0.1:port,..." for bootstrap.servers.
  const std::string& bootstrap_servers() const;
  // Creates a topic. Throws Errc::config when it exists or the count is < 1.
  void create_topic(const std::string& name, int32_t partitions);

  // Fault injection (for tests and `broker --control`).
  // Takes broker id (1-based) down or up: its connections are closed / accepted.
  void set_broker_down(int32_t broker_id, bool down);
  // Adds a round-trip time to every answer of broker id.
  void set_round_trip_time(int32_t broker_id, int rtt_ms);
  // The next count requests of Kafka API api_key fail with Kafka error code
  // error_code; count 0 clears what is still pending for api_key.
  void fail_requests(int16_t api_key, int count, int error_code);

  void stop();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace goka
