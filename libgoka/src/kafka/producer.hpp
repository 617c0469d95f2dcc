#pragma once
// core::Producer on librdkafka: an idempotent producer with a thread that
// serves delivery reports; with a transactional id, a transactional one
// (exactly-once processing).

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "core/backend.hpp"
#include "kafka/client.hpp"

namespace goka::kafka {

class KafkaProducer final : public core::Producer {
 public:
  // Throws Errc::config for a bad property.
  // A non-empty transactional_id makes a transactional producer, whose
  // transactions are initialised here (throws Errc::kafka / Errc::timeout
  // when that fails; fences an earlier producer with that id).
  KafkaProducer(const ClientOptions& options, core::DeliveryHandler& handler,
                const std::string& transactional_id = {});
  // Flushes at most options.timeout, then stops; undelivered records fail.
  ~KafkaProducer() override;

  void produce(const std::string& topic, int32_t partition, const std::optional<std::string>& key,
               const std::optional<std::string>& value, const Headers& headers, int64_t timestamp,
               void* tag) override;
  bool flush(std::chrono::milliseconds timeout) override;
  void prepare(const std::string& topic) override;
  void begin_transaction() override;
  bool commit_transaction(const std::vector<core::TopicPartition>& offsets,
                          core::GroupConsumer& group) override;
  void abort_transaction() override;
  std::optional<Error> fatal_error() const override;

  // The delivery report of one record (on the poller thread).
  void delivered(const rd_kafka_message_t& msg) noexcept;

 private:
  void record_done();
  // The handle of topic, made at its first record and kept while the
  // producer lives: naming the topic in each rd_kafka_producev() took
  // librdkafka's client-wide write lock for every record. Any thread;
  // throws Errc::kafka when librdkafka refuses the name.
  rd_kafka_topic_t* topic_handle(const std::string& topic);
  // Throws the fatal error of a transactional call; destroys error.
  [[noreturn]] void throw_fatal(rd_kafka_error_t* error, const std::string& what);


  core::DeliveryHandler& handler_;
  Delivery delivery_;  // reused by every report: no allocation per record
  std::unique_ptr<ClientEvents> events_;
  HandlePtr handle_;
  // Guarded by topics_mutex_; destroyed before handle_.
  std::shared_mutex topics_mutex_;
  std::unordered_map<std::string, TopicPtr> topics_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> in_flight_{0};
  std::mutex mutex_;
  std::condition_variable idle_;
  std::thread poller_;
  const bool transactional_;
  // Transactions flush on the calling thread, which may then serve reports
  // beside the poller: reports are serialised (transactional only).
  std::mutex delivery_mutex_;
};

}  // namespace goka::kafka
