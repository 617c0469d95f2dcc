#include "goka/emitter.hpp"

#include <fmt/format.h>

#include <atomic>
#include <mutex>

#include "core/backend.hpp"
#include "goka/hasher.hpp"

namespace goka {

struct Emitter::State final : core::DeliveryHandler {
  using Callback = Emitter::Callback;
  std::string topic;
  int32_t partitions = 0;
  std::chrono::milliseconds timeout{0};

  std::atomic<bool> finished{false};
  std::atomic<int64_t> emitted{0};
  std::atomic<int64_t> acknowledged{0};
  std::mutex finish_mutex;  // one finish() at a time
  std::mutex mutex;         // guards first_error and summary
  std::optional<Error> first_error;
  std::optional<EmitSummary> summary;
  // Last, so it is destroyed first: its destructor completes what is still
  // queued, and those completions count into the members above.
  std::unique_ptr<core::Producer> producer;

  // tag: the caller's Callback, owned by the record, or null.
  void on_delivery(const Delivery& delivery, void* tag) noexcept override {
    std::unique_ptr<Callback> done(static_cast<Callback*>(tag));
    std::optional<Error> failure = delivery.error;
    if (done) {
      try {
        (*done)(delivery);
      } catch (const std::exception& e) {
        failure = Error(Errc::runtime, fmt::format("emit callback failed: {}", e.what()),
                        {.topic = delivery.topic, .partition = delivery.partition});
      } catch (...) {
        failure = Error(Errc::runtime, "emit callback failed",
                        {.topic = delivery.topic, .partition = delivery.partition});
      }
    }
    if (!failure) {
      acknowledged.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    std::lock_guard lock(mutex);
    if (!first_error) first_error = std::move(failure);
  }
};

Emitter::Emitter(std::string topic, ClientOptions options)
    : Emitter(std::move(topic), core::kafka_backend(std::move(options))) {}

Emitter::Emitter(std::string topic, std::shared_ptr<core::Backend> backend)
    : state_(std::make_unique<State>()) {
  // As Go Goka's and kcat's producers do, a missing topic is created when the
  // broker creates topics on request.
  std::optional<int32_t> count = backend->admin().partitions(topic, /*auto_create=*/true);
  if (!count) {
    throw Error(Errc::not_found, "topic does not exist and the broker did not create it",
                {.topic = topic});
  }
  state_->topic = std::move(topic);
  state_->partitions = *count;
  state_->timeout = backend->timeout();
  state_->producer = backend->producer(*state_);
  state_->producer->prepare(state_->topic);
}

Emitter::~Emitter() {
  if (state_) finish();
}

const std::string& Emitter::topic() const { return state_->topic; }
int32_t Emitter::partitions() const { return state_->partitions; }

void Emitter::emit(Message message, Callback done) {
  if (state_->finished.load()) {
    throw Error(Errc::usage, "emit after finish", {.topic = state_->topic});
  }
  int32_t partition = message.partition;
  if (partition < 0) {
    partition = message.key ? partition_for(*message.key, state_->partitions) : 0;
  } else if (partition >= state_->partitions) {
    throw Error(Errc::usage,
                fmt::format("partition {} out of range: the topic has {}", partition,
                            state_->partitions),
                {.topic = state_->topic});
  }
  // Owned by the record until its delivery report; none when not needed.
  std::unique_ptr<Callback> tag = done ? std::make_unique<Callback>(std::move(done)) : nullptr;
  // Counted before producing, so that a report arriving at once never finds
  // more acknowledged than emitted; taken back when nothing was queued.
  state_->emitted.fetch_add(1, std::memory_order_relaxed);
  try {
    state_->producer->produce(state_->topic, partition, message.key, message.value,
                              message.headers, message.timestamp, tag.get());
  } catch (...) {
    state_->emitted.fetch_sub(1, std::memory_order_relaxed);
    throw;
  }
  tag.release();
}

std::future<Delivery> Emitter::emit_async(Message message) {
  auto promise = std::make_shared<std::promise<Delivery>>();
  std::future<Delivery> future = promise->get_future();
  emit(std::move(message), [promise](const Delivery& d) { promise->set_value(d); });
  return future;
}

Delivery Emitter::emit_sync(Message message) {
  Delivery delivery = emit_async(std::move(message)).get();
  if (delivery.error) throw *delivery.error;
  return delivery;
}

EmitSummary Emitter::finish() {
  std::lock_guard finish_lock(state_->finish_mutex);
  if (state_->summary) return *state_->summary;
  state_->finished = true;
  // librdkafka fails a record after message.timeout.ms; wait a little longer
  // than that so every record has its report.
  state_->producer->flush(state_->timeout + std::chrono::seconds(5));
  std::lock_guard lock(state_->mutex);
  EmitSummary summary;
  summary.emitted = state_->emitted.load();
  summary.acknowledged = state_->acknowledged.load();
  summary.failed = summary.emitted - summary.acknowledged;
  summary.first_error = state_->first_error;
  if (summary.failed > 0 && !summary.first_error) {
    summary.first_error = Error(Errc::timeout, "records were not acknowledged in time",
                                {.topic = state_->topic});
  }
  state_->summary = summary;
  return summary;
}

}  // namespace goka
