#include "kafka/producer.hpp"

#include <fmt/format.h>

namespace goka::kafka {
namespace {

void delivery_trampoline(rd_kafka_t* rk, const rd_kafka_message_t* msg, void*) {
  auto* events = static_cast<ClientEvents*>(rd_kafka_opaque(rk));
  static_cast<KafkaProducer*>(events->owner)->delivered(*msg);
}

}  // namespace

void KafkaProducer::delivered(const rd_kafka_message_t& msg) noexcept {
  try {
    delivery_.topic = rd_kafka_topic_name(msg.rkt);
    delivery_.partition = msg.partition;
    delivery_.offset = msg.err ? -1 : msg.offset;
    delivery_.error.reset();
    if (msg.err) {
      delivery_.error = Error(Errc::kafka, fmt::format("produce failed: {}", rd_kafka_err2str(msg.err)),
                              {.topic = delivery_.topic, .partition = msg.partition});
    }
  } catch (...) {
    delivery_.error = Error(Errc::runtime, "out of memory reporting a delivery");
  }
  handler_.on_delivery(delivery_, msg._private);
  record_done();
}

KafkaProducer::KafkaProducer(const ClientOptions& options, core::DeliveryHandler& handler)
    : handler_(handler), events_(std::make_unique<ClientEvents>(options)) {
  Properties defaults{
      {"enable.idempotence", "true"},  // order per partition survives retries
      {"linger.ms", "5"},
      {"queue.buffering.max.messages", "500000"},
      {"message.timeout.ms", std::to_string(std::max<int64_t>(options.timeout.count(), 1000))},
  };
  events_->owner = this;
  ConfPtr conf = make_conf(options, defaults, *events_);
  rd_kafka_conf_set_dr_msg_cb(conf.get(), delivery_trampoline);
  handle_ = make_handle(RD_KAFKA_PRODUCER, std::move(conf));
  poller_ = std::thread([this] {
    while (!stopping_.load(std::memory_order_relaxed)) rd_kafka_poll(handle_.get(), 50);
  });
}

KafkaProducer::~KafkaProducer() {
  flush(events_->options().timeout);
  stopping_ = true;
  rd_kafka_yield(handle_.get());  // wakes the poller at once
  poller_.join();
  // Records still queued fail now, and their reports run here.
  rd_kafka_purge(handle_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_poll(handle_.get(), 0);
}

void KafkaProducer::produce(const std::string& topic, int32_t partition,
                            const std::optional<std::string>& key,
                            const std::optional<std::string>& value, const Headers& headers,
                            int64_t timestamp, void* tag) {
  rd_kafka_headers_t* hdrs = nullptr;
  if (!headers.empty()) {
    hdrs = rd_kafka_headers_new(headers.size());
    for (const auto& [name, val] : headers) {
      rd_kafka_header_add(hdrs, name.data(), static_cast<ssize_t>(name.size()), val.data(),
                          static_cast<ssize_t>(val.size()));
    }
  }
  in_flight_.fetch_add(1, std::memory_order_relaxed);
  const void* key_data = key ? key->data() : nullptr;
  size_t key_size = key ? key->size() : 0;
  void* value_data = value ? const_cast<char*>(value->data()) : nullptr;  // copied (F_COPY)
  size_t value_size = value ? value->size() : 0;
  rd_kafka_resp_err_t err = rd_kafka_producev(
      handle_.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY | RD_KAFKA_MSG_F_BLOCK),
      RD_KAFKA_V_KEY(key_data, key_size), RD_KAFKA_V_VALUE(value_data, value_size),
      RD_KAFKA_V_TIMESTAMP(timestamp), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(tag),
      RD_KAFKA_V_END);
  if (err) {
    record_done();
    if (hdrs != nullptr) rd_kafka_headers_destroy(hdrs);
    throw Error(Errc::kafka, fmt::format("cannot produce: {}", rd_kafka_err2str(err)),
                {.topic = topic, .partition = partition});
  }
}

void KafkaProducer::record_done() {
  if (in_flight_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    std::lock_guard lock(mutex_);
    idle_.notify_all();
  }
}

void KafkaProducer::prepare(const std::string& topic) {
  std::unique_ptr<rd_kafka_topic_t, decltype(&rd_kafka_topic_destroy)> rkt(
      rd_kafka_topic_new(handle_.get(), topic.c_str(), nullptr), &rd_kafka_topic_destroy);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(handle_.get(), 0, rkt.get(), &md,
                                              static_cast<int>(events_->options().timeout.count()));
  if (err) throw_kafka_error(err, "cannot get metadata", *events_, {.topic = topic});
  rd_kafka_metadata_destroy(md);
}

bool KafkaProducer::flush(std::chrono::milliseconds timeout) {
  // Delivery reports are served by the poller thread alone (so completions
  // never run concurrently); flush only waits for them.
  std::unique_lock lock(mutex_);
  return idle_.wait_for(lock, timeout, [this] { return in_flight_.load() == 0; });
}

}  // namespace goka::kafka
