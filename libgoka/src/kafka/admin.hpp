#pragma once
// core::Admin on librdkafka: metadata, watermarks, CreateTopics and
// DescribeConfigs.

#include <atomic>
#include <memory>

#include "core/backend.hpp"
#include "kafka/client.hpp"

namespace goka::kafka {

class KafkaAdmin final : public core::Admin {
 public:
  explicit KafkaAdmin(const ClientOptions& options);

  std::vector<TopicInfo> topics() override;
  // With auto_create, a topic still unknown 3 s after the first request (at
  // most options.timeout) counts as missing: a real Kafka answers the
  // request that makes it create a topic with "unknown topic".
  std::optional<int32_t> partitions(const std::string& topic, bool auto_create) override;
  Watermarks watermarks(const std::string& topic, int32_t partition) override;
  int64_t offset_for_time(const std::string& topic, int32_t partition, int64_t ms) override;
  // Returns once the broker answers metadata for the new topic with a leader
  // for every partition, so that what follows (a producer, a reader, a
  // partition count) finds it; Errc::timeout after options.timeout. On the
  // embedded broker, through its topic requests (kafka/topic_requests.hpp);
  // it keeps no topic configs, so config is not kept there.
  bool create_topic(const std::string& topic, int32_t partitions, const Properties& config) override;
  // DeleteTopics, then waits until the metadata no longer lists topic.
  void delete_topic(const std::string& topic) override;
  // On the embedded broker (which never answers DescribeConfigs): {} at once.
  std::map<std::string, std::string> cleanup_policies(const std::vector<std::string>& topics) override;
  std::vector<core::TopicPartition> committed(const std::string& group,
                                              std::vector<core::TopicPartition> partitions) override;

 private:
  // Waits until topic has a leader for every partition (see create_topic).
  void await_visible(const std::string& topic);
  // Waits until the metadata of all topics no longer lists topic.
  void await_gone(const std::string& topic);
  // create_topic on the embedded broker.
  bool create_embedded_topic(const std::string& topic, int32_t partitions);
  // The result of an admin request (CreateTopics, DeleteTopics) sent to
  // queue, within the timeout; throws for a request that failed as a whole.
  EventPtr admin_result(rd_kafka_queue_t* queue, const char* what, const std::string& topic);
  // Metadata of every topic (never auto-creates one), or of topic alone.
  MetadataPtr metadata(const std::string* topic = nullptr);
  int timeout_ms() const { return static_cast<int>(events_->options().timeout.count()); }
  // Whether the cluster is the embedded broker (librdkafka's mock cluster,
  // cluster id "mockCluster..."), which answers neither CreateTopics nor
  // DescribeConfigs. false while the cluster id is not known.
  bool embedded();
  // Logs text as a warning, the first time only.
  void warn_once(const std::string& text);

  // -1: not known yet; 0: a real cluster; 1: the embedded broker.
  std::atomic<int> embedded_{-1};
  std::atomic<bool> warned_{false};

  std::unique_ptr<ClientEvents> events_;
  HandlePtr handle_;
};

}  // namespace goka::kafka
