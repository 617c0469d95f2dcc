// goka-cli dump TOPIC: writes a topic as envelope lines (or as a table, or in
// kcat's -f format) to stdout. See CLI.md.

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "cli/codec_option.hpp"
#include "cli/envelope.hpp"
#include "cli/global_options.hpp"
#include "cli/offset_spec.hpp"
#include "cli/ordered_renderer.hpp"
#include "cli/record_format.hpp"
#include "cli/signals.hpp"
#include "cli/value_codec.hpp"
#include "commands/commands.hpp"
#include "tables/table_support.hpp"
#include "tables/dump_storage.hpp"
#include "goka/error.hpp"
#include "goka/hasher.hpp"
#include "goka/topic_manager.hpp"
#include "goka/topic_reader.hpp"

namespace goka::cli {
namespace {

struct DumpOptions {
  std::string topic;
  bool follow = false;
  std::string offset = "beginning";
  int64_t count = -1;  // -1: no limit
  std::vector<int32_t> partitions;
  bool table = false;
  std::string format;
  CLI::Option* format_option = nullptr;  // given, even as "" (prints nothing per record)
  ValueCodec codec;     // --codec
  std::string storage;  // --storage DIR: local storages instead of a topic
  std::string until;    // --until s@MS | end ("": not given)
  std::string key;      // -k KEY
  bool read_uncommitted = false;
  CLI::Option* key_option = nullptr;  // given, even as ""
};

// --until: "end" (std::nullopt, the high watermarks seen at start) or s@MS.
// Throws Errc::usage quoting text otherwise.
std::optional<int64_t> parse_until(const std::string& text) {
  if (text == "end") return std::nullopt;
  if (text.starts_with("s@")) {
    int64_t ms = 0;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data() + 2, end, ms);
    if (ec == std::errc() && ptr == end && text.size() > 2 && ms >= 0) return ms;
  }
  throw Error(Errc::usage, fmt::format("invalid --until \"{}\": use s@MS (ms since the epoch) "
                                       "or end",
                                       text));
}

// Which records are printed (-k KEY) and when a partition is over (--until
// s@MS: at its first record with a timestamp after MS, which is not printed).
class Selection {
 public:
  explicit Selection(const DumpOptions& options) {
    if (options.key_option != nullptr && options.key_option->count() > 0) key_ = options.key;
    if (!options.until.empty()) until_ = parse_until(options.until);
  }

  // Whether record is printed; marks its partition over when its time is.
  bool wanted(const Record& record) {
    if (until_) {
      if (over_.count(record.partition) > 0) return false;
      if (record.timestamp > *until_) {
        over_.insert(record.partition);
        return false;
      }
    }
    return !key_ || record.key == *key_;
  }

  // Whether --until's time is over in every one of partitions partitions.
  bool all_over(std::size_t partitions) const { return until_ && over_.size() >= partitions; }

 private:
  std::optional<std::string> key_;
  std::optional<int64_t> until_;  // ms
  std::set<int32_t> over_;        // partitions past until_
};

// One record's text: its envelope line or --format's. Thread-safe (const).
struct RecordText {
  ValueCodec codec;
  std::optional<RecordFormat> format;

  void append(std::string& out, const Record& record) const {
    if (format) {
      format->append(out, record);
    } else {
      append_envelope(out, record, codec);
    }
  }
};

// Records (or table rows) per batch rendered on a decoder thread: a few ms of
// protobuf decoding, few enough that output starts early.
constexpr std::size_t kBatchRecords = 512;

// What is done with each record: envelope lines, --format, or --table. With
// decoder threads (a costly codec, see decode_threads()), records are
// gathered into batches that an OrderedRenderer renders in parallel and
// writes in order; otherwise each is rendered into the output at once.
// Owned and called by the reading thread only.
class Printer {
 public:
  Printer(const DumpOptions& options, StdoutWriter& output)
      : output_(output),
        text_(record_text(options)),
        table_(options.table),
        threads_(options.codec.costly() ? decode_threads() : 0) {
    if (threads_ > 0 && !table_) renderer_.emplace(threads_, 4 * threads_, sink());
  }

  void add(Record& record) {
    if (table_) {
      if (!record.key) return;
      if (record.value) {
        latest_[std::move(*record.key)] = std::move(*record.value);
      } else {
        latest_.erase(*record.key);
      }
      return;
    }
    if (renderer_) {
      gathered_.push_back(std::move(record));
      if (gathered_.size() >= kBatchRecords) submit_gathered();
      return;
    }
    text_->append(output_.buffer(), record);
    output_.maybe_flush();
  }

  // After each poll: hands what is gathered to the decoder threads; with
  // wait, also waits until everything added so far is in the output buffer
  // (--follow, and before an interrupted dump exits).
  void end_of_poll(bool wait) {
    if (!renderer_) return;
    submit_gathered();
    if (wait) renderer_->finish();
  }

  // Everything added is in the output buffer; a table is printed, sorted by
  // key (byte order).
  void finish() {
    end_of_poll(true);
    if (table_) print_table();
  }

