// The librdkafka implementation of core::Backend.

#include "core/backend.hpp"

#include <mutex>

#include "kafka/admin.hpp"
#include "kafka/group_consumer.hpp"
#include "kafka/producer.hpp"
#include "kafka/reader.hpp"

namespace goka::core {
namespace {

class KafkaBackend final : public Backend {
 public:
  explicit KafkaBackend(ClientOptions options) : options_(std::move(options)) {}

  std::unique_ptr<Producer> producer(DeliveryHandler& handler) override {
    return std::make_unique<kafka::KafkaProducer>(options_, handler);
  }
  std::unique_ptr<Producer> transactional_producer(DeliveryHandler& handler,
                                                   const std::string& transactional_id) override {
    return std::make_unique<kafka::KafkaProducer>(options_, handler, transactional_id);
  }
  std::unique_ptr<PartitionReader> reader(const std::string& topic) override {
    return std::make_unique<kafka::KafkaReader>(options_, topic);
  }
  Admin& admin() override {
    std::call_once(admin_once_, [this] { admin_ = std::make_unique<kafka::KafkaAdmin>(options_); });
    return *admin_;
  }
  std::unique_ptr<GroupConsumer> group_consumer(const std::string& group, StartPolicy start,
                                                RebalanceHandler& handler) override {
    return std::make_unique<kafka::KafkaGroupConsumer>(options_, group, start, handler);
  }
  std::chrono::milliseconds timeout() const override { return options_.timeout; }

 private:
  ClientOptions options_;
  std::once_flag admin_once_;
  std::unique_ptr<kafka::KafkaAdmin> admin_;
};

}  // namespace

std::shared_ptr<Backend> kafka_backend(ClientOptions options) {
  return std::make_shared<KafkaBackend>(std::move(options));
}

}  // namespace goka::core
