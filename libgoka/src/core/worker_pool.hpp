#pragma once
// WorkerPool: a fixed number of threads running tasks in lanes. Tasks of one
// lane run one at a time, in the order posted (a partition's messages);
// different lanes run in parallel. 256 partitions need not mean 256 threads.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace goka::core {

class WorkerPool {
 public:
  // threads == 0: std::thread::hardware_concurrency() (at least 1).
  explicit WorkerPool(size_t threads);
  // Runs what is queued, then joins the threads.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  size_t threads() const { return threads_.size(); }

  // Queues task on lane. A task must not throw (it is the caller's job to
  // catch and report); one that does ends the process (std::terminate).
  void post(int64_t lane, std::function<void()> task);

  // Waits until lane has nothing queued or running. Must not be called from
  // a task of that lane.
  void wait_idle(int64_t lane);

  // Tasks queued on lane and not started yet.
  size_t queued(int64_t lane);

 private:
  struct Lane {
    std::deque<std::function<void()>> tasks;
    bool scheduled = false;  // in ready_ or running on a worker
  };
  void work();

  std::mutex mutex_;
  std::condition_variable ready_cv_;  // a lane became ready, or stopping
  std::condition_variable idle_cv_;   // a lane became idle
  std::unordered_map<int64_t, Lane> lanes_;
  std::deque<int64_t> ready_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace goka::core
