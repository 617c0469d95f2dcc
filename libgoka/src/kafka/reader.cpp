#include "kafka/reader.hpp"

#include <fmt/format.h>

#include "kafka/message.hpp"

namespace goka::kafka {

KafkaReader::KafkaReader(const ClientOptions& options, std::string topic)
    : topic_(std::move(topic)), events_(std::make_unique<ClientEvents>(options)) {
  Properties defaults{
      // Manual assignment needs a group id, but nothing is ever committed.
      {"group.id", "goka-reader"},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "false"},
      {"auto.offset.reset", "earliest"},
      {"fetch.wait.max.ms", "100"},
      {"fetch.error.backoff.ms", "100"},
  };
  handle_ = make_handle(RD_KAFKA_CONSUMER, make_conf(options, defaults, *events_));
  queue_.reset(rd_kafka_queue_get_consumer(handle_.get()));
  batch_.resize(4096);
}

KafkaReader::~KafkaReader() {
  rd_kafka_assign(handle_.get(), nullptr);
  queue_.reset();
  rd_kafka_consumer_close(handle_.get());
}

// Starts and stops only mark the assignment; poll() applies it once, as
// librdkafka 2.0 can trip over assignments changed in quick succession.
void KafkaReader::start(int32_t partition, int64_t offset) {
  next_offset_[partition] = offset;
  assignment_changed_ = true;
}

void KafkaReader::stop(int32_t partition) {
  if (next_offset_.erase(partition) > 0) assignment_changed_ = true;
}

void KafkaReader::reassign() {
  assignment_changed_ = false;
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(next_offset_.size())));
  for (const auto& [partition, offset] : next_offset_) {
    rd_kafka_topic_partition_list_add(list.get(), topic_.c_str(), partition)->offset = offset;
  }
  if (rd_kafka_resp_err_t err = rd_kafka_assign(handle_.get(), list.get())) {
    throw_kafka_error(err, "cannot assign partitions", *events_, {.topic = topic_});
  }
}

int64_t KafkaReader::position(int32_t partition) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic_.c_str(), partition);
  if (rd_kafka_position(handle_.get(), list.get()) || list->elems[0].err) return -1;
  auto it = next_offset_.find(partition);
  int64_t read = it == next_offset_.end() ? -1 : it->second;
  return std::max(read, list->elems[0].offset);
}

void KafkaReader::poll(std::vector<Record>& out, std::chrono::milliseconds wait) {
  if (assignment_changed_) reassign();
  ssize_t n = rd_kafka_consume_batch_queue(queue_.get(), static_cast<int>(wait.count()),
                                           batch_.data(), batch_.size());
  if (n < 0) throw_kafka_error(rd_kafka_last_error(), "cannot read", *events_, {.topic = topic_});
  std::optional<Error> failure;
  for (ssize_t i = 0; i < n; ++i) {
    MessagePtr msg(batch_[static_cast<size_t>(i)]);
    if (msg->err) {
      // Transport hiccups are retried by librdkafka; a missing topic or
      // partition, or missing rights, are not.
      switch (msg->err) {
        case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
        case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
        case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
        case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
          if (!failure) {
            failure = Error(msg->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED
                                ? Errc::kafka
                                : Errc::not_found,
                            fmt::format("cannot read: {}", rd_kafka_message_errstr(msg.get())),
                            {.topic = topic_, .partition = msg->partition});
          }
          break;
        default:
          events_->log(LogLevel::info,
                       fmt::format("reading {}: {}", topic_, rd_kafka_message_errstr(msg.get())));
      }
      continue;
    }
    Record& record = out.emplace_back();
    record.topic = topic_;
    to_record(*msg, record);
    next_offset_[record.partition] = record.offset + 1;
  }
  if (failure) throw *failure;
}

}  // namespace goka::kafka
