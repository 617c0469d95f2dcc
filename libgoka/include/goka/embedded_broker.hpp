#pragma once
// EmbeddedBroker: a Kafka-protocol broker on loopback TCP, in memory, for
// development and tests (librdkafka's mock cluster). It keeps only about the
// newest 5 MB of each partition, has no compaction, and never answers a
// client's CreateTopics request. Topics are pre-created here, created by
// create_topic(), or on a client's request through topic requests (below):
// TopicManager and Processor create their topics that way, as on a real
// cluster. A topic a client asks for by name that does not exist is created
// with 4 partitions. Topics cannot be deleted.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace goka {

struct EmbeddedBrokerOptions {
  int brokers = 1;                                      // cluster size
  std::vector<std::pair<std::string, int32_t>> topics;  // pre-created: name, partitions
  // Accept topic creation requests from this user's processes on this
  // machine: a unix socket named after the broker's port, in
  // $XDG_RUNTIME_DIR/goka-broker/ (else ${TMPDIR:-/tmp}/goka-broker-UID/),
  // which libgoka's clients of the broker find from its bootstrap address.
  bool accept_topic_requests = true;
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
  // The socket topic requests are accepted on; empty when they are not (not
  // asked for, or the socket could not be made: then topic_request_error()
  // says why).
  std::string topic_request_socket() const;
  std::string topic_request_error() const;

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
  // A client's request to create a topic: "ok", "exists" or "error TEXT".
  std::string on_topic_request(const std::string& name, int32_t partitions);

  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace goka
