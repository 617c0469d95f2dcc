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
  std::string codec = "json";
  std::string serve;
  CLI::Option* prefix_option = nullptr;
  CLI::Option* range_option = nullptr;
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
  const ValueCodec codec = value_codec(o.codec, global);

  const auto started = std::chrono::steady_clock::now();
  ViewOptions options;
  options.client = client_options(global);
  const bool follow = o.watch || !o.serve.empty();
  options.follow = follow;
  if (!o.storage.empty()) options.storage = leveldb_storage_builder(o.storage);
  if (selection == Selection::keys) {
    const int32_t count = TopicManager(options.client).partitions(table);
    options.partitions = partitions_for(keys, count);
  }
  ChangeSink sink(codec, change_filter(selection, o, keys));
  if (o.watch) options.on_change = [&sink](const Record& change) { sink.add(change); };

  View view(table, std::move(options));
  SinkCloser closer{sink};
  std::optional<Server> server;
  if (!o.serve.empty()) server.emplace(o.serve, serve_source(view, codec), global.quiet == 0);
  RecoveryProgress progress(stderr_is_tty() && global.quiet == 0,
                            std::chrono::seconds(1));
  view.start();
  while (!view.wait_recovered(std::chrono::milliseconds(250))) {
    if (interrupted()) {
      progress.clear();
      view.stop();
      view.wait();
      throw ExitStatus{130};
    }
    if (view.state() == TableState::stopped) {
      view.wait();
      throw Error(Errc::runtime, "the view stopped before it was up to date", {.topic = table});
    }
    progress.draw(view.stats());
  }
  progress.clear();
  if (!follow) view.wait();  // the thread ends once recovered; rethrows its error

  const RecoveryTotals totals = recovery_totals(view.stats());
  log(LogLevel::info,
      fmt::format(
          "view: {} records of {} read from {} partition(s) in {:.3f} s", totals.records, table,
          view.partitions().size(),
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()));

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
      "the default is memory. With --group G the table is G-table and every positional\n"
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
  sub->add_flag("--watch", o->watch,
                "Then print every later change as an envelope line (until SIGINT)");
  sub->add_option("--storage", o->storage,
                  "Keep the view in LevelDB under DIR (default: in memory)")
      ->type_name("DIR");
  sub->add_option("--serve", o->serve,
                  "Keep following and answer HTTP on HOST:PORT (see README): "
                  "/tables/TABLE/KEY, /stats, /metrics, /")
      ->type_name("HOST:PORT");
  sub->add_option("--codec", o->codec, "Value codec")
      ->check(codec_name_check())
      ->capture_default_str();
  sub->callback([o, &global] { run_view(*o, global); });
}

}  // namespace goka::cli
