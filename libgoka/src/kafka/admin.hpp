#pragma once
// core::Admin on librdkafka: metadata, watermarks and CreateTopics.

#include <memory>

#include "core/backend.hpp"
#include "kafka/client.hpp"

namespace goka::kafka {

class KafkaAdmin final : public core::Admin {
 public:
  explicit KafkaAdmin(const ClientOptions& options);

  std::vector<TopicInfo> topics() override;
  std::optional<int32_t> partitions(const std::string& topic, bool auto_create) override;
  Watermarks watermarks(const std::string& topic, int32_t partition) override;
  int64_t offset_for_time(const std::string& topic, int32_t partition, int64_t ms) override;
  void create_topic(const std::string& topic, int32_t partitions, const Properties& config) override;
  std::vector<core::TopicPartition> committed(const std::string& group,
                                              std::vector<core::TopicPartition> partitions) override;

 private:
  // Metadata of every topic (never auto-creates one), or of topic alone.
  MetadataPtr metadata(const std::string* topic = nullptr);
  int timeout_ms() const { return static_cast<int>(events_->options().timeout.count()); }

  std::unique_ptr<ClientEvents> events_;
  HandlePtr handle_;
};

}  // namespace goka::kafka
