// The bounded pool processors run partitions on.

#include <catch2/catch.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "core/worker_pool.hpp"

TEST_CASE("worker pool: a lane's tasks run in order, one at a time") {
  goka::core::WorkerPool pool(3);
  CHECK(pool.threads() == 3);
  constexpr int lanes = 50, per_lane = 200;
  // Per lane: how many of its tasks run now (no lock: two at once must be
  // seen, not prevented), and what ran, in order (each lane's own lock, so
  // that lanes do not wait for each other).
  std::array<std::atomic<int>, lanes> running{};
  std::array<std::atomic<bool>, lanes> overlap{};
  std::array<std::mutex, lanes> seen_mutex;
  std::array<std::vector<int>, lanes> seen;
  std::mutex workers_mutex;
  std::set<std::thread::id> workers;
  for (int i = 0; i < per_lane; ++i) {
    for (int lane = 0; lane < lanes; ++lane) {
      pool.post(lane, [&, lane, i] {
        if (running[lane].fetch_add(1) != 0) overlap[lane] = true;
        for (int k = 0; k < 20; ++k) std::this_thread::yield();  // a window for another one
        {
          std::lock_guard lock(seen_mutex[lane]);
          seen[lane].push_back(i);
        }
        {
          std::lock_guard lock(workers_mutex);
          workers.insert(std::this_thread::get_id());
        }
        running[lane].fetch_sub(1);
      });
    }
  }
  for (int lane = 0; lane < lanes; ++lane) pool.wait_idle(lane);
  CHECK(workers.size() <= 3);
  for (int lane = 0; lane < lanes; ++lane) {
    INFO("lane " << lane);
    CHECK_FALSE(overlap[lane].load());
    std::lock_guard lock(seen_mutex[lane]);
    REQUIRE(seen[lane].size() == size_t(per_lane));
    for (int i = 0; i < per_lane; ++i) CHECK(seen[lane][i] == i);
  }
}

TEST_CASE("worker pool: tasks of different lanes run in parallel") {
  // Each task waits until all of them run at once, which can only happen
  // when the pool runs the lanes on its threads side by side.
  constexpr int lanes = 3;
  goka::core::WorkerPool pool(lanes);
  std::mutex mutex;
  std::condition_variable all_in;
  int inside = 0;
  int met = 0;  // tasks that saw every lane running
  for (int lane = 0; lane < lanes; ++lane) {
    pool.post(lane, [&] {
      std::unique_lock lock(mutex);
      ++inside;
      all_in.notify_all();
      if (all_in.wait_for(lock, std::chrono::seconds(10), [&] { return inside == lanes; })) ++met;
    });
  }
  for (int lane = 0; lane < lanes; ++lane) pool.wait_idle(lane);
  CHECK(met == lanes);
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
