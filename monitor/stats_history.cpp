#include "monitor/stats_history.hpp"

namespace goka::cli {

void StatsHistory::add(int64_t at_ms, const nlohmann::json& stats) {
  auto totals = stats.find("totals");
  if (totals == stats.end() || !totals->is_object()) return;
  auto number = [&](const char* key) -> std::optional<int64_t> {
    auto it = totals->find(key);
    if (it == totals->end() || !it->is_number()) return std::nullopt;
    return it->get<int64_t>();
  };
  std::optional<int64_t> count = number("processed");
  if (!count) count = number("records");
  if (!count) return;
  std::optional<int64_t> lag = number("lag");
  if (lag && *lag < 0) lag.reset();
  std::lock_guard lock(mutex_);
  points_.push_back({at_ms, *count, lag});
  while (points_.size() > capacity_) points_.pop_front();
}

nlohmann::json StatsHistory::to_json() const {
  nlohmann::json points = nlohmann::json::array();
  {
    std::lock_guard lock(mutex_);
    for (const Point& p : points_) {
      points.push_back({{"t", p.at_ms}, {"count", p.count},
                        {"lag", p.lag ? nlohmann::json(*p.lag) : nlohmann::json()}});
    }
  }
  return {{"interval_ms", 1000}, {"points", std::move(points)}};
}

}  // namespace goka::cli
