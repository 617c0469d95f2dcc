#include "kafka/group_consumer.hpp"

#include <fmt/format.h>

#include "core/log.hpp"
#include "kafka/message.hpp"

namespace goka::kafka {
namespace {

void rebalance_trampoline(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* partitions, void*) {
  auto* events = static_cast<ClientEvents*>(rd_kafka_opaque(rk));
  static_cast<KafkaGroupConsumer*>(events->owner)->rebalance(err, partitions);
}

std::vector<core::TopicPartition> to_vector(const rd_kafka_topic_partition_list_t* list) {
  std::vector<core::TopicPartition> out;
  for (int i = 0; list != nullptr && i < list->cnt; ++i) {
    out.push_back({list->elems[i].topic, list->elems[i].partition, list->elems[i].offset});
  }
  return out;
}

PartitionListPtr to_list(const std::vector<core::TopicPartition>& partitions) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (const auto& tp : partitions) {
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition)->offset =
        tp.offset;
  }
  return list;
}

}  // namespace

KafkaGroupConsumer::KafkaGroupConsumer(const ClientOptions& options, const std::string& group,
                                       core::StartPolicy start, core::RebalanceHandler& handler)
    : group_(group), handler_(handler), events_(std::make_unique<ClientEvents>(options)) {
  events_->owner = this;
  Properties defaults{
      {"group.id", group},
      {"partition.assignment.strategy", "range"},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "false"},
      {"auto.offset.reset", start == core::StartPolicy::earliest ? "earliest" : "latest"},
      {"fetch.wait.max.ms", "100"},
      // A member that died is replaced after this long (Kafka's classic
      // default). A broker away for less (5 s, say) costs no rebalance, so
      // offsets processed meanwhile are committed once it is back, not
      // processed again.
      {"session.timeout.ms", "10000"},
      {"heartbeat.interval.ms", "1000"},
  };
  // Records fetched ahead, all partitions together (~300 bytes each):
  // librdkafka's default of 100,000 was most of a count processor's memory.
  // With the kicker 5,000 is as fast as 20,000 on either broker (count of 1M
  // on 10 partitions) and 3-5 MB smaller; 2,000 costs CPU.
  add_fetch_ahead(defaults, options, 5000);
  std::string reset = defaults["auto.offset.reset"];
  if (auto it = options.properties.find("auto.offset.reset"); it != options.properties.end()) {
    reset = it->second;
  }
  bool earliest = reset == "earliest" || reset == "smallest" || reset == "beginning";
  uncommitted_start_ = earliest ? RD_KAFKA_OFFSET_BEGINNING
                       : reset == "error" ? RD_KAFKA_OFFSET_INVALID
                                          : RD_KAFKA_OFFSET_END;
  ConfPtr conf = make_conf(options, defaults, *events_);
  rd_kafka_conf_set_rebalance_cb(conf.get(), rebalance_trampoline);
  int64_t queue = FetchKicker::queue_threshold(conf.get());
  handle_ = make_handle(RD_KAFKA_CONSUMER, std::move(conf));
  rd_kafka_poll_set_consumer(handle_.get());
  kicker_ = std::make_unique<FetchKicker>(handle_.get(), queue / 2);
}

KafkaGroupConsumer::~KafkaGroupConsumer() {
  try {
    close();
  } catch (...) {
    // A destructor cannot report; close() explicitly to see errors.
  }
}

void KafkaGroupConsumer::rebalance(rd_kafka_resp_err_t err,
                                   rd_kafka_topic_partition_list_t* partitions) {
  try {
    std::vector<core::TopicPartition> changed = to_vector(partitions);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      set_start_offsets(partitions);
      rd_kafka_assign(handle_.get(), partitions);
      // Paused at once: what was fetched before is dropped by librdkafka and
      // fetched again from the committed offset on resume().
      rd_kafka_pause_partitions(handle_.get(), partitions);
      handler_.on_assigned(changed);
    } else {
      if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) handler_.on_revoked(changed);
      rd_kafka_assign(handle_.get(), nullptr);
    }
  } catch (...) {
    if (!pending_) pending_ = std::current_exception();
    if (err != RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) rd_kafka_assign(handle_.get(), nullptr);
  }
}

