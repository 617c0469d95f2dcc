// The bound on records waiting in the worker pool: the run thread stops
// taking records above it and goes on once the workers made room.

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "core/buffer_limit.hpp"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST_CASE("buffer limit: full above the limit, roomy again at half") {
  goka::core::BufferLimit limit(100);
  limit.added(100);
  CHECK_FALSE(limit.full());
  limit.added(1);
  CHECK(limit.full());
  limit.done(30);
  CHECK_FALSE(limit.full());
  CHECK(limit.buffered() == 71);
}

TEST_CASE("buffer limit: a waiting run thread wakes as soon as workers made room") {
  goka::core::BufferLimit limit(100);
  limit.added(200);
  std::thread worker([&] {
    std::this_thread::sleep_for(50ms);  // the run thread waits meanwhile
    for (int i = 0; i < 150; ++i) limit.done(1);
  });
  auto start = Clock::now();
  limit.wait_for_room(10s);
  auto waited = Clock::now() - start;
  worker.join();
  CHECK(limit.buffered() <= 50);
  CHECK(waited < 5s);  // woken, not timed out
}

TEST_CASE("buffer limit: the wait ends after its time when nobody makes room") {
  goka::core::BufferLimit limit(10);
  limit.added(20);
  auto start = Clock::now();
  limit.wait_for_room(30ms);
  CHECK(Clock::now() - start >= 30ms);
  CHECK(limit.full());
}
