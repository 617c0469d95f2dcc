// goka-cli status GROUP: how far a processor group is, per input partition.
// --wait-idle SECONDS polls until every input partition has lag 0.

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/global_options.hpp"
#include "cli/signals.hpp"
#include "commands/commands.hpp"
#include "goka/error.hpp"
#include "goka/topic_manager.hpp"

namespace goka::cli {
namespace {

struct StatusOptions {
  std::string group;
  bool json = false;
  double wait_idle = -1;  // seconds; < 0: not given
};

// One look at the group: per input partition committed offset, watermarks
// and lag, the totals, and the table's high watermark.
struct GroupStatus {
  nlohmann::json inputs = nlohmann::json::array();
  int64_t total_committed = 0, total_high = 0, total_lag = 0;
  bool table_exists = false;
  nlohmann::json table = nullptr;
  // Partitions not done yet ("topic/partition: lag N"), for --wait-idle.
  std::vector<std::string> busy;
};

// How far a partition goes: its high watermark, and its last stable offset
// (where a read_committed consumer ends). They differ while a transaction is
// open (exactly-once groups).
struct Ends {
  TopicManager& committed;  // isolation.level=read_committed (the default)
  TopicManager& all;        // isolation.level=read_uncommitted

  std::pair<Watermarks, int64_t> operator()(const std::string& topic, int32_t p) const {
    return {all.watermarks(topic, p), committed.watermarks(topic, p).high};
  }
};

// The group's inputs are the topics where it committed offsets (Kafka keeps
// no list of them); its table is GROUP-table. Throws Errc::not_found when
// the group has neither.
GroupStatus read_status(TopicManager& topics, const Ends& ends, const std::string& group) {
  GroupStatus s;
  const std::string table = group + "-table";
  for (const TopicInfo& info : topics.topics()) {
    if (info.name == table) {
      s.table_exists = true;
      continue;
    }
    std::vector<int64_t> committed = topics.committed(group, info.name);
    bool any = false;
    for (int64_t c : committed) any = any || c >= 0;
    if (!any) continue;
    for (int32_t p = 0; p < static_cast<int32_t>(committed.size()); ++p) {
      const int64_t offset = committed[static_cast<size_t>(p)];
      const auto [w, stable] = ends(info.name, p);
      const int64_t done = std::max<int64_t>(offset, 0);
      s.inputs.push_back({{"topic", info.name}, {"partition", p}, {"committed", offset},
                          {"high_watermark", w.high}, {"lag", w.high - done}});
      if (stable != w.high) s.inputs.back()["last_stable_offset"] = stable;
      s.total_committed += done;
      s.total_high += w.high;
      s.total_lag += w.high - done;
      // Idle: everything committed; with nothing committed, nothing to read
      // (an empty partition, or one whose records are all deleted).
      const bool idle = offset >= 0 ? offset >= w.high : w.low >= w.high;
      if (!idle) s.busy.push_back(fmt::format("{}/{}: lag {}", info.name, p, w.high - done));
    }
  }
  if (s.inputs.empty() && !s.table_exists) {
    throw Error(Errc::not_found, "no such group: no committed offsets and no table topic",
                {.topic = table, .detail = "group " + group});
  }
  if (s.table_exists) {
    int64_t high = 0, stable = 0;
    for (int32_t p = 0, n = topics.partitions(table); p < n; ++p) {
      const auto [w, lso] = ends(table, p);
      high += w.high;
      stable += lso;
    }
    s.table = {{"topic", table}, {"high_watermark", high}};
    if (stable != high) s.table["last_stable_offset"] = stable;
  }
  return s;
}

void print_status(const GroupStatus& s, const StatusOptions& opts) {
  if (opts.json) {
    nlohmann::json out = {{"group", opts.group},
                          {"inputs", s.inputs},
                          {"total",
                           {{"committed", s.total_committed},
                            {"high_watermark", s.total_high},
                            {"lag", s.total_lag}}},
                          {"table", s.table}};
    std::printf("%s\n", out.dump().c_str());
    return;
  }
  std::printf("%-30s %9s %12s %12s %10s\n", "TOPIC", "PARTITION", "COMMITTED", "HIGH", "LAG");
  for (const auto& in : s.inputs) {
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
  std::printf("%-30s %9s %12lld %12lld %10lld\n", "total", "",
              static_cast<long long>(s.total_committed), static_cast<long long>(s.total_high),
              static_cast<long long>(s.total_lag));
  if (s.table_exists) {
    std::string lso;
    if (s.table.contains("last_stable_offset")) {
      lso = fmt::format(", last stable offset {}", s.table["last_stable_offset"].get<int64_t>());
    }
    std::printf("table %s: high watermark %lld (all partitions)%s\n",
                s.table["topic"].get<std::string>().c_str(),
                static_cast<long long>(s.table["high_watermark"].get<int64_t>()), lso.c_str());
  }
}

// --wait-idle: polls every kPoll until no partition is busy; at the deadline
// prints the last status seen and throws Errc::timeout naming what is busy.
// A group not known yet (no commits, no table) is waited for too.
GroupStatus await_idle(TopicManager& topics, const Ends& ends, const StatusOptions& opts) {
  constexpr std::chrono::milliseconds kPoll{200};
  const auto deadline =
      std::chrono::steady_clock::now() +
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::duration<double>(opts.wait_idle));
  std::optional<GroupStatus> last;
  std::string why;
  while (true) {
    try {
      last = read_status(topics, ends, opts.group);
      if (last->inputs.empty()) {
        why = "the group has committed no offsets yet";
      } else if (last->busy.empty()) {
        return *last;
      } else {
        why = fmt::format("{} partition(s) still to process: {}", last->busy.size(),
                          fmt::join(last->busy, ", "));
      }
    } catch (const Error& e) {
      // A group not known yet, or a cluster still loading a new group's
      // offsets (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS): ask again.
      if (e.code() == Errc::not_found) {
        why = "the group has no committed offsets and no table yet";
      } else if (e.code() == Errc::kafka) {
        why = e.what();
      } else {
        throw;
      }
    }
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) break;
    const auto pause = std::min<std::chrono::milliseconds>(
        kPoll, std::chrono::duration_cast<std::chrono::milliseconds>(left) +
                   std::chrono::milliseconds(1));
    if (wait_for_interrupt(pause)) throw ExitStatus{130};
  }
  if (last) print_status(*last, opts);
  throw Error(Errc::timeout,
              fmt::format("group {} not idle after {} s: {}", opts.group, opts.wait_idle, why));
}

void run_status(const StatusOptions& opts, const GlobalOptions& global) {
  TopicManager topics(client_options(global));
  ClientOptions uncommitted = client_options(global);
  uncommitted.properties["isolation.level"] = "read_uncommitted";
  TopicManager all(uncommitted);
  const Ends ends{topics, all};
  if (opts.wait_idle >= 0) {
    print_status(await_idle(topics, ends, opts), opts);
  } else {
    print_status(read_status(topics, ends, opts.group), opts);
  }
}

}  // namespace