// Each partition starts at an absolute offset given before rd_kafka_assign(),
// which then starts the fetchers itself: its committed offset, or where
// auto.offset.reset says when it has none, looked up here. Left to
// librdkafka, the fetchers start later from its main thread, once it has
// looked the committed offsets up, and that races with pause() and resume()
// from this thread: librdkafka 2.0 numbers a partition's operations and
// queues them in two steps, and drops one that arrives after a higher number
// as outdated. A dropped start or resume left a partition that was never
// read (librdkafka issues 2190, 5591). A logical offset would do, but the
// pause below makes its lookup outdated, retried 500 ms later. Where a lookup
// fails (an unstable offset of an open transaction, say), librdkafka looks up
// again itself, as before.
void KafkaGroupConsumer::set_start_offsets(rd_kafka_topic_partition_list_t* partitions) {
  int timeout = static_cast<int>(events_->options().timeout.count());
  if (rd_kafka_resp_err_t err = rd_kafka_committed(handle_.get(), partitions, timeout)) {
    events_->log(LogLevel::info, "cannot read committed offsets before assigning: " +
                                     std::string(rd_kafka_err2str(err)));
    for (int i = 0; i < partitions->cnt; ++i) partitions->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
    return;
  }
  PartitionListPtr uncommitted(rd_kafka_topic_partition_list_new(partitions->cnt));
  for (int i = 0; i < partitions->cnt; ++i) {
    rd_kafka_topic_partition_t& tp = partitions->elems[i];
    if (tp.err) {
      tp.offset = RD_KAFKA_OFFSET_INVALID;
      tp.err = RD_KAFKA_RESP_ERR_NO_ERROR;
    } else if (tp.offset < 0 && uncommitted_start_ != RD_KAFKA_OFFSET_INVALID) {
      tp.offset = uncommitted_start_;
      // ListOffsets reads a timestamp of -2 as the earliest, -1 as the latest.
      rd_kafka_topic_partition_list_add(uncommitted.get(), tp.topic, tp.partition)->offset =
          uncommitted_start_;
    }
  }
  if (uncommitted->cnt == 0 ||
      rd_kafka_offsets_for_times(handle_.get(), uncommitted.get(), timeout) != 0) {
    return;  // logical offsets: librdkafka looks them up
  }
  for (int i = 0; i < uncommitted->cnt; ++i) {
    const rd_kafka_topic_partition_t& found = uncommitted->elems[i];
    if (found.err || found.offset < 0) continue;
    rd_kafka_topic_partition_list_find(partitions, found.topic, found.partition)->offset =
        found.offset;
  }
}

void KafkaGroupConsumer::rethrow_pending() {
  if (pending_) std::rethrow_exception(std::exchange(pending_, nullptr));
}

void KafkaGroupConsumer::subscribe(const std::vector<std::string>& topics) {
  std::vector<core::TopicPartition> list;
  for (const auto& topic : topics) list.push_back({topic, RD_KAFKA_PARTITION_UA, -1});
  PartitionListPtr subscription = to_list(list);
  if (rd_kafka_resp_err_t err = rd_kafka_subscribe(handle_.get(), subscription.get())) {
    throw_kafka_error(err, "cannot subscribe", *events_, {.detail = "group " + group_});
  }
}

void KafkaGroupConsumer::poll(std::vector<Record>& out, std::chrono::milliseconds wait) {
  constexpr int kMaxBatch = 2048;
  for (int i = 0; i < kMaxBatch; ++i) {
    MessagePtr msg(
        rd_kafka_consumer_poll(handle_.get(), i == 0 ? static_cast<int>(wait.count()) : 0));
    rethrow_pending();
    if (!msg) return;
    if (msg->err) {
      std::string topic = msg->rkt ? rd_kafka_topic_name(msg->rkt) : "";
      switch (msg->err) {
        case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
        case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
        case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
        case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
        case RD_KAFKA_RESP_ERR_INCONSISTENT_GROUP_PROTOCOL:
          // Go Goka's members join with their own "copartition" assignor,
          // which librdkafka cannot offer: retrying would wait forever.
          throw Error(Errc::kafka,
                      fmt::format("cannot join consumer group {}: its members use another group "
                                  "protocol (partition assignor; Go Goka's copartition?): C++ "
                                  "and Go instances cannot share one group",
                                  group_),
                      {.detail = "group " + group_});
        case RD_KAFKA_RESP_ERR__FATAL:
          throw Error(msg->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                              msg->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC
                          ? Errc::not_found
                          : Errc::kafka,
                      fmt::format("cannot consume: {}", rd_kafka_message_errstr(msg.get())),
                      {.topic = topic, .partition = msg->partition, .detail = "group " + group_});
        default:  // transport and other passing errors: librdkafka retries
          // (the processor's client options prefix the group)
          events_->log(LogLevel::info, core::event_prefix("", topic, msg->partition) +
                                           rd_kafka_message_errstr(msg.get()));
          continue;
      }
    }
    if (kicker_) kicker_->consumed(*msg);
    Record& record = out.emplace_back();
    record.topic = rd_kafka_topic_name(msg->rkt);
    to_record(*msg, record, headers_);
  }
}

void KafkaGroupConsumer::pause(const std::vector<core::TopicPartition>& partitions) {
  if (partitions.empty()) return;
  rd_kafka_pause_partitions(handle_.get(), to_list(partitions).get());
}

