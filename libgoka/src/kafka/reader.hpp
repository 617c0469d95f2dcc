#pragma once
// core::PartitionReader on librdkafka's simple consumer: partitions started
// and stopped one by one into one queue, no group, nothing committed (as
// kcat reads).

#include <map>
#include <memory>

#include "core/backend.hpp"
#include "kafka/client.hpp"
#include "kafka/fetch_kicker.hpp"

namespace goka::kafka {

class KafkaReader final : public core::PartitionReader {
 public:
  KafkaReader(const ClientOptions& options, std::string topic);
  ~KafkaReader() override;

  void start(int32_t partition, int64_t offset) override;
  void stop(int32_t partition) override;
  void poll(std::vector<Record>& out, std::chrono::milliseconds wait) override;
  std::size_t visit(std::chrono::milliseconds wait, bool headers,
                    const std::function<void(const Record&)>& each) override;
  int64_t position(int32_t partition) override;

 private:
  // Takes what arrives within wait and calls fill(message) with every
  // record of a started partition, which returns its offset; throws the
  // first fatal error after the batch.
  template <typename Fill>
  void consume(std::chrono::milliseconds wait, Fill&& fill);

  std::string topic_;
  std::unique_ptr<ClientEvents> events_;
  HandlePtr handle_;
  TopicPtr rkt_;
  QueuePtr queue_;
  std::map<int32_t, int64_t> position_;  // per started partition: the next offset
  std::vector<rd_kafka_message_t*> batch_;
  Record scratch_;  // visit()'s record, reused
  std::unique_ptr<FetchKicker> kicker_;  // before the handle goes
};

}  // namespace goka::kafka
