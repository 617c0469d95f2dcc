#pragma once
// core::PartitionReader on librdkafka: a consumer with manual assignment and
// no group.

#include <map>
#include <memory>

#include "core/backend.hpp"
#include "kafka/client.hpp"

namespace goka::kafka {

class KafkaReader final : public core::PartitionReader {
 public:
  KafkaReader(const ClientOptions& options, std::string topic);
  ~KafkaReader() override;

  void start(int32_t partition, int64_t offset) override;
  void stop(int32_t partition) override;
  void poll(std::vector<Record>& out, std::chrono::milliseconds wait) override;
  int64_t position(int32_t partition) override;

 private:
  void reassign();

  std::string topic_;
  std::unique_ptr<ClientEvents> events_;
  HandlePtr handle_;
  QueuePtr queue_;
  std::map<int32_t, int64_t> next_offset_;  // per started partition
  bool assignment_changed_ = false;
  std::vector<rd_kafka_message_t*> batch_;
};

}  // namespace goka::kafka
