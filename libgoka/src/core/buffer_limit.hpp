#pragma once
// A bound on the records handed to the worker pool and not yet processed,
// all partitions together. Above it, the run thread takes nothing more from
// the consumer (the records wait in librdkafka's queue, which then stops
// fetching) until the workers are done with half of it. Pausing a partition
// instead makes librdkafka drop what it fetched ahead and fetch it again.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace goka::core {

class BufferLimit {
 public:
  explicit BufferLimit(std::size_t limit) : limit_(limit) {}

  // n records handed over. The run thread only.
  void added(std::size_t n) { buffered_.fetch_add(n); }
  // n records done with (processed or dropped). Any thread.
  void done(std::size_t n);
  // Whether the run thread should wait before taking more.
  bool full() const { return buffered_.load() > limit_; }
  // Waits until at most half the limit is buffered, or for at most wait.
  void wait_for_room(std::chrono::milliseconds wait);
  std::size_t buffered() const { return buffered_.load(); }

 private:
  bool roomy() const { return buffered_.load() <= limit_ / 2; }

  const std::size_t limit_;
  std::atomic<std::size_t> buffered_{0};
  std::atomic<bool> waiting_{false};  // done() notifies only then
  std::mutex mutex_;
  std::condition_variable room_;
};

}  // namespace goka::core
