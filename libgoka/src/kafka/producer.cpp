#include "kafka/producer.hpp"

#include <fmt/format.h>

#include "kafka/group_consumer.hpp"

namespace goka::kafka {
namespace {

void delivery_trampoline(rd_kafka_t* rk, const rd_kafka_message_t* msg, void*) {
  auto* events = static_cast<ClientEvents*>(rd_kafka_opaque(rk));
  static_cast<KafkaProducer*>(events->owner)->delivered(*msg);
}

}  // namespace

void KafkaProducer::delivered(const rd_kafka_message_t& msg) noexcept {
  std::unique_lock serial(delivery_mutex_, std::defer_lock);
  if (transactional_) serial.lock();
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

KafkaProducer::KafkaProducer(const ClientOptions& options, core::DeliveryHandler& handler,
                             const std::string& transactional_id)
    : handler_(handler),
      events_(std::make_unique<ClientEvents>(options)),
      transactional_(!transactional_id.empty()) {
  Properties defaults{
      {"enable.idempotence", "true"},  // order per partition survives retries
      {"linger.ms", "5"},
      // A short queue: librdkafka walks every queued message several times
      // (building the request, setting offsets, reporting) on threads other
      // than the one that queued it; with 500,000 queued each walk missed the
      // cache, and emit of 1M small messages took 1.5-1.7 CPU s and 6-9 s
      // (embedded broker and a real Kafka alike), 0.65-0.8 CPU s and 1-2.5 s
      // with 20,000. produce() blocks while the queue is full
      // (RD_KAFKA_MSG_F_BLOCK): a delivery callback must not produce.
      {"queue.buffering.max.messages", "20000"},
      {"message.timeout.ms", std::to_string(std::max<int64_t>(options.timeout.count(), 1000))},
  };
  if (transactional_) defaults.emplace("transactional.id", transactional_id);
  events_->owner = this;
  ConfPtr conf = make_conf(options, defaults, *events_);
  rd_kafka_conf_set_dr_msg_cb(conf.get(), delivery_trampoline);
  handle_ = make_handle(RD_KAFKA_PRODUCER, std::move(conf));
  poller_ = std::thread([this] {
    while (!stopping_.load(std::memory_order_relaxed)) rd_kafka_poll(handle_.get(), 50);
  });
  if (!transactional_) return;
  if (rd_kafka_error_t* error =
          rd_kafka_init_transactions(handle_.get(), static_cast<int>(options.timeout.count()))) {
    std::string what = rd_kafka_error_string(error);
    bool timed_out = rd_kafka_error_code(error) == RD_KAFKA_RESP_ERR__TIMED_OUT;
    rd_kafka_error_destroy(error);
    stopping_ = true;
    poller_.join();
    throw Error(timed_out ? Errc::timeout : Errc::kafka,
                "cannot initialise transactions: " + what,
                {.detail = "transactional.id " + transactional_id});
  }
}

void KafkaProducer::throw_fatal(rd_kafka_error_t* error, const std::string& what) {
  std::string text = rd_kafka_error_string(error);
  rd_kafka_resp_err_t code = rd_kafka_error_code(error);
  rd_kafka_error_destroy(error);
  if (code == RD_KAFKA_RESP_ERR__FATAL) {
    char reason[512] = "";
    code = rd_kafka_fatal_error(handle_.get(), reason, sizeof reason);
    text = reason;
  }
  bool fenced = code == RD_KAFKA_RESP_ERR__FENCED || code == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
                code == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH;
  throw Error(Errc::kafka,
              fenced ? fmt::format("{}: fenced, another instance with the same transactional.id "
                                   "took over: {}",
                                   what, text)
                     : fmt::format("{}: {}", what, text));
}

std::optional<Error> KafkaProducer::fatal_error() const {
  char reason[512] = "";
  rd_kafka_resp_err_t code = rd_kafka_fatal_error(handle_.get(), reason, sizeof reason);
  if (!code) return std::nullopt;
  bool fenced = code == RD_KAFKA_RESP_ERR__FENCED || code == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
                code == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH;
  return Error(Errc::kafka, fenced ? fmt::format("fenced, another instance with the same "
                                                 "transactional.id took over: {}",
                                                 reason)
                                   : fmt::format("the producer failed: {}", reason));
}

void KafkaProducer::begin_transaction() {
  if (rd_kafka_error_t* error = rd_kafka_begin_transaction(handle_.get())) {
    throw_fatal(error, "cannot begin a transaction");
  }
}

bool KafkaProducer::commit_transaction(const std::vector<core::TopicPartition>& offsets,
                                       core::GroupConsumer& group) {
  // Reports are served by the poller: wait for them here, so that the
  // commit's own flush has none left to serve on this thread.
  flush(events_->options().timeout);
  auto& consumer = dynamic_cast<KafkaGroupConsumer&>(group);
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  for (const auto& tp : offsets) {
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition)->offset =
        tp.offset;
  }
  rd_kafka_error_t* error = nullptr;
  int timeout = static_cast<int>(events_->options().timeout.count());
  if (!offsets.empty()) {
    std::unique_ptr<rd_kafka_consumer_group_metadata_t,
                    decltype(&rd_kafka_consumer_group_metadata_destroy)>
        metadata(rd_kafka_consumer_group_metadata(consumer.handle()),
                 &rd_kafka_consumer_group_metadata_destroy);
    error = rd_kafka_send_offsets_to_transaction(handle_.get(), list.get(), metadata.get(),
                                                 timeout);
  }
  // A timeout is retriable: the commit goes on in the background, and
  // calling again resumes it (once; then it counts as failed).
  for (int attempt = 0; !error && attempt < 2; ++attempt) {
    error = rd_kafka_commit_transaction(handle_.get(), timeout);
    if (!error) return true;
    if (!rd_kafka_error_is_retriable(error) || attempt == 1) break;
    rd_kafka_error_destroy(error);
    error = nullptr;
  }
  if (rd_kafka_error_is_fatal(error)) throw_fatal(error, "cannot commit the transaction");
  events_->log(LogLevel::warning,
               std::string("transaction aborted: ") + rd_kafka_error_string(error));
  rd_kafka_error_destroy(error);
  abort_transaction();
  return false;
}

void KafkaProducer::abort_transaction() {
  int timeout = static_cast<int>(events_->options().timeout.count());
  rd_kafka_error_t* error = rd_kafka_abort_transaction(handle_.get(), timeout);
  if (error && rd_kafka_error_is_retriable(error)) {
    rd_kafka_error_destroy(error);
    error = rd_kafka_abort_transaction(handle_.get(), timeout);
  }
  if (error && rd_kafka_error_code(error) == RD_KAFKA_RESP_ERR__STATE) {
    rd_kafka_error_destroy(error);  // no transaction open
    error = nullptr;
  }
  if (error) throw_fatal(error, "cannot abort the transaction");
  flush(events_->options().timeout);  // the purged records' reports
}

KafkaProducer::~KafkaProducer() {
  // A producer that failed fatally (fenced) delivers nothing more: no wait.
  if (!fatal_error()) flush(events_->options().timeout);
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
  rd_kafka_topic_t* rkt;
  try {
    rkt = topic_handle(topic);
  } catch (...) {
    if (hdrs != nullptr) rd_kafka_headers_destroy(hdrs);
    throw;
  }
  in_flight_.fetch_add(1, std::memory_order_relaxed);
  const void* key_data = key ? key->data() : nullptr;
  size_t key_size = key ? key->size() : 0;
  void* value_data = value ? const_cast<char*>(value->data()) : nullptr;  // copied (F_COPY)
  size_t value_size = value ? value->size() : 0;
  rd_kafka_resp_err_t err = rd_kafka_producev(
      handle_.get(), RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(partition),
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

rd_kafka_topic_t* KafkaProducer::topic_handle(const std::string& topic) {
  {
    std::shared_lock lock(topics_mutex_);
    if (auto it = topics_.find(topic); it != topics_.end()) return it->second.get();
  }
  std::unique_lock lock(topics_mutex_);
  TopicPtr& rkt = topics_[topic];
  if (!rkt) rkt.reset(rd_kafka_topic_new(handle_.get(), topic.c_str(), nullptr));
  if (!rkt) {
    topics_.erase(topic);
    throw Error(Errc::kafka,
                fmt::format("cannot produce: {}", rd_kafka_err2str(rd_kafka_last_error())),
                {.topic = topic});
  }
  return rkt.get();
}

void KafkaProducer::prepare(const std::string& topic) {
  rd_kafka_topic_t* rkt = topic_handle(topic);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(handle_.get(), 0, rkt, &md,
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
