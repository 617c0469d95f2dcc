#include "monitor/stats_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <vector>

namespace goka::cli {
namespace {

constexpr std::array kStates{TableState::idle, TableState::recovering, TableState::running,
                             TableState::stopped};

// The offset a view partition reads next.
int64_t next_offset(const PartitionStats& p) {
  return std::max(p.stored_offset + 1, p.start_offset);
}

int64_t view_lag(const PartitionStats& p) {
  return p.high_watermark < 0 ? 0 : std::max<int64_t>(0, p.high_watermark - next_offset(p));
}

double view_rate(const PartitionStats& p) {
  if (!p.recovery_started) return 0;
  double seconds =
      std::chrono::duration<double>(std::chrono::system_clock::now() - *p.recovery_started).count();
  return seconds > 0 ? static_cast<double>(p.records) / seconds : 0;
}

// Metric families in the order first written, each with its HELP and TYPE.
class Exposition {
 public:
  using Labels = std::vector<std::pair<std::string_view, std::string>>;

  void add(const std::string& name, const char* type, const char* help, const Labels& labels,
           double value) {
    auto it = std::find_if(families_.begin(), families_.end(),
                           [&](const Family& f) { return f.name == name; });
    if (it == families_.end()) {
      families_.push_back(
          {name, fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type)});
      it = families_.end() - 1;
    }
    std::string& out = it->samples;
    out += name;
    if (!labels.empty()) {
      out += '{';
      for (size_t i = 0; i < labels.size(); ++i) {
        if (i > 0) out += ',';
        out += labels[i].first;
        out += "=\"";
        append_escaped(out, labels[i].second);
        out += '"';
      }
      out += '}';
    }
    out += fmt::format(" {}\n", value);
  }

  std::string text() const {
    std::string out;
    for (const Family& f : families_) out += f.samples;
    return out;
  }

 private:
  struct Family {
    std::string name;
    std::string samples;  // HELP, TYPE, then one line per sample
  };

  // Label values escape backslash, double quote and line feed.
  static void append_escaped(std::string& out, std::string_view value) {
    for (char c : value) {
      if (c == '\\') {
        out += "\\\\";
      } else if (c == '"') {
        out += "\\\"";
      } else if (c == '\n') {
        out += "\\n";
      } else {
        out += c;
      }
    }
  }

  std::vector<Family> families_;
};

void add_view_metrics(Exposition& m, const ViewStats& stats,
                      const std::optional<std::string>& group) {
  auto labels = [&](std::optional<int32_t> partition) {
    Exposition::Labels l;
    if (group) l.emplace_back("group", *group);
    l.emplace_back("table", stats.table);
    if (partition) l.emplace_back("partition", std::to_string(*partition));
    return l;
  };
  m.add("goka_table_errors_total", "counter", "Read errors retried by the table's reader.",
        labels(std::nullopt), static_cast<double>(stats.retries));
  for (const PartitionStats& p : stats.partitions) {
    m.add("goka_table_records_total", "counter", "Records applied to local storage.",
          labels(p.partition), static_cast<double>(p.records));
    m.add("goka_table_bytes_total", "counter", "Key and value bytes applied to local storage.",
          labels(p.partition), static_cast<double>(p.bytes));
    m.add("goka_table_offset", "gauge", "Offset of the newest record in local storage (-1: none).",
          labels(p.partition), static_cast<double>(p.stored_offset));
    m.add("goka_table_high_watermark", "gauge",
          "High watermark of the table partition (-1: unknown).", labels(p.partition),
          static_cast<double>(p.high_watermark));
    m.add("goka_table_lag", "gauge", "Records of the table partition not in local storage yet.",
          labels(p.partition), static_cast<double>(view_lag(p)));
    for (TableState s : kStates) {
      auto l = labels(p.partition);
      l.emplace_back("state", std::string(to_string(s)));
      m.add("goka_table_state", "gauge", "1 for the partition's recovery state.", l,
            p.state == s ? 1 : 0);
    }
  }
}

}  // namespace

nlohmann::json processor_stats_json(const ProcessorStats& stats, std::string_view state,
                                    const std::optional<std::string>& table) {
  nlohmann::json partitions = nlohmann::json::array();
  int64_t processed = 0, bytes = 0, lag = 0, dropped = 0;
  double rate = 0;
  for (const ProcessorPartitionStats& p : stats.partitions) {
    nlohmann::json topics = nlohmann::json::object();
    for (const auto& [topic, committed] : p.committed) topics[topic]["committed"] = committed;
    for (const auto& [topic, high] : p.high_watermark) topics[topic]["high_watermark"] = high;
    for (const auto& [topic, l] : p.lag) {
      topics[topic]["lag"] = l;
      lag += l;
    }
    processed += p.processed;
    bytes += p.bytes;
    dropped += p.dropped;
    rate += p.rate;
    partitions.push_back({{"partition", p.partition},
                          {"state", to_string(p.state)},
                          {"processed", p.processed},
                          {"bytes", p.bytes},
                          {"dropped", p.dropped},
                          {"rate", p.rate},
                          {"table_offset", p.table_offset},
                          {"table_high_watermark", p.table_high_watermark},
                          {"topics", std::move(topics)}});
  }
  nlohmann::json lookups = nlohmann::json::array();
  for (const ViewStats& v : stats.lookups) lookups.push_back(view_stats_json(v));
  nlohmann::json out = {{"kind", "processor"},
                        {"group", stats.group},
                        {"table", table ? nlohmann::json(*table) : nlohmann::json()},
                        {"state", state},
                        {"errors", stats.commit_errors},
                        {"totals",
                         {{"processed", processed},
                          {"bytes", bytes},
                          {"dropped", dropped},
                          {"rate", rate},
                          {"lag", lag}}},
                        {"partitions", std::move(partitions)},
                        {"lookups", std::move(lookups)}};
  if (stats.exactly_once) {
    out["transactions"] = {{"committed", stats.transactions_committed},
                           {"aborted", stats.transactions_aborted},
                           {"last_commit_ms", stats.last_commit_ms >= 0
                                                  ? nlohmann::json(stats.last_commit_ms)
                                                  : nlohmann::json()}};
  }
  return out;
}

