// A processor's lag: what --until-idle and /stats rely on to know that a
// partition has nothing left, also before its first commit.

#include <catch2/catch.hpp>

#include "core/processor_stats.hpp"

using goka::core::input_lag;
using goka::core::StartPolicy;

TEST_CASE("input lag counts from the committed offset") {
  CHECK(input_lag(100, 0, 40, std::nullopt, StartPolicy::earliest) == 60);
  CHECK(input_lag(100, 0, 100, 100, StartPolicy::earliest) == 0);
  // Messages handed over but not committed yet are still lag.
  CHECK(input_lag(100, 0, 40, 90, StartPolicy::earliest) == 60);
}

TEST_CASE("input lag before the first commit: from the last message handed over") {
  CHECK(input_lag(100, 0, std::nullopt, 100, StartPolicy::earliest) == 0);
  CHECK(input_lag(100, 0, std::nullopt, 70, StartPolicy::earliest) == 30);
}

TEST_CASE("input lag of a partition with nothing committed and nothing handed over") {
  // --start latest begins at the end: old records are nothing to wait for.
  CHECK(input_lag(100, 0, std::nullopt, std::nullopt, StartPolicy::latest) == 0);
  // earliest: from the oldest record still held; unknown before a fetch told it.
  CHECK(input_lag(100, 0, std::nullopt, std::nullopt, StartPolicy::earliest) == 100);
  CHECK(input_lag(100, 100, std::nullopt, std::nullopt, StartPolicy::earliest) == 0);
  CHECK(input_lag(100, std::nullopt, std::nullopt, std::nullopt, StartPolicy::earliest) ==
        std::nullopt);
}

TEST_CASE("input lag never counts records trimmed away") {
  CHECK(input_lag(100, 80, 10, std::nullopt, StartPolicy::earliest) == 20);
  CHECK(input_lag(100, 80, std::nullopt, std::nullopt, StartPolicy::earliest) == 20);
}
