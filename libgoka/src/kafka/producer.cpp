#include "kafka/producer.hpp"

#include <fmt/format.h>

namespace goka::kafka {
namespace {

using DoneFn = std::function<void(Delivery)>;

// Delivery reports arrive on the poller thread; the record's opaque owns its
// completion function.
void delivery_trampoline(rd_kafka_t* rk, const rd_kafka_message_t* msg, void*) {
  auto* producer = static_cast<KafkaProducer*>(static_cast<ClientEvents*>(rd_kafka_opaque(rk))->owner);
  // Declared first, so it runs last: flush() returns only once the
  // completion and everything it holds are gone.
  struct Release {
    KafkaProducer* producer;
    ~Release() { producer->record_done(); }
  } release{producer};
  std::unique_ptr<DoneFn> done(static_cast<DoneFn*>(msg->_private));
  if (!done || !*done) return;
  Delivery delivery;
  delivery.topic = rd_kafka_topic_name(msg->rkt);
  delivery.partition = msg->partition;
  if (msg->err) {
    delivery.error = Error(Errc::kafka, fmt::format("produce failed: {}", rd_kafka_err2str(msg->err)),
                           {.topic = delivery.topic, .partition = msg->partition});
  } else {
    delivery.offset = msg->offset;
  }
  try {
    (*done)(std::move(delivery));
  } catch (...) {
    // The Producer contract forbids throwing callbacks; never unwind into C.
  }
}

}  // namespace

KafkaProducer::KafkaProducer(const ClientOptions& options)
    : events_(std::make_unique<ClientEvents>(options)) {
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
  // Records still queued fail now, and their completions run here.
  rd_kafka_purge(handle_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_poll(handle_.get(), 0);
}

void KafkaProducer::produce(const std::string& topic, int32_t partition,
                            const std::optional<std::string>& key,
                            const std::optional<std::string>& value, const Headers& headers,
                            int64_t timestamp, std::function<void(Delivery)> done) {
  rd_kafka_headers_t* hdrs = nullptr;
  if (!headers.empty()) {
    hdrs = rd_kafka_headers_new(headers.size());
    for (const auto& [name, val] : headers) {
      rd_kafka_header_add(hdrs, name.data(), static_cast<ssize_t>(name.size()), val.data(),
                          static_cast<ssize_t>(val.size()));
    }
  }
  auto opaque = std::make_unique<DoneFn>(std::move(done));
  in_flight_.fetch_add(1, std::memory_order_relaxed);
  const void* key_data = key ? key->data() : nullptr;
  size_t key_size = key ? key->size() : 0;
  void* value_data = value ? const_cast<char*>(value->data()) : nullptr;  // copied (F_COPY)
  size_t value_size = value ? value->size() : 0;
  rd_kafka_resp_err_t err = rd_kafka_producev(
      handle_.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY | RD_KAFKA_MSG_F_BLOCK),
      RD_KAFKA_V_KEY(key_data, key_size), RD_KAFKA_V_VALUE(value_data, value_size),
      RD_KAFKA_V_TIMESTAMP(timestamp), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(opaque.get()),
      RD_KAFKA_V_END);
  if (err) {
    record_done();
    if (hdrs != nullptr) rd_kafka_headers_destroy(hdrs);
    throw Error(Errc::kafka, fmt::format("cannot produce: {}", rd_kafka_err2str(err)),
                {.topic = topic, .partition = partition});
  }
  opaque.release();  // owned by the record until its delivery report
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
