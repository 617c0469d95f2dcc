#pragma once
// Topic requests to the embedded broker: librdkafka's mock cluster never
// answers CreateTopics, but the process that runs it can create topics. That
// process listens on a unix socket named after its broker port in a
// per-user directory, so that a client that knows only the bootstrap address
// (and that the cluster is the embedded one) finds it:
//
//   $XDG_RUNTIME_DIR/goka-broker/PORT       when XDG_RUNTIME_DIR is set
//   ${TMPDIR:-/tmp}/goka-broker-UID/PORT    otherwise
//
// A broker of several ports answers on each (symbolic links to one socket).
// The protocol: one request line per connection, one answer line.
//   create PARTITIONS NAME  ->  ok | exists | error TEXT

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace goka::kafka {

// The directory the sockets live in (not created here).
std::filesystem::path topic_request_directory();

// What a topic request server does with a request to create topic name with
// partitions partitions: "ok", "exists" or "error TEXT". Called on the
// server's thread; must not throw.
using CreateTopicHandler = std::function<std::string(const std::string& name, int32_t partitions)>;

// Serves topic requests for the broker ports ports on a thread of its own
// until destruction. Not copyable.
class TopicRequestServer {
 public:
  // Throws goka::Error(Errc::runtime) naming the path when it cannot listen
  // (the directory cannot be made, the path is too long for a socket, ...).
  TopicRequestServer(const std::vector<int>& ports, CreateTopicHandler create);
  ~TopicRequestServer();
  TopicRequestServer(const TopicRequestServer&) = delete;
  TopicRequestServer& operator=(const TopicRequestServer&) = delete;

  // The socket's path (that of the first port).
  const std::filesystem::path& path() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The ports of the loopback addresses ("127.0.0.1:PORT", "localhost:PORT",
// "[::1]:PORT") of a bootstrap list; other hosts are left out.
std::vector<int> loopback_ports(const std::string& bootstrap);

// Asks the embedded broker behind bootstrap to create topic name. Returns the
// answer line ("ok", "exists", "error TEXT"), or std::nullopt when no
// process of this user serves topic requests for any of bootstrap's loopback
// ports. Throws goka::Error(Errc::timeout) when a server takes longer than
// timeout to answer.
std::optional<std::string> request_topic(const std::string& bootstrap, const std::string& name,
                                         int32_t partitions, std::chrono::milliseconds timeout);

}  // namespace goka::kafka
