#include "core/worker_pool.hpp"

namespace goka::core {

WorkerPool::WorkerPool(size_t threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  ready_cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void WorkerPool::post(int64_t lane, std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    Lane& l = lanes_[lane];
    l.tasks.push_back(std::move(task));
    if (l.scheduled) return;
    l.scheduled = true;
    ready_.push_back(lane);
  }
  ready_cv_.notify_one();
}

void WorkerPool::wait_idle(int64_t lane) {
  std::unique_lock lock(mutex_);
  idle_cv_.wait(lock, [&] {
    auto it = lanes_.find(lane);
    return it == lanes_.end() || !it->second.scheduled;
  });
}

size_t WorkerPool::queued(int64_t lane) {
  std::lock_guard lock(mutex_);
  auto it = lanes_.find(lane);
  return it == lanes_.end() ? 0 : it->second.tasks.size();
}

void WorkerPool::work() {
  // A worker takes a ready lane and runs a few of its tasks, then lets other
  // lanes have their turn; a lane is on one worker at a time.
  constexpr int kTurn = 64;
  std::unique_lock lock(mutex_);
  for (;;) {
    ready_cv_.wait(lock, [this] { return stopping_ || !ready_.empty(); });
    if (ready_.empty()) return;  // stopping, and nothing left to run
    int64_t lane = ready_.front();
    ready_.pop_front();
    for (int i = 0; i < kTurn; ++i) {
      Lane& l = lanes_[lane];
      if (l.tasks.empty()) break;
      std::function<void()> task = std::move(l.tasks.front());
      l.tasks.pop_front();
      lock.unlock();
      task();
      lock.lock();
    }
    Lane& l = lanes_[lane];
    if (l.tasks.empty()) {
      lanes_.erase(lane);
      idle_cv_.notify_all();
    } else {
      ready_.push_back(lane);
      ready_cv_.notify_one();
    }
  }
}

}  // namespace goka::core
