// goka-cli run-group GROUP: one instance of a processor group whose callback
// is a built-in op (--op) or a handler process (--exec), on JSON values.

#include <fmt/format.h>

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/codec_option.hpp"
#include "cli/global_options.hpp"
#include "cli/signals.hpp"
#include "cli/value_codec.hpp"
#include "commands/commands.hpp"
#include "handlers/group_callback.hpp"
#include "handlers/group_ops.hpp"
#include "monitor/serve.hpp"
#include "monitor/stats_report.hpp"
#include "goka/context.hpp"
#include "goka/error.hpp"
#include "goka/graph.hpp"
#include "goka/processor.hpp"
#include "goka/topic_manager.hpp"

namespace goka::cli {
namespace {

struct RunGroupOptions {
  std::string group;
  std::vector<std::string> inputs;
  std::string op;
  std::string field;
  size_t max_items = 0;
  std::string exec;
  std::vector<std::string> outputs;
  std::vector<std::string> joins;
  std::vector<std::string> lookups;
  bool loop = false;
  ValueCodec codec;        // --codec
  ValueCodec table_codec;  // --table-codec
  std::string storage = "memory";
  std::string start = "earliest";
  double until_idle = 0;
  size_t threads = 0;
  std::string serve;
  bool exactly_once = false;
  int64_t commit_interval_ms = 100;
};

// True when every assigned partition has committed everything up to the
// high watermark of each consumed topic.
bool caught_up(const ProcessorStats& stats, const std::vector<std::string>& consumed) {
  for (const auto& part : stats.partitions) {
    if (part.state != TableState::running) return false;
    for (const auto& topic : consumed) {
      auto lag = part.lag.find(topic);
      if (lag == part.lag.end() || lag->second > 0) return false;
    }
  }
  return true;
}

// What `--serve` answers from: the processor's statistics and tables.
// stopping: set once the command asked the processor to stop.
ServeSource serve_source(const Processor& processor, const GroupGraph& graph,
                         ValueCodec table_codec, const std::atomic<bool>& stopping) {
  ServeSource source;
  auto table = graph.table_topic();
  auto state = [&processor, &stopping] {
    return stopping ? "stopping" : processor.recovered() ? "running" : "recovering";
  };
  source.stats = [&processor, table, state] {
    return processor_stats_json(processor.stats(), state(), table);
  };
  source.metrics = [&processor, table, state] {
    return processor_metrics(processor.stats(), state(), table);
  };
  source.lookup = [&processor](const std::string& name, const std::string& key) {
    return processor.get(name, key);
  };
  // The group table's values with --table-codec, joins and lookups as JSON.
  source.codec = [table, table_codec](const std::string& name) {
    return name == table ? table_codec : ValueCodec();
  };
  return source;
}

GroupGraph group_graph(const RunGroupOptions& opts) {
  auto callback = std::make_shared<GroupCallback>(GroupCallbackOptions{
      .op = {opts.op, opts.field, opts.max_items},
      .exec = opts.exec,
      .outputs = opts.outputs,
      .joins = opts.joins,
      .codec = opts.codec,
      .table_codec = opts.table_codec});
  ProcessCallback process = [callback](Context& ctx, const std::optional<std::string>& message) {
    (*callback)(ctx, message);
  };
  GroupGraph graph(opts.group);
  for (const auto& topic : opts.inputs) graph.add(input(topic, process));
  for (const auto& table : opts.joins) graph.add(join(table));
  for (const auto& table : opts.lookups) graph.add(lookup(table));
  for (const auto& topic : opts.outputs) graph.add(output(topic));
  if (opts.loop) graph.add(loop(process));
  graph.add(persist());
  return graph;
}

ProcessorOptions processor_options(const RunGroupOptions& opts, const GlobalOptions& global) {
  ProcessorOptions options;
  options.client = client_options(global);
  if (opts.storage != "memory") options.storage = leveldb_storage_builder(opts.storage);
  options.start_at_latest = opts.start == "latest";
  options.threads = opts.threads;
  if (opts.exactly_once) options.guarantee = Guarantee::exactly_once;
  options.commit_interval = std::chrono::milliseconds(opts.commit_interval_ms);
  options.headers = !opts.exec.empty();  // only --exec's requests carry them
  options.on_rebalance = [group = opts.group](const std::vector<int32_t>& assigned,
                                              const std::vector<int32_t>& revoked) {
    if (!assigned.empty())
      log(LogLevel::info,
          fmt::format("group={}: assigned partitions {}", group, fmt::join(assigned, ",")));
    if (!revoked.empty())
      log(LogLevel::info,
          fmt::format("group={}: revoked partitions {}", group, fmt::join(revoked, ",")));
  };
  return options;
}

// Whether the partitions of the consumed topics that this instance does not
// hold are done too: committed up to their high watermark (with nothing
// committed, nothing to read, or --start latest). Another instance may hold
// them, or a member that died and holds them until its session times out,
// after which this instance gets them: either way the group is not idle.
// Asks the cluster only for partitions held elsewhere.
bool others_done(TopicManager& topics, const RunGroupOptions& opts, const ProcessorStats& stats,
                 const std::vector<std::string>& consumed) {
  std::set<int32_t> held;
  for (const auto& part : stats.partitions) held.insert(part.partition);
  for (const auto& topic : consumed) {
    std::vector<int64_t> committed;
    for (int32_t p = 0, n = topics.partitions(topic); p < n; ++p) {
      if (held.contains(p)) continue;
      if (committed.empty()) committed = topics.committed(opts.group, topic);
      int64_t offset = p < static_cast<int32_t>(committed.size())
                           ? committed[static_cast<size_t>(p)]
                           : -1;
      Watermarks w = topics.watermarks(topic, p);
      bool done = offset >= 0 ? offset >= w.high : opts.start == "latest" || w.low >= w.high;
      if (!done) return false;
    }
  }
  return true;
}

// Watches a running processor from the command's thread until done is set
// (the processor ended), SIGINT/SIGTERM, or --until-idle seconds during
// which the whole group was idle: nothing processed here, every partition
// here caught up, and every other partition of the inputs committed to its
// end.
void supervise(const Processor& processor, const RunGroupOptions& opts,
               const GlobalOptions& global, const std::vector<std::string>& consumed,
               const std::atomic<bool>& done) {
  auto idle_since = std::chrono::steady_clock::now();
  int64_t last_processed = -1;
  bool was_recovered = false;
  std::optional<TopicManager> topics;
  while (!done) {
    if (wait_for_interrupt(std::chrono::milliseconds(200))) return;
    if (!was_recovered && processor.recovered()) {
      was_recovered = true;
      log(LogLevel::info, fmt::format("group={}: recovered", opts.group));
    }
    if (opts.until_idle <= 0) continue;
    ProcessorStats stats = processor.stats();
    int64_t processed = 0;
    for (const auto& p : stats.partitions) processed += p.processed;
    auto now = std::chrono::steady_clock::now();
    bool idle = processed == last_processed && processor.recovered() &&
                caught_up(stats, consumed);
    if (idle) {
      if (!topics) topics.emplace(client_options(global));
      try {
        idle = others_done(*topics, opts, stats, consumed);
      } catch (const Error&) {
        idle = false;  // asked again at the next look
      }
    }
    if (!idle) {
      last_processed = processed;
      idle_since = now;
    } else if (now - idle_since >= std::chrono::duration<double>(opts.until_idle)) {
      log(LogLevel::info,
          fmt::format("group={}: idle for {} s, stopping", opts.group, opts.until_idle));
      return;
    }
  }
}

void run_group(const RunGroupOptions& opts, const GlobalOptions& global) {
  if (opts.op.empty() == opts.exec.empty()) {
    throw Error(Errc::usage, "give exactly one of --op OP and --exec CMD");
  }
  GroupGraph graph = group_graph(opts);
  Processor processor(graph, processor_options(opts, global));
  std::atomic<bool> stopping{false};
  std::optional<Server> server;
  if (!opts.serve.empty()) {
    server.emplace(opts.serve, serve_source(processor, graph,
                                            opts.table_codec, stopping),
                   global.quiet == 0);
  }

  std::exception_ptr failure;
  std::atomic<bool> done{false};
  std::thread runner([&] {
    try {
      processor.run();
    } catch (...) {
      failure = std::current_exception();
    }
    done = true;
  });
  std::vector<std::string> consumed = opts.inputs;
  if (opts.loop) consumed.push_back(graph.loop_topic_name());
  supervise(processor, opts, global, consumed, done);
  stopping = true;
  processor.stop();
  runner.join();
  if (failure) std::rethrow_exception(failure);
}

// The callback: --op or --exec, and what they take.
void add_callback_options(CLI::App* sub, RunGroupOptions& opts) {
  auto* op = sub->add_option("--op", opts.op,
                             fmt::format("Built-in callback on JSON values: {}",
                                         fmt::join(GroupOp::all(), ", ")))
                 ->check(CLI::IsMember(GroupOp::all()));
  sub->add_option("--exec", opts.exec,
                  "Handler process speaking JSON lines on stdin/stdout (see README)")
      ->type_name("CMD")
      ->excludes(op);
  sub->add_option("--field", opts.field, "sum/min/max: this field of an object value");
  sub->add_option("--max-items", opts.max_items, "append: keep at most N items (0: all)")
      ->type_name("N");
  sub->footer(
      "--exec: one request per message on the handler's stdin,\n"
      "  {\"topic\",\"partition\",\"offset\",\"timestamp\",\"key\",\"value\",\"headers\","
      "\"state\",\"joins\":{TABLE:VALUE}},\n"
      "one response per request on its stdout: {\"state\":V} sets, {\"delete\":true} deletes,\n"
      "{} keeps; optional \"emit\":[{\"topic\",\"key\",\"value\"}], \"loopback\":[{\"key\","
      "\"value\"}],\n\"fail\":\"reason\" stops the group (exit 1). Before responding it may "
      "ask\n{\"lookup\":{\"table\":T,\"key\":K}} and read {\"lookup_result\":V}.\n"
      "Topics: GROUP-table (and GROUP-loop with --loop) are created with the inputs'\n"
      "partition count when missing, also on the embedded broker (goka-cli broker).");
}

// The graph's topics and tables besides the inputs, and the codecs.
void add_topic_options(CLI::App* sub, RunGroupOptions& opts) {
  sub->add_option("-o,--output", opts.outputs,
                  "Declared output topic (repeatable); with --op, every new state goes there")
      ->type_name("TOPIC")
      ->allow_extra_args(false);
  sub->add_option("--join", opts.joins, "Join a co-partitioned table (repeatable)")
      ->type_name("TABLE")
      ->allow_extra_args(false);
  sub->add_option("--lookup", opts.lookups, "Look up keys of any table (repeatable)")
      ->type_name("TABLE")
      ->allow_extra_args(false);
  sub->add_flag("--loop", opts.loop, "Declare the loop topic GROUP-loop (handler loopbacks)");
  add_codec_option(sub, opts.codec, "--codec", "Codec of input values (and emits)");
  add_codec_option(sub, opts.table_codec, "--table-codec", "Codec of the group table's values");
}

// How the instance runs: storage, start, stop, serving, threads.
void add_runtime_options(CLI::App* sub, RunGroupOptions& opts) {
  sub->add_option("--storage", opts.storage,
                  "Local storage: a directory (LevelDB, Goka's layout) or memory")
      ->type_name("DIR|memory")
      ->capture_default_str();
  sub->add_option("--start", opts.start, "Where a new group begins")
      ->capture_default_str()
      ->check(CLI::IsMember({"earliest", "latest"}));
  sub->add_option("--until-idle", opts.until_idle,
                  "Exit 0 once the group's inputs are all processed, committed and quiet this long")
      ->type_name("SECONDS")
      ->check(CLI::PositiveNumber);
  sub->add_option("--serve", opts.serve,
                  "Answer HTTP on HOST:PORT (see README): /tables/TABLE/KEY, /stats, /metrics, /")
      ->type_name("HOST:PORT");
  sub->add_option("--threads", opts.threads, "Callback threads (0: the hardware threads)")
      ->capture_default_str();
  sub->add_flag("--exactly-once", opts.exactly_once,
                "Kafka transactions: outputs, table and input offsets commit together (README)");
  sub->add_option("--commit-interval", opts.commit_interval_ms,
                  "Commit (or transaction) every MS milliseconds")
      ->type_name("MS")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
}

}  // namespace

void register_run_group(CLI::App& app, const GlobalOptions& global) {
  auto opts = std::make_shared<RunGroupOptions>();
  CLI::App* sub = app.add_subcommand(
      "run-group", "Run one instance of processor group GROUP (table GROUP-table)");
  sub->add_option("GROUP", opts->group, "The group: consumer group id and table GROUP-table")
      ->required();
  sub->add_option("-i,--input", opts->inputs, "Input topic (repeatable)")
      ->type_name("TOPIC")
      ->required()
      ->allow_extra_args(false);
  add_callback_options(sub, *opts);
  add_topic_options(sub, *opts);
  add_runtime_options(sub, *opts);
  sub->callback([opts, &global] { run_group(*opts, global); });
}

}  // namespace goka::cli
