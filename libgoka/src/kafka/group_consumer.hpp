#pragma once
// core::GroupConsumer on librdkafka: a consumer group member with the range
// assignor, manual commits, and rebalances handed to a RebalanceHandler.

#include <exception>
#include <memory>

#include "core/backend.hpp"
#include "kafka/client.hpp"
#include "kafka/fetch_kicker.hpp"

namespace goka::kafka {

class KafkaGroupConsumer final : public core::GroupConsumer {
 public:
  KafkaGroupConsumer(const ClientOptions& options, const std::string& group,
                     core::StartPolicy start, core::RebalanceHandler& handler);
  ~KafkaGroupConsumer() override;

  void subscribe(const std::vector<std::string>& topics) override;
  void poll(std::vector<Record>& out, std::chrono::milliseconds wait) override;
  void read_headers(bool on) override { headers_ = on; }
  void pause(const std::vector<core::TopicPartition>& partitions) override;
  void resume(const std::vector<core::TopicPartition>& partitions) override;
  void rewind(const std::vector<core::TopicPartition>& partitions) override;
  void commit(const std::vector<core::TopicPartition>& offsets) override;
  std::vector<core::TopicPartition> committed(
      const std::vector<core::TopicPartition>& partitions) override;
  std::optional<int64_t> fetched_low_watermark(const std::string& topic,
                                               int32_t partition) const override;
  std::optional<int64_t> fetched_high_watermark(const std::string& topic,
                                                int32_t partition) const override;
  std::optional<int64_t> position(const std::string& topic, int32_t partition) const override;
  void close() override;

  // The handle, for the group metadata a transactional producer sends.
  rd_kafka_t* handle() const { return handle_.get(); }

  // The rebalance callback (librdkafka's thread calling poll()).
  void rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions);

 private:
  void rethrow_pending();
  void set_start_offsets(rd_kafka_topic_partition_list_t* partitions);

  std::string group_;
  core::RebalanceHandler& handler_;
  std::unique_ptr<ClientEvents> events_;
  HandlePtr handle_;
  std::unique_ptr<FetchKicker> kicker_;  // until close()
  bool closed_ = false;
  bool headers_ = true;  // read_headers()
  int64_t uncommitted_start_;  // where a partition without a commit starts (logical)
  std::exception_ptr pending_;  // thrown by the handler inside librdkafka
};

}  // namespace goka::kafka
