// goka-cli status GROUP: how far a processor group is, per input partition.

#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/global_options.hpp"
#include "commands/commands.hpp"
#include "goka/error.hpp"
#include "goka/topic_manager.hpp"

namespace goka::cli {
namespace {

struct StatusOptions {
  std::string group;
  bool json = false;
};

// The group's inputs are the topics where it committed offsets (Kafka keeps
// no list of them); its table is GROUP-table.
void run_status(const StatusOptions& opts, const GlobalOptions& global) {
  TopicManager topics(client_options(global));
  // Read committed (the default), a partition's end is its last stable
  // offset; read uncommitted, its high watermark. They differ while a
  // transaction is open (exactly-once groups).
  ClientOptions uncommitted = client_options(global);
  uncommitted.properties["isolation.level"] = "read_uncommitted";
  TopicManager all(uncommitted);
  auto ends = [&](const std::string& topic, int32_t p) {
    return std::pair{all.watermarks(topic, p).high, topics.watermarks(topic, p).high};
  };
  std::string table = opts.group + "-table";
  nlohmann::json inputs = nlohmann::json::array();
  int64_t total_committed = 0, total_high = 0, total_lag = 0;
  bool table_exists = false;
  for (const TopicInfo& info : topics.topics()) {
    if (info.name == table) {
      table_exists = true;
      continue;
    }
    std::vector<int64_t> committed = topics.committed(opts.group, info.name);
    bool any = false;
    for (int64_t c : committed) any = any || c >= 0;
    if (!any) continue;
    for (int32_t p = 0; p < static_cast<int32_t>(committed.size()); ++p) {
      auto [high, stable] = ends(info.name, p);
      int64_t done = std::max<int64_t>(committed[static_cast<size_t>(p)], 0);
      inputs.push_back({{"topic", info.name}, {"partition", p},
                        {"committed", committed[static_cast<size_t>(p)]}, {"high_watermark", high},
                        {"lag", high - done}});
      if (stable != high) inputs.back()["last_stable_offset"] = stable;
      total_committed += done;
      total_high += high;
      total_lag += high - done;
    }
  }
  if (inputs.empty() && !table_exists) {
    throw Error(Errc::not_found, "no such group: no committed offsets and no table topic",
                {.topic = table, .detail = "group " + opts.group});
  }
  nlohmann::json table_json = nullptr;
  if (table_exists) {
    int64_t high = 0, stable = 0;
    for (int32_t p = 0, n = topics.partitions(table); p < n; ++p) {
      auto [h, s] = ends(table, p);
      high += h;
      stable += s;
    }
    table_json = {{"topic", table}, {"high_watermark", high}};
    if (stable != high) table_json["last_stable_offset"] = stable;
  }
  if (opts.json) {
    nlohmann::json out = {{"group", opts.group}, {"inputs", inputs},
                          {"total", {{"committed", total_committed}, {"high_watermark", total_high},
                                     {"lag", total_lag}}},
                          {"table", table_json}};
    std::printf("%s\n", out.dump().c_str());
    return;
  }
  std::printf("%-30s %9s %12s %12s %10s\n", "TOPIC", "PARTITION", "COMMITTED", "HIGH", "LAG");
  for (const auto& in : inputs) {
    // The last stable offset, where an open transaction holds it back.
    std::string lso;
    if (in.contains("last_stable_offset")) {
      lso = fmt::format("  (last stable offset {})", in["last_stable_offset"].get<int64_t>());
    }
    std::printf("%-30s %9d %12lld %12lld %10lld%s\n", in["topic"].get<std::string>().c_str(),
                in["partition"].get<int>(), static_cast<long long>(in["committed"].get<int64_t>()),
                static_cast<long long>(in["high_watermark"].get<int64_t>()),
                static_cast<long long>(in["lag"].get<int64_t>()), lso.c_str());
  }
  std::printf("%-30s %9s %12lld %12lld %10lld\n", "total", "", static_cast<long long>(total_committed),
              static_cast<long long>(total_high), static_cast<long long>(total_lag));
  if (table_exists) {
    std::string lso;
    if (table_json.contains("last_stable_offset")) {
      lso = fmt::format(", last stable offset {}", table_json["last_stable_offset"].get<int64_t>());
    }
    std::printf("table %s: high watermark %lld (all partitions)%s\n", table.c_str(),
                static_cast<long long>(table_json["high_watermark"].get<int64_t>()), lso.c_str());
  }
}

}  // namespace

void register_status(CLI::App& app, const GlobalOptions& global) {
  auto opts = std::make_shared<StatusOptions>();
  CLI::App* sub = app.add_subcommand(
      "status", "Show a processor group's committed offsets, high watermarks and lag per input");
  sub->add_option("GROUP", opts->group, "The group")->required();
  sub->add_flag("--json", opts->json, "One JSON document instead of a table");
  sub->callback([opts, &global] { run_status(*opts, global); });
}

}  // namespace goka::cli
