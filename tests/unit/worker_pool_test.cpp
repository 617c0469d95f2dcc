// The bounded pool processors run partitions on.

#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "core/worker_pool.hpp"

TEST_CASE("worker pool: a lane's tasks run in order, one at a time, lanes in parallel") {
  goka::core::WorkerPool pool(3);
  CHECK(pool.threads() == 3);
  const int lanes = 50, per_lane = 200;
  std::mutex mutex;
  std::map<int, std::vector<int>> seen;
  std::map<int, int> running;
  std::set<std::thread::id> workers;
  bool overlap = false;
  for (int i = 0; i < per_lane; ++i) {
    for (int lane = 0; lane < lanes; ++lane) {
      pool.post(lane, [&, lane, i] {
        std::lock_guard lock(mutex);
        overlap = overlap || running[lane]++ > 0;
        seen[lane].push_back(i);
        workers.insert(std::this_thread::get_id());
        --running[lane];
      });
    }
  }
  for (int lane = 0; lane < lanes; ++lane) pool.wait_idle(lane);
  CHECK_FALSE(overlap);
  CHECK(workers.size() <= 3);
  for (int lane = 0; lane < lanes; ++lane) {
    REQUIRE(seen[lane].size() == size_t(per_lane));
    for (int i = 0; i < per_lane; ++i) CHECK(seen[lane][i] == i);
  }
}

TEST_CASE("worker pool: wait_idle waits for the running task, destruction runs what is queued") {
  std::atomic<int> done{0};
  {
    goka::core::WorkerPool pool(2);
    std::atomic<bool> release{false};
    pool.post(7, [&] {
      while (!release) std::this_thread::yield();
      ++done;
    });
    pool.post(7, [&] { ++done; });
    CHECK(done == 0);
    release = true;
    pool.wait_idle(7);
    CHECK(done == 2);
    CHECK(pool.queued(7) == 0);
    for (int i = 0; i < 100; ++i) pool.post(i % 5, [&] { ++done; });
  }
  CHECK(done == 102);
}
