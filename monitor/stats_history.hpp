#pragma once
// The last minutes of a processor's or view's figures, for the monitor
// page's chart (GET /history): one sample per second of the total count
// (messages processed, or records read by a view) and the total lag.
//
// JSON: {"interval_ms":1000,"points":[{"t":MS_SINCE_EPOCH,"count":N,"lag":N}]},
// oldest first; "lag" is null where it is not known. Thread-safe.

#include <cstdint>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>

namespace goka::cli {

class StatsHistory {
 public:
  // Keeps at most capacity samples (the default: 5 minutes, one a second).
  explicit StatsHistory(size_t capacity = 300) : capacity_(capacity) {}

  // Adds a sample taken at at_ms from a GET /stats document
  // (monitor/stats_report.hpp); one without totals is ignored.
  void add(int64_t at_ms, const nlohmann::json& stats);
  nlohmann::json to_json() const;

 private:
  struct Point {
    int64_t at_ms;
    int64_t count;
    std::optional<int64_t> lag;
  };
  const size_t capacity_;
  mutable std::mutex mutex_;
  std::deque<Point> points_;  // guarded by mutex_
};

}  // namespace goka::cli
