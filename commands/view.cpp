// goka-cli view TABLE [KEY...]: brings a table up to date (the high
// watermarks seen at start), prints some keys or rows of it, and with --watch
// every later change. See CLI.md.

#include "goka/view.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/codec_option.hpp"
#include "cli/envelope.hpp"
#include "cli/global_options.hpp"
#include "cli/signals.hpp"
#include "cli/value_codec.hpp"
#include "commands/commands.hpp"
#include "monitor/serve.hpp"
#include "monitor/stats_report.hpp"
#include "tables/table_support.hpp"
#include "goka/error.hpp"
#include "goka/topic_manager.hpp"

namespace goka::cli {
namespace {

struct ViewCommandOptions {
  std::string table;
  std::vector<std::string> keys;
  std::string group;
  bool all = false;
  std::string prefix;
  std::vector<std::string> range;  // FROM TO
  bool watch = false;
  std::string storage;
  ValueCodec codec;  // --codec
  std::string serve;
  double wait = -1;  // --wait SECONDS; < 0: not given
  std::string expect;
  CLI::Option* expect_option = nullptr;
  CLI::Option* prefix_option = nullptr;
  CLI::Option* range_option = nullptr;
  bool read_uncommitted = false;
};

// What the command prints once the table is up to date.
enum class Selection { keys, all, prefix, range, nothing };

// The changes of a watching view, as envelope lines, from the view's thread
// to the main thread. Until output starts (start_output()) it buffers
// without bound, so that the view never waits while other partitions still
// recover; then the view's thread waits while a few MB are not written yet.
// Thread-safe.
class ChangeSink {
 public:
  ChangeSink(ValueCodec codec, std::function<bool(std::string_view)> wanted)
      : codec_(codec), wanted_(std::move(wanted)) {}

  // The view's on_change.
  void add(const Record& change) {
    if (!wanted_(change.key ? std::string_view(*change.key) : std::string_view())) return;
    std::unique_lock lock(mutex_);
    room_.wait(lock, [this] { return closed_ || !output_ || buffer_.size() < kMaxBuffered; });
    if (closed_) return;
    append_envelope(buffer_, change, codec_);
    ready_.notify_all();
  }

  void start_output() {
    std::lock_guard lock(mutex_);
    output_ = true;
  }

  // Appends what is buffered to out, waiting up to timeout for something.
  void take(std::string& out, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    ready_.wait_for(lock, timeout, [this] { return !buffer_.empty(); });
    out += buffer_;
    buffer_.clear();
    room_.notify_all();
  }

  // Drops every later change and releases a waiting view thread.
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    room_.notify_all();
  }

 private:
  static constexpr std::size_t kMaxBuffered = 4 << 20;

  const ValueCodec codec_;
  const std::function<bool(std::string_view)> wanted_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::condition_variable room_;
  std::string buffer_;
  bool output_ = false;
  bool closed_ = false;
};

// Closes a ChangeSink when the command leaves, before the View is destroyed
// (which joins a view thread that may wait in ChangeSink::add()).
struct SinkCloser {
  ChangeSink& sink;
  ~SinkCloser() { sink.close(); }
};

Selection check_selection(const ViewCommandOptions& o, const std::vector<std::string>& keys) {
  const bool prefix = o.prefix_option->count() > 0;
  const bool range = o.range_option->count() > 0;
  if (int(o.all) + int(prefix) + int(range) > 1)
    throw Error(Errc::usage, "--all, --prefix and --range exclude each other");
  if ((o.all || prefix || range) && !keys.empty())
    throw Error(Errc::usage, "give KEYs or one of --all, --prefix, --range, not both");
  if (o.wait >= 0 && (keys.size() != 1 || o.watch || !o.serve.empty()))
    throw Error(Errc::usage, "--wait takes exactly one KEY, and neither --watch nor --serve");
  if (o.expect_option->count() > 0 && o.wait < 0)
    throw Error(Errc::usage, "--expect needs --wait SECONDS");
  if (o.all) return Selection::all;
  if (prefix) return Selection::prefix;
  if (range) return Selection::range;
  if (!keys.empty()) return Selection::keys;
  if (!o.watch && o.serve.empty())
    throw Error(Errc::usage,
                "nothing to print: give KEYs, --all, --prefix P, --range FROM TO, "
                "--watch or --serve");
  return Selection::nothing;
}

// Which keys --watch reports: those the selection names.
std::function<bool(std::string_view)> change_filter(Selection selection,
                                                    const ViewCommandOptions& o,
                                                    const std::vector<std::string>& keys) {
  switch (selection) {
    case Selection::keys:
      return [set = std::set<std::string, std::less<>>(keys.begin(), keys.end())](
                 std::string_view key) { return set.contains(key); };
    case Selection::prefix:
      return [prefix = o.prefix](std::string_view key) { return key.starts_with(prefix); };
    case Selection::range:
      return [from = o.range[0], to = o.range[1]](std::string_view key) {
        return key >= from && (to.empty() || key < to);
      };
    case Selection::all:
    case Selection::nothing:
      break;
  }
  return [](std::string_view) { return true; };
}

// --wait SECONDS [--expect JSON] on one KEY.
struct WaitSpec {
  std::string key;
  std::optional<nlohmann::json> expected;
  std::chrono::steady_clock::time_point deadline;
  double seconds = 0;