nlohmann::json view_stats_json(const ViewStats& stats) {
  nlohmann::json partitions = nlohmann::json::array();
  int64_t records = 0, bytes = 0, lag = 0;
  for (const PartitionStats& p : stats.partitions) {
    records += p.records;
    bytes += p.bytes;
    lag += view_lag(p);
    partitions.push_back({{"partition", p.partition},
                          {"state", to_string(p.state)},
                          {"offset", p.stored_offset},
                          {"high_watermark", p.high_watermark},
                          {"lag", view_lag(p)},
                          {"records", p.records},
                          {"bytes", p.bytes},
                          {"rate", view_rate(p)}});
  }
  return {{"kind", "view"},
          {"table", stats.table},
          {"state", to_string(stats.state)},
          {"errors", stats.retries},
          {"totals", {{"records", records}, {"bytes", bytes}, {"lag", lag}}},
          {"partitions", std::move(partitions)}};
}

std::string processor_metrics(const ProcessorStats& stats, std::string_view state,
                              const std::optional<std::string>& table) {
  Exposition m;
  const std::string& group = stats.group;
  m.add("goka_processor_recovered", "gauge",
        "1 when every assigned partition is recovered and running.", {{"group", group}},
        state == "running" ? 1 : 0);
  m.add("goka_processor_commit_errors_total", "counter", "Offset commits the cluster refused.",
        {{"group", group}}, static_cast<double>(stats.commit_errors));
  if (stats.exactly_once) {
    m.add("goka_processor_transactions_committed_total", "counter",
          "Transactions committed (exactly once).", {{"group", group}},
          static_cast<double>(stats.transactions_committed));
    m.add("goka_processor_transactions_aborted_total", "counter",
          "Transactions aborted and processed again (exactly once).", {{"group", group}},
          static_cast<double>(stats.transactions_aborted));
    if (stats.last_commit_ms >= 0) {
      m.add("goka_processor_transaction_commit_seconds", "gauge",
            "Duration of the last transaction commit.", {{"group", group}},
            stats.last_commit_ms / 1000);
    }
  }
  for (const ProcessorPartitionStats& p : stats.partitions) {
    const std::string partition = std::to_string(p.partition);
    m.add("goka_processor_messages_total", "counter", "Input messages processed since assigned.",
          {{"group", group}, {"partition", partition}}, static_cast<double>(p.processed));
    m.add("goka_processor_bytes_total", "counter", "Key and value bytes of the messages processed.",
          {{"group", group}, {"partition", partition}}, static_cast<double>(p.bytes));
    m.add("goka_processor_dropped_total", "counter",
          "Messages delivered again at or below one already handed over, dropped.",
          {{"group", group}, {"partition", partition}}, static_cast<double>(p.dropped));
    for (const auto& [topic, offset] : p.committed) {
      m.add("goka_processor_committed_offset", "gauge", "Next input offset committed.",
            {{"group", group}, {"topic", topic}, {"partition", partition}},
            static_cast<double>(offset));
    }
    for (const auto& [topic, high] : p.high_watermark) {
      m.add("goka_processor_high_watermark", "gauge", "High watermark of the input partition.",
            {{"group", group}, {"topic", topic}, {"partition", partition}},
            static_cast<double>(high));
    }
    for (const auto& [topic, lag] : p.lag) {
      m.add("goka_processor_lag", "gauge", "Input messages not committed yet.",
            {{"group", group}, {"topic", topic}, {"partition", partition}},
            static_cast<double>(lag));
    }
    if (!table) continue;
    m.add("goka_table_offset", "gauge", "Offset of the newest record in local storage (-1: none).",
          {{"group", group}, {"table", *table}, {"partition", partition}},
          static_cast<double>(p.table_offset));
    m.add("goka_table_high_watermark", "gauge",
          "High watermark of the table partition (-1: unknown).",
          {{"group", group}, {"table", *table}, {"partition", partition}},
          static_cast<double>(p.table_high_watermark));
    for (TableState s : kStates) {
      m.add("goka_table_state", "gauge", "1 for the partition's recovery state.",
            {{"group", group},
             {"table", *table},
             {"partition", partition},
             {"state", std::string(to_string(s))}},
            p.state == s ? 1 : 0);
    }
  }
  for (const ViewStats& v : stats.lookups) add_view_metrics(m, v, group);
  return m.text();
}

std::string view_metrics(const ViewStats& stats) {
  Exposition m;
  add_view_metrics(m, stats, std::nullopt);
  return m.text();
}

}  // namespace goka::cli