void KafkaGroupConsumer::resume(const std::vector<core::TopicPartition>& partitions) {
  if (partitions.empty()) return;
  PartitionListPtr list = to_list(partitions);
  for (int i = 0; i < list->cnt; ++i) list->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
  rd_kafka_resume_partitions(handle_.get(), list.get());
  // A seek below wakes the broker thread itself; the others are woken here.
  if (kicker_) {
    std::vector<FetchKicker::Partition> woken;
    for (const auto& tp : partitions) {
      if (tp.offset < 0) woken.emplace_back(tp.topic, tp.partition);
    }
    if (!woken.empty()) kicker_->resumed(woken);
  }
  // librdkafka resumes at the position it saved when pausing, which is not
  // always right after the last message handed over (before the first one,
  // it falls back to the committed offset): where the caller knows, seek.
  std::vector<core::TopicPartition> seek;
  for (const auto& tp : partitions) {
    if (tp.offset >= 0) seek.push_back(tp);
  }
  if (seek.empty()) return;
  PartitionListPtr seeks = to_list(seek);
  if (rd_kafka_error_t* error = rd_kafka_seek_partitions(handle_.get(), seeks.get(), 0)) {
    std::string what = rd_kafka_error_string(error);
    rd_kafka_error_destroy(error);
    throw Error(Errc::kafka, "cannot continue after the last message handed over: " + what,
                {.detail = "group " + group_});
  }
}

void KafkaGroupConsumer::rewind(const std::vector<core::TopicPartition>& partitions) {
  if (partitions.empty()) return;
  PartitionListPtr seeks = to_list(partitions);
  // With a timeout, nothing fetched before the seek reaches poll() after it.
  int timeout = static_cast<int>(events_->options().timeout.count());
  if (rd_kafka_error_t* error = rd_kafka_seek_partitions(handle_.get(), seeks.get(), timeout)) {
    std::string what = rd_kafka_error_string(error);
    rd_kafka_error_destroy(error);
    throw Error(Errc::kafka, "cannot rewind to the committed offsets: " + what,
                {.detail = "group " + group_});
  }
  for (int i = 0; i < seeks->cnt; ++i) {
    if (seeks->elems[i].err) {
      throw Error(Errc::kafka,
                  fmt::format("cannot rewind to the committed offset: {}",
                              rd_kafka_err2str(seeks->elems[i].err)),
                  {.topic = seeks->elems[i].topic, .partition = seeks->elems[i].partition,
                   .offset = seeks->elems[i].offset, .detail = "group " + group_});
    }
  }
}

void KafkaGroupConsumer::commit(const std::vector<core::TopicPartition>& offsets) {
  if (offsets.empty()) return;
  PartitionListPtr list = to_list(offsets);
  rd_kafka_resp_err_t err = rd_kafka_commit(handle_.get(), list.get(), 0);
  for (int i = 0; !err && i < list->cnt; ++i) err = list->elems[i].err;
  if (err) {
    throw Error(Errc::kafka, fmt::format("cannot commit offsets: {}", rd_kafka_err2str(err)),
                {.detail = "group " + group_});
  }
}

std::optional<int64_t> KafkaGroupConsumer::fetched_low_watermark(const std::string& topic,
                                                                 int32_t partition) const {
  int64_t low = RD_KAFKA_OFFSET_INVALID, high = RD_KAFKA_OFFSET_INVALID;
  if (rd_kafka_get_watermark_offsets(handle_.get(), topic.c_str(), partition, &low, &high) ||
      low < 0) {
    return std::nullopt;
  }
  return low;
}

std::optional<int64_t> KafkaGroupConsumer::fetched_high_watermark(const std::string& topic,
                                                                  int32_t partition) const {
  int64_t low = RD_KAFKA_OFFSET_INVALID, high = RD_KAFKA_OFFSET_INVALID;
  if (rd_kafka_get_watermark_offsets(handle_.get(), topic.c_str(), partition, &low, &high) ||
      high < 0) {
    return std::nullopt;
  }
  return high;
}

std::optional<int64_t> KafkaGroupConsumer::position(const std::string& topic,
                                                    int32_t partition) const {
  PartitionListPtr list = to_list({{topic, partition, RD_KAFKA_OFFSET_INVALID}});
  if (rd_kafka_position(handle_.get(), list.get()) || list->elems[0].err ||
      list->elems[0].offset < 0) {
    return std::nullopt;
  }
  return list->elems[0].offset;
}

std::vector<core::TopicPartition> KafkaGroupConsumer::committed(
    const std::vector<core::TopicPartition>& partitions) {
  PartitionListPtr list = to_list(partitions);
  rd_kafka_resp_err_t err = rd_kafka_committed(
      handle_.get(), list.get(), static_cast<int>(events_->options().timeout.count()));
  if (err)
    throw_kafka_error(err, "cannot read committed offsets", *events_,
                      {.detail = "group " + group_});
  std::vector<core::TopicPartition> out = to_vector(list.get());
  for (auto& tp : out) tp.offset = tp.offset >= 0 ? tp.offset : -1;
  return out;
}

void KafkaGroupConsumer::close() {
  if (closed_) return;
  closed_ = true;
  kicker_.reset();
  rd_kafka_consumer_close(handle_.get());  // revokes through the handler
  rethrow_pending();
}

}  // namespace goka::kafka