  // "key K did not appear within N s[: why]" (Errc::timeout, exit 4).
  Error timeout(const std::string& why, const std::string& table) const {
    return Error(Errc::timeout,
                 fmt::format("key {} did not appear within {} s{}", key, seconds,
                             why.empty() ? "" : ": " + why),
                 {.topic = table});
  }
};

// The --wait of o (nullopt without it), counted from started. Throws
// Errc::usage for --expect text that is not one JSON value.
std::optional<WaitSpec> wait_spec(const ViewCommandOptions& o, const std::vector<std::string>& keys,
                                  std::chrono::steady_clock::time_point started) {
  if (o.wait < 0) return std::nullopt;
  WaitSpec spec;
  spec.key = keys.front();  // check_selection(): exactly one
  spec.seconds = o.wait;
  spec.deadline = started + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                std::chrono::duration<double>(o.wait));
  if (o.expect_option->count() > 0) {
    spec.expected = nlohmann::json::parse(o.expect, nullptr, false);
    if (spec.expected->is_discarded())
      throw Error(Errc::usage, fmt::format("--expect: not one JSON value: {}", o.expect));
  }
  return spec;
}

// --wait: counts the changes of one key, so that the main thread can wait
// for the next one after reading the key's value. Thread-safe.
class KeyWatch {
 public:
  explicit KeyWatch(std::string key) : key_(std::move(key)) {}

  // The view's on_change (called once the change is in the view).
  void add(const Record& change) {
    if (!change.key || *change.key != key_) return;
    std::lock_guard lock(mutex_);
    ++changes_;
    changed_.notify_all();
  }
  uint64_t changes() const {
    std::lock_guard lock(mutex_);
    return changes_;
  }
  // Waits until a change after seen, or until, or SIGINT (checked every
  // 100 ms); returns whether there was a change.
  bool wait_after(uint64_t seen, std::chrono::steady_clock::time_point until) {
    std::unique_lock lock(mutex_);
    while (changes_ == seen && std::chrono::steady_clock::now() < until && !interrupted()) {
      changed_.wait_until(lock, std::min(until, std::chrono::steady_clock::now() +
                                                    std::chrono::milliseconds(100)));
    }
    return changes_ != seen;
  }

 private:
  const std::string key_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  uint64_t changes_ = 0;
};

// Whether value (raw bytes; nullopt: no such key) satisfies --wait/--expect.
bool wait_satisfied(const std::optional<std::string>& value,
                    const std::optional<nlohmann::json>& expected, const ValueCodec& codec) {
  if (!value) return false;
  if (!expected) return true;
  try {
    return codec.decode(*value) == *expected;
  } catch (const Error&) {
    return false;  // a value that does not decode equals no JSON
  }
}

// The value as view prints it, for the timeout message.
std::string shown_value(const std::string& key, const std::optional<std::string>& value,
                        const ValueCodec& codec) {
  if (!value) return "the key never appeared";
  std::string row;
  append_table_row(row, key, *value, codec);
  if (!row.empty() && row.back() == '\n') row.pop_back();
  return "last value seen: " + row;
}

// --wait: from the recovered view on, waits until the key exists (and equals
// expected) and prints its row, or throws Errc::timeout at deadline with the
// last value seen.
void wait_for_key(const View& view, KeyWatch& watch, const WaitSpec& spec,
                  const ValueCodec& codec) {
  const std::string& key = spec.key;
  const std::optional<nlohmann::json>& expected = spec.expected;
  std::optional<std::string> value;
  while (true) {
    const uint64_t seen = watch.changes();
    value = view.get(key);
    if (wait_satisfied(value, expected, codec)) break;
    if (!watch.wait_after(seen, spec.deadline)) {
      if (interrupted()) throw ExitStatus{130};
      if (!expected) throw spec.timeout("", view.table());
      throw Error(Errc::timeout,
                  fmt::format("key {} did not equal {} within {} s; {}", key, expected->dump(),
                              spec.seconds, shown_value(key, value, codec)),
                  {.topic = view.table()});
    }
  }
  StdoutWriter out;
  append_table_row(out.buffer(), key, *value, codec);
  out.flush();
}

