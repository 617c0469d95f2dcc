#pragma once
// The statistics of a running processor or view as `--serve` reports them:
// JSON for GET /stats and the live page, Prometheus text for GET /metrics.
//
// JSON shapes (one object; -1 where an offset is not known):
//   processor: {"kind":"processor","group","table","state","errors",
//               "totals":{"processed","bytes","rate","lag"},
//               "partitions":[{"partition","state","processed","bytes","rate",
//                 "table_offset","table_high_watermark",
//                 "topics":{TOPIC:{"committed","high_watermark","lag"}}}],
//               "lookups":[VIEW...]}
//   view:      {"kind":"view","table","state","errors",
//               "totals":{"records","bytes","lag"},
//               "partitions":[{"partition","state","offset","high_watermark",
//                 "lag","records","bytes","rate"}]}
// Metrics are named goka_*, labelled by group, table, topic and partition.
// Pure functions of their arguments; thread-safe.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "goka/processor.hpp"
#include "goka/view.hpp"

namespace goka::cli {

// table: the group table topic, if the group has one. state: "recovering",
// "running" or "stopping" (what the command knows of the processor).
nlohmann::json processor_stats_json(const ProcessorStats& stats, std::string_view state,
                                    const std::optional<std::string>& table);
nlohmann::json view_stats_json(const ViewStats& stats);

// The Prometheus text exposition format (version 0.0.4).
std::string processor_metrics(const ProcessorStats& stats, std::string_view state,
                              const std::optional<std::string>& table);
std::string view_metrics(const ViewStats& stats);

}  // namespace goka::cli
