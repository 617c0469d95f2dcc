#pragma once
// Emitter: writes key-value messages into one topic, partitioned as Go Goka
// does (goka/hasher.hpp), asynchronously, with per-message delivery reports.

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>

#include "goka/client_options.hpp"
#include "goka/error.hpp"
#include "goka/record.hpp"

namespace goka {

namespace core {
class Backend;
}

// The outcome of one emitted message.
struct Delivery {
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;         // the offset the broker gave it, -1 on failure
  std::optional<Error> error;  // set when the message was not written
  bool ok() const { return !error.has_value(); }
};

// What finish() reports: every message emitted, acknowledged or failed.
struct EmitSummary {
  int64_t emitted = 0;
  int64_t acknowledged = 0;
  int64_t failed = 0;
  std::optional<Error> first_error;  // the first failure, if any
};

// One message to emit. A null value is a tombstone (a delete in a table).
struct Message {
  std::optional<std::string> key;    // null: no key (partition 0 unless set)
  std::optional<std::string> value;  // null: tombstone
  Headers headers;
  int64_t timestamp = 0;   // ms since the epoch; 0: the time of emitting
  int32_t partition = -1;  // -1: Goka's partitioning of key
};

// Thread-safe: emit() may be called from several threads. Callbacks run on an
// internal thread, one at a time, and must not block for long nor emit (emit()
// waits while the queue holds 20,000 messages, and that thread makes room); an
// exception a callback throws is caught and counted as that message's failure.
class Emitter {
 public:
  using Callback = std::function<void(const Delivery&)>;

  // Connects and learns the topic's partition count. Throws Errc::timeout when
  // the cluster does not answer within options.timeout, Errc::not_found when
  // the topic does not exist and the broker does not create it.
  Emitter(std::string topic, ClientOptions options);
  // For tests and the Tester: any backend.
  Emitter(std::string topic, std::shared_ptr<core::Backend> backend);
  // Finishes (see finish()) when the caller has not.
  ~Emitter();
  Emitter(const Emitter&) = delete;
  Emitter& operator=(const Emitter&) = delete;

  const std::string& topic() const;
  int32_t partitions() const;

  // Queues message and returns at once (blocks only while librdkafka's queue
  // is full). done, if given, is called exactly once with the outcome.
  // Throws Errc::usage after finish() and for a partition out of range,
  // Errc::kafka when the message cannot be queued (e.g. larger than
  // message.max.bytes). A message that throws was not queued: done is not
  // called and finish()'s summary does not count it.
  void emit(Message message, Callback done = {});
  // As emit(), with a future for the outcome.
  std::future<Delivery> emit_async(Message message);
  // Emits and waits; throws the delivery's error when it failed.
  Delivery emit_sync(Message message);

  // Convenience: emit(key, value) with Goka's partitioning.
  void emit(std::string key, std::optional<std::string> value, Callback done = {}) {
    emit(Message{std::move(key), std::move(value), {}, 0, -1}, std::move(done));
  }

  // Flushes everything in flight and waits for every delivery report. A
  // message not acknowledged within librdkafka's message.timeout.ms (default:
  // options.timeout) fails. Later emits throw Errc::usage. Calling it twice
  // returns the same summary.
  EmitSummary finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace goka