// --wait: a table that does not exist yet (its group has not created it)
// is waited for, asking every 200 ms; Errc::timeout at deadline.
void await_table(TopicManager&& topics, const std::string& table, const WaitSpec& spec) {
  while (!topics.exists(table)) {
    if (std::chrono::steady_clock::now() >= spec.deadline) {
      throw spec.timeout("the table does not exist", table);
    }
    if (wait_for_interrupt(std::chrono::milliseconds(200))) throw ExitStatus{130};
  }
}

// What `--serve` answers from: the view's statistics and values.
ServeSource serve_source(const View& view, ValueCodec codec) {
  ServeSource source;
  source.stats = [&view] { return view_stats_json(view.stats()); };
  source.metrics = [&view] { return view_metrics(view.stats()); };
  source.lookup = [&view](const std::string& table, const std::string& key) {
    if (table != view.table()) {
      throw Error(Errc::not_found, fmt::format("this view holds table {} only", view.table()));
    }
    const int32_t partition = view.partition_of(key);
    if (!std::binary_search(view.partitions().begin(), view.partitions().end(), partition)) {
      throw Error(Errc::not_found,
                  fmt::format("the key's partition {} is not read by this view", partition));
    }
    return view.get(key);
  };
  source.codec = [codec](const std::string&) { return codec; };
  return source;
}

// Prints what the selection names, from the up-to-date view. Returns whether
// a KEY was missing.
bool print_selection(const View& view, Selection selection, const ViewCommandOptions& o,
                     const std::vector<std::string>& keys, const ValueCodec& codec,
                     StdoutWriter& out) {
  bool missing = false;
  switch (selection) {
    case Selection::keys:
      for (const std::string& key : keys) {
        if (std::optional<std::string> value = view.get(key)) {
          append_table_row(out.buffer(), key, *value, codec);
        } else {
          append_missing_row(out.buffer(), key);
          missing = true;
        }
        out.maybe_flush();
      }
      break;
    case Selection::all:
      write_rows(*view.iterator(), codec, out);
      break;
    case Selection::prefix:
      write_rows(*view.prefix_iterator(o.prefix), codec, out);
      break;
    case Selection::range: {
      std::optional<std::string_view> to;
      if (!o.range[1].empty()) to = o.range[1];
      write_rows(*view.range_iterator(o.range[0], to), codec, out);
      break;
    }
    case Selection::nothing:
      break;
  }
  out.flush();
  return missing;
}

void run_view(const ViewCommandOptions& o, const GlobalOptions& global) {
  std::vector<std::string> keys = o.keys;
  std::string table = o.table;
  if (!o.group.empty() && !table.empty()) {
    keys.insert(keys.begin(), table);  // with --group every positional is a KEY
    table.clear();
  }
  table = resolve_table(table, o.group);
  const Selection selection = check_selection(o, keys);
  const ValueCodec codec = o.codec;

  const auto started = std::chrono::steady_clock::now();
  ViewOptions options;
  options.client = client_options(global);
  if (o.read_uncommitted) options.client.properties["isolation.level"] = "read_uncommitted";
  const std::optional<WaitSpec> waiting = wait_spec(o, keys, started);
  const bool follow = o.watch || !o.serve.empty() || waiting;
  options.follow = follow;
  if (!o.storage.empty()) options.storage = leveldb_storage_builder(o.storage);
  if (waiting) await_table(TopicManager(options.client), table, *waiting);
  if (selection == Selection::keys) {
    const int32_t count = TopicManager(options.client).partitions(table);
    options.partitions = partitions_for(keys, count);
  }
  ChangeSink sink(codec, change_filter(selection, o, keys));
  if (o.watch) options.on_change = [&sink](const Record& change) { sink.add(change); };
  KeyWatch key_watch(keys.empty() ? std::string() : keys.front());
  if (waiting) options.on_change = [&key_watch](const Record& change) { key_watch.add(change); };

  View view(table, std::move(options));
  SinkCloser closer{sink};
  std::optional<Server> server;
  if (!o.serve.empty()) server.emplace(o.serve, serve_source(view, codec), global.quiet == 0);
  RecoveryProgress progress(stderr_is_tty() && global.quiet == 0,
                            std::chrono::seconds(1));
  view.start();
  if (!await_recovery(view, progress, "the view stopped before it was up to date",
                      waiting ? std::optional(waiting->deadline) : std::nullopt)) {
    progress.clear();
    throw waiting->timeout("the table is not recovered yet", table);
  }
  progress.clear();
  if (!follow) view.wait();  // the thread ends once recovered; rethrows its error

  const RecoveryTotals totals = recovery_totals(view.stats());
  log(LogLevel::info,
      fmt::format(
          "view: {} records of {} read from {} partition(s) in {:.3f} s", totals.records, table,
          view.partitions().size(),
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()));

  if (waiting) {
    wait_for_key(view, key_watch, *waiting, codec);
    view.stop();
    view.wait();
    return;
  }

  StdoutWriter out;
  const bool missing = print_selection(view, selection, o, keys, codec, out);
  if (!follow) {
    if (missing) throw ExitStatus{3};
    return;
  }

  if (o.watch) sink.start_output();
  while (!interrupted()) {
    if (o.watch) {
      sink.take(out.buffer(), std::chrono::milliseconds(100));
    } else {
      wait_for_interrupt(std::chrono::milliseconds(100));
    }
    if (!out.buffer().empty()) out.flush();
    if (view.state() == TableState::stopped) {
      view.wait();  // throws what stopped it
      throw Error(Errc::runtime, "the view stopped", {.topic = table});
    }
  }
  sink.close();
  view.stop();
  view.wait();
}

}  // namespace