  int64_t keys() const { return static_cast<int64_t>(latest_.size()); }

 private:
  using Row = std::pair<const std::string, std::string>;

  static std::shared_ptr<const RecordText> record_text(const DumpOptions& options) {
    auto text = std::make_shared<RecordText>(RecordText{options.codec, std::nullopt});
    if (options.format_option != nullptr && options.format_option->count() > 0)
      text->format.emplace(options.format);
    return text;
  }

  OrderedRenderer::Sink sink() {
    return [&output = output_](std::string_view text) {
      output.buffer() += text;
      output.maybe_flush();
    };
  }

  void submit_gathered() {
    if (gathered_.empty()) return;
    renderer_->submit([text = text_, records = std::move(gathered_)](std::string& out) {
      for (const Record& record : records) text->append(out, record);
    });
    gathered_ = {};
    gathered_.reserve(kBatchRecords);
  }

  void print_table() {
    std::vector<const Row*> rows;
    rows.reserve(latest_.size());
    for (const Row& row : latest_) rows.push_back(&row);
    std::sort(rows.begin(), rows.end(), [](const Row* a, const Row* b) { return a->first < b->first; });
    // Declared after rows: destroyed (its workers joined) before rows are.
    OrderedRenderer renderer(threads_, 4 * threads_, sink());
    const ValueCodec& codec = text_->codec;
    for (std::size_t at = 0; at < rows.size(); at += kBatchRecords) {
      const std::span<const Row* const> part(rows.data() + at,
                                             std::min(kBatchRecords, rows.size() - at));
      renderer.submit([part, &codec](std::string& out) {
        for (const Row* row : part) append_table_row(out, row->first, row->second, codec);
      });
    }
    renderer.finish();
  }

  StdoutWriter& output_;
  std::shared_ptr<const RecordText> text_;  // shared with the batches being rendered
  bool table_;
  unsigned threads_;  // decoder threads; 0: render on this thread
  std::unordered_map<std::string, std::string> latest_;
  std::vector<Record> gathered_;  // not submitted yet
  // Last: destroyed first, joining its workers before what they read goes.
  std::optional<OrderedRenderer> renderer_;
};

// dump --storage DIR [TOPIC]: what applies of the topic's options is passed on.
void dump_from_storage(const DumpOptions& options, const GlobalOptions& global) {
  if (options.follow || options.offset != "beginning" || !options.format.empty() ||
      !options.until.empty() || options.key_option->count() > 0)
    throw Error(Errc::usage,
                "--storage cannot be combined with --follow, --offset, --format, --until or -k");
  run_dump_storage(DumpStorageOptions{.dir = options.storage,
                                      .topic = options.topic,
                                      .partitions = options.partitions,
                                      .count = options.count,
                                      .codec = options.codec,
                                      .quiet = global.quiet > 0});
}

void check_options(const DumpOptions& options) {
  if (options.topic.empty()) throw Error(Errc::usage, "TOPIC is required (or --storage DIR)");
  if (options.table && options.follow)
    throw Error(Errc::usage, "--table prints a table once read to the end; it cannot --follow");
  if (options.table && !options.format.empty())
    throw Error(Errc::usage, "--table and --format cannot be combined");
  if (options.until == "end" && options.follow)
    throw Error(Errc::usage, "--until end stops at the end seen at start; it cannot --follow");
  if (options.key_option->count() > 0 && !options.partitions.empty())
    throw Error(Errc::usage, "-k reads the partition KEY lives in; it cannot be combined with -p");
}

// What to read: the partitions (-p, or the one -k KEY lives in), where to
// start, whether to stop at the end.
TopicReaderOptions reader_options(const DumpOptions& options, const GlobalOptions& global) {
  TopicReaderOptions reader;
  reader.partitions = options.partitions;
  reader.start = parse_offset_spec(options.offset);
  reader.stop_at_end = !options.follow;
  if (options.key_option->count() > 0) {
    const int32_t count = TopicManager(client_options(global)).partitions(options.topic);
    reader.partitions = {partition_for(options.key, count)};
    log(LogLevel::info, fmt::format("dump: key \"{}\" lives in partition {} of {} ({} partitions)",
                                    options.key, reader.partitions[0], options.topic, count));
  }
  return reader;
}

void run_dump(const DumpOptions& options, const GlobalOptions& global) {
  if (!options.storage.empty()) return dump_from_storage(options, global);
  check_options(options);
  StdoutWriter output;
  Printer printer(options, output);  // checks --codec and --format before connecting
  Selection selection(options);      // checks --until

  const auto started = std::chrono::steady_clock::now();
  ClientOptions client = client_options(global);
  if (options.read_uncommitted) client.properties["isolation.level"] = "read_uncommitted";
  TopicReader reader(options.topic, reader_options(options, global), std::move(client));
  const std::size_t partitions = reader.end_offsets().size();
  log(LogLevel::debug,
      fmt::format("dump: reading {} partition(s) of {}", partitions, options.topic));

  std::vector<Record> batch;
  int64_t records = 0;
  // A poll returns once its batch is full or wait has passed: short waits
  // keep the end of a dump prompt; with --follow, wait bounds how late a
  // trickle of new records is printed.
  const auto wait = std::chrono::milliseconds(options.follow ? 100 : 20);
  bool more = options.count != 0;
  while (more) {
    if (interrupted()) {
      printer.end_of_poll(true);  // what was read before the signal, as one thread prints it
      output.flush();
      throw ExitStatus{130};
    }
    batch.clear();
    more = reader.poll(batch, wait);
    for (Record& record : batch) {
      if (!selection.wanted(record)) continue;
      ++records;
      printer.add(record);
      if (records == options.count) break;
    }
    if (records == options.count || selection.all_over(partitions)) more = false;
    printer.end_of_poll(options.follow);
    if (options.follow) output.flush();
  }
  printer.finish();
  output.flush();

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (options.table) {
    log(LogLevel::info, fmt::format("dump: {} records, {} keys of {} in {:.3f} s", records,
                                    printer.keys(), options.topic, seconds));
  } else {
    log(LogLevel::info,
        fmt::format("dump: {} records of {} in {:.3f} s", records, options.topic, seconds));
  }
}

}  // namespace

