#include "core/buffer_limit.hpp"

namespace goka::core {

void BufferLimit::done(std::size_t n) {
  buffered_.fetch_sub(n);
  // waiting_ is set before the waiter checks roomy() under the mutex: either
  // it sees the room, or it is waiting by the time this thread has the mutex.
  if (waiting_.load() && roomy()) {
    std::lock_guard lock(mutex_);
    room_.notify_all();
  }
}

void BufferLimit::wait_for_room(std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  waiting_.store(true);
  room_.wait_for(lock, wait, [this] { return roomy(); });
  waiting_.store(false);
}

}  // namespace goka::core