void register_status(CLI::App& app, const GlobalOptions& global) {
  auto opts = std::make_shared<StatusOptions>();
  CLI::App* sub = app.add_subcommand(
      "status", "Show a processor group's committed offsets, high watermarks and lag per input");
  sub->footer(
      "The group's inputs are the topics it committed offsets for; its table is GROUP-table.\n"
      "LAG = HIGH - COMMITTED (COMMITTED -1: nothing committed yet). Exit 3 for a group with\n"
      "neither. --wait-idle SECONDS asks the broker every 200 ms until every input partition\n"
      "is idle: its committed offset reached the high watermark, or nothing is committed and\n"
      "the partition holds nothing to read (empty). Then it prints the status (exit 0); after\n"
      "SECONDS it prints the last status seen and exits 4, naming the busy partitions on\n"
      "stderr. A group that has committed no offsets yet (not started, or only a table) is\n"
      "not idle: it is waited for. Inputs the group never committed to are not known to\n"
      "Kafka and not waited for.");
  sub->add_option("GROUP", opts->group, "The group")->required();
  sub->add_flag("--json", opts->json, "One JSON document instead of a table");
  sub->add_option("--wait-idle", opts->wait_idle,
                  "Wait up to SECONDS until every input partition has lag 0 (exit 4 on timeout)")
      ->check(CLI::NonNegativeNumber)
      ->type_name("SECONDS");
  sub->callback([opts, &global] { run_status(*opts, global); });
}

}  // namespace goka::cli