void register_dump(CLI::App& app, const GlobalOptions& global) {
  auto options = std::make_shared<DumpOptions>();
  CLI::App* sub = app.add_subcommand("dump", "Print a topic as JSON lines (or a table)");
  sub->footer(
      "Prints one envelope per record,\n"
      "  {\"topic\",\"partition\",\"offset\",\"timestamp\",\"key\",\"value\",\"headers\"},\n"
      "from the beginning to the end of every partition as seen at start (-f: keeps "
      "reading).\n"
      "-o s@A --until s@B prints a time window: each partition from its first record at or\n"
      "after time A up to its first record after time B (not printed).\n"
      "Values are decoded with --codec (proto:NAME: protobuf as proto3 JSON, schema from --proto\n"
      "or --descriptor-set; decoded on several threads, GOKA_DECODE_THREADS=N to choose);\n"
      "one that does not decode is shown as \"value_b64\" with\n"
      "\"value_error\" instead of \"value\". A key that is not UTF-8 also gets \"key_b64\".\n"
      "--format tokens (kcat's -f): %k key, %s value (raw bytes), %K/%S key/value size (-1 "
      "for null),\n"
      "%t topic, %p partition, %o offset, %T timestamp, %h headers (n=v,n=v), %%, and \\n \\t "
      "\\r \\\\.\n"
      "--storage DIR prints the local storages under DIR (DIR/TOPIC.PARTITION, written by "
      "recover,\n"
      "view --storage, a processor or Go Goka) instead: with TOPIC its rows {\"key\",\"value\"} "
      "in key\n"
      "order; without, every topic's as {\"topic\",\"key\",\"value\"} (topics in name order). "
      "Each\n"
      "partition's __offset goes to stderr (-q: not). -p, -c and --codec apply.");
  sub->add_option("TOPIC", options->topic, "Topic to print (optional with --storage)");
  auto* follow = sub->add_flag("-f,--follow", options->follow,
                               "Keep reading new records after the end (until SIGINT)");
  sub->add_option("-o,--offset", options->offset,
                  "Where to start in each partition: beginning | end | N | -N (the last N) | "
                  "s@MS (first record at or after time MS)")
      ->capture_default_str()
      ->type_name("OFFSET");
  sub->add_option("--until", options->until,
                  "Where to stop in each partition: s@MS (before the first record with a "
                  "timestamp after MS) | end (the end seen at start)")
      ->type_name("s@MS|end");
  options->key_option =
      sub->add_option("-k,--key", options->key,
                      "Only records of KEY, reading only the partition it lives in (Goka's)")
          ->type_name("KEY");
  sub->add_option("-c,--count", options->count, "Stop after N records")
      ->check(CLI::NonNegativeNumber)
      ->type_name("N");
  sub->add_option("-p,--partition", options->partitions, "Only this partition (repeatable)")
      ->check(CLI::NonNegativeNumber)
      ->allow_extra_args(false)
      ->type_name("P");
  sub->add_flag("--read-uncommitted", options->read_uncommitted,
                "Also records of open and aborted transactions (debugging; default: read committed)");
  auto* table = sub->add_flag("--table", options->table,
                              "Print the latest value per key, sorted by key, as "
                              "{\"key\":..,\"value\":..}; tombstones remove keys");
  auto* format = options->format_option =
      sub->add_option("--format", options->format,
                      "Print each record in kcat's -f format instead of JSON")
          ->type_name("FMT");
  table->excludes(follow);
  table->excludes(format);
  add_codec_option(sub, options->codec);
  sub->add_option("--storage", options->storage,
                  "Print the local storages under DIR instead of a topic")
      ->type_name("DIR");
  sub->callback([options, &global] { run_dump(*options, global); });
}

}  // namespace goka::cli
