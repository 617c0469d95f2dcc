#pragma once
// CommitTracker: which input offsets of one processor partition may be
// committed (internal).
//
// A processor partition p processes the messages of partition p of every
// input topic and of the loop topic, one at a time, in one order (the
// processing order). Each message has outputs it waits for: records produced
// to Kafka (table writes, emits, loopbacks) and deferred completions. A
// message is complete when it was processed (sealed) and all its outputs are
// acknowledged. Commits are contiguous in the processing order: a message
// is committable when it and EVERY earlier message of the partition, of
// any topic, are complete (Goka commits each message on its own and can skip
// a failed one). committable() gives, per topic, the offset after its newest
// committable message (Kafka's convention: the next offset to read).
//
// A failure (a failed produce, a failed deferred completion, a failed
// callback) is kept (the first one wins) and blocks the failed message and
// everything after it forever: nothing at or after it is ever committable.
//
// Usage by the processing thread, per message:
//
//   CommitTracker::Message* m = tracker.begin(record.topic, record.offset);
//   tracker.expect(m);                       // before each produce ...
//   producer.produce(..., /*tag=*/m);        // ... whose report goes to deliver()
//   CommitCompletion done = tracker.defer(m);
//   tracker.seal(m);  // or tracker.fail(m, error) when the callback failed
//
// and the producer's DeliveryHandler calls CommitTracker::deliver(delivery,
// tag) for every record produced with a Message* as tag.
//
// Thread-safety: begin, expect, seal, fail and defer are called by one
// thread at a time (the partition's processing thread). deliver() and
// completions may be called from any thread, concurrently with everything.
// The queries (committable, error, in_flight, deliveries, wait) may be called
// from any thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "goka/context.hpp"
#include "goka/emitter.hpp"
#include "goka/error.hpp"

namespace goka::core {

class CommitTracker {
 public:
  // One message being tracked (opaque). A Message* is what produce() gets as
  // its tag. It stays valid until the message is complete.
  struct Message;

  // Sees the report of every record acknowledged for a tracked message (on
  // the thread calling deliver()) before it counts as acknowledged; e.g. to
  // advance a storage's table offset. Must not throw: returning an error
  // fails the message as a failed delivery would.
  using DeliveryObserver = std::function<std::optional<Error>(const Delivery& delivery)>;
  // A tracker for partition (used in error contexts).
  explicit CommitTracker(int32_t partition, DeliveryObserver observer = {});
  // REQUIRES: deliveries() == 0 (flush the producer first): the tags of
  // records in flight point into the tracker. It may be destroyed as soon
  // as wait() returned true or deliveries() returned 0, even while the
  // deliver() that acknowledged the last record is still returning: nothing
  // of the tracker is touched after that acknowledgement counted. Deferred
  // completions may outlive it; calling them later does nothing.
  ~CommitTracker();
  CommitTracker(const CommitTracker&) = delete;
  CommitTracker& operator=(const CommitTracker&) = delete;

  int32_t partition() const { return partition_; }

  // Starts tracking the message of topic at offset, after every message
  // begun so far. Throws Errc::usage (naming topic, partition and offset)
  // when offset is not above the last offset begun of topic, and the kept
  // error once the tracker failed.
  Message* begin(const std::string& topic, int64_t offset);
  // Adds one record the message waits for; its report must reach deliver()
  // with tag message. A produce() that throws instead must be reported as a
  // failed Delivery to deliver() by the caller.
  // REQUIRES: message begun and not sealed or failed by this thread yet.
  void expect(Message* message);
  // Adds one deferred completion the message waits for (see
  // CommitCompletion in goka/context.hpp).
  // REQUIRES: as expect().
  CommitCompletion defer(Message* message);
  // The message was processed: no more outputs will be added. It is
  // complete once its outputs are acknowledged.
  void seal(Message* message);
  // The message failed while being processed. Keeps error (if it is the
  // first) and blocks the message and everything after it.
  void fail(Message* message, Error error);

  // The outcome of a record produced with tag (a Message* of some tracker).
  // A failed delivery fails the message with an error naming the message's
  // topic, partition and offset and the output. Thread-safe; noexcept.
  static void deliver(const Delivery& delivery, void* tag) noexcept;

  // Per topic with at least one committable message: the offset after the
  // newest one (what to commit). Topics without one are absent.
  std::map<std::string, int64_t> committable() const;
  // The first failure, if any.
  std::optional<Error> error() const;
  // Messages begun and not yet complete (failed ones included).
  std::size_t in_flight() const;
  // Records expected and not yet reported to deliver().
  std::size_t deliveries() const;
  // Waits until the tracker is settled: every message begun is complete, or
  // the tracker failed and no record is in flight (deliveries() == 0).
  // Returns false when timeout passed first.
  bool wait(std::chrono::milliseconds timeout) const;

  // How many messages were begun so far: a mark that wait_through() waits
  // for, while later messages go on (exactly once: the messages of one
  // transaction, while the next one's are processed).
  uint64_t mark() const;
  // Waits until every message begun before mark is complete, or the
  // tracker failed. Returns false when timeout passed first.
  bool wait_through(uint64_t mark, std::chrono::milliseconds timeout) const;

  struct State;  // shared with deferred completions (internal)

 private:
  const int32_t partition_;
  std::shared_ptr<State> state_;
};

}  // namespace goka::core