void register_view(CLI::App& app, const GlobalOptions& global) {
  auto o = std::make_shared<ViewCommandOptions>();
  CLI::App* sub = app.add_subcommand("view", "Bring a table up to date and print keys or rows");
  sub->footer(
      "Reads the table topic up to the high watermarks seen at start, then prints\n"
      "  KEY...            one line per KEY: {\"key\":K,\"value\":V}, or\n"
      "                    {\"key\":K,\"value\":null,\"found\":false} (exit 3 when any is "
      "missing);\n"
      "                    only the partitions of the KEYs are read;\n"
      "  --all             every row {\"key\":..,\"value\":..} in key order (bytewise);\n"
      "  --prefix P        the rows whose key starts with P;\n"
      "  --range FROM TO   the rows with FROM <= key < TO (TO \"\": no upper bound).\n"
      "--watch then keeps reading and prints every later change of those keys (of every key\n"
      "with --all or nothing else) as an envelope line, a delete with \"value\":null, until\n"
      "SIGINT/SIGTERM (exit 0). --serve HOST:PORT (or :PORT, on 127.0.0.1) also keeps\n"
      "following and answers HTTP: /tables/TABLE/KEY, /stats, /metrics and a live page at /.\n"
      "--storage DIR keeps the view in LevelDB under DIR\n"
      "(DIR/TABLE.PARTITION, Go Goka's layout) so that the next run reads only what is new;\n"
      "the default is memory. For CI: --wait SECONDS with one KEY waits until the key\n"
      "exists (with --expect JSON: until its decoded value equals JSON, compared as JSON\n"
      "values) while following the table (waiting for the table to exist too), prints its row\n"
      "and exits 0; after SECONDS (counted from the start, recovery included) it exits 4 with the last value seen, or that the\n"
      "key never appeared, on stderr. With --group G the table is G-table and every positional\n"
      "argument is a KEY. Values are decoded with --codec; one that does not decode is shown\n"
      "as \"value_b64\" with \"value_error\".");
  sub->add_option("TABLE", o->table, "Table topic (e.g. GROUP-table)");
  sub->add_option("KEY", o->keys, "Keys to print");
  sub->add_option("--group", o->group, "Read the table of processor group GROUP (GROUP-table)")
      ->type_name("GROUP");
  sub->add_flag("--all", o->all, "Print every row in key order");
  o->prefix_option =
      sub->add_option("--prefix", o->prefix, "Print the rows whose key starts with P")
          ->type_name("P");
  o->range_option =
      sub->add_option("--range", o->range, "Print the rows with FROM <= key < TO (TO \"\": no end)")
          ->type_size(2)
          ->expected(1)
          ->allow_extra_args(false)
          ->type_name("FROM TO");
  sub->add_flag("--read-uncommitted", o->read_uncommitted,
                "Also records of open and aborted transactions (debugging; default: read committed)");
  sub->add_flag("--watch", o->watch,
                "Then print every later change as an envelope line (until SIGINT)");
  sub->add_option("--storage", o->storage,
                  "Keep the view in LevelDB under DIR (default: in memory)")
      ->type_name("DIR");
  sub->add_option("--serve", o->serve,
                  "Keep following and answer HTTP on HOST:PORT (see README): "
                  "/tables/TABLE/KEY, /stats, /metrics, /")
      ->type_name("HOST:PORT");
  add_codec_option(sub, o->codec);
  sub->add_option("--wait", o->wait,
                  "Wait up to SECONDS until KEY exists (and equals --expect), then print it; "
                  "exit 4 on timeout")
      ->check(CLI::NonNegativeNumber)
      ->type_name("SECONDS");
  o->expect_option =
      sub->add_option("--expect", o->expect, "With --wait: wait until KEY's value equals JSON")
          ->type_name("JSON");
  sub->callback([o, &global] { run_view(*o, global); });
}

}  // namespace goka::cli
