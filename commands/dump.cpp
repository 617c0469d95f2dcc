// goka-cli dump TOPIC: writes a topic as envelope lines (or as a table, or in
// kcat's -f format) to stdout. See CLI.md.

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "cli/envelope.hpp"
#include "cli/global_options.hpp"
#include "cli/offset_spec.hpp"
#include "cli/record_format.hpp"
#include "cli/signals.hpp"
#include "cli/value_codec.hpp"
#include "commands/commands.hpp"
#include "tables/table_support.hpp"
#include "tables/dump_storage.hpp"
#include "goka/error.hpp"
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
  std::string codec = "json";
  std::string storage;  // --storage DIR: local storages instead of a topic
};

// What is done with each record: envelope lines, --format, or --table.
class Printer {
 public:
  Printer(const DumpOptions& options, StdoutWriter& output, ValueCodec codec)
      : output_(output), codec_(std::move(codec)), table_(options.table) {
    if (options.format_option != nullptr && options.format_option->count() > 0)
      format_.emplace(options.format);
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
    if (format_) {
      format_->append(output_.buffer(), record);
    } else {
      append_envelope(output_.buffer(), record, codec_);
    }
    output_.maybe_flush();
  }

  // Prints the table, sorted by key (byte order), when it is one.
  void finish() {
    if (!table_) return;
    std::vector<std::pair<const std::string, std::string>*> rows;
    rows.reserve(latest_.size());
    for (auto& row : latest_) rows.push_back(&row);
    std::sort(rows.begin(), rows.end(),
              [](const auto* a, const auto* b) { return a->first < b->first; });
    for (const auto* row : rows) {
      append_table_row(output_.buffer(), row->first, row->second, codec_);
      output_.maybe_flush();
    }
  }

  int64_t keys() const { return static_cast<int64_t>(latest_.size()); }

 private:
  StdoutWriter& output_;
  ValueCodec codec_;
  std::optional<RecordFormat> format_;
  bool table_;
  std::unordered_map<std::string, std::string> latest_;
};

// dump --storage DIR [TOPIC]: what applies of the topic's options is passed on.
void dump_from_storage(const DumpOptions& options, const GlobalOptions& global) {
  if (options.follow || options.offset != "beginning" || !options.format.empty())
    throw Error(Errc::usage, "--storage cannot be combined with --follow, --offset or --format");
  run_dump_storage(DumpStorageOptions{.dir = options.storage,
                                      .topic = options.topic,
                                      .partitions = options.partitions,
                                      .count = options.count,
                                      .codec = value_codec(options.codec, global),
                                      .quiet = global.quiet > 0});
}

void run_dump(const DumpOptions& options, const GlobalOptions& global) {
  if (!options.storage.empty()) return dump_from_storage(options, global);
  if (options.topic.empty()) throw Error(Errc::usage, "TOPIC is required (or --storage DIR)");
  if (options.table && options.follow)
    throw Error(Errc::usage, "--table prints a table once read to the end; it cannot --follow");
  if (options.table && !options.format.empty())
    throw Error(Errc::usage, "--table and --format cannot be combined");

  StdoutWriter output;
  // Checks --codec and --format before connecting.
  Printer printer(options, output, value_codec(options.codec, global));
  TopicReaderOptions reader_options;
  reader_options.partitions = options.partitions;
  reader_options.start = parse_offset_spec(options.offset);
  reader_options.stop_at_end = !options.follow;

  const auto started = std::chrono::steady_clock::now();
  TopicReader reader(options.topic, std::move(reader_options), client_options(global));
  log(LogLevel::debug, fmt::format("dump: reading {} partition(s) of {}",
                                   reader.end_offsets().size(), options.topic));

  std::vector<Record> batch;
  int64_t records = 0;
  // A poll returns once its batch is full or wait has passed: short waits
  // keep the end of a dump prompt; with --follow, wait bounds how late a
  // trickle of new records is printed.
  const auto wait = std::chrono::milliseconds(options.follow ? 100 : 20);
  bool more = options.count != 0;
  while (more) {
    if (interrupted()) {
      output.flush();
      throw ExitStatus{130};
    }
    batch.clear();
    more = reader.poll(batch, wait);
    for (Record& record : batch) {
      if (options.count >= 0 && records >= options.count) {
        more = false;
        break;
      }
      ++records;
      printer.add(record);
    }
    if (options.count >= 0 && records >= options.count) more = false;
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
      "Values are decoded with --codec; one that does not decode is shown as \"value_b64\" "
      "with\n"
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
  sub->add_option("-c,--count", options->count, "Stop after N records")
      ->check(CLI::NonNegativeNumber)
      ->type_name("N");
  sub->add_option("-p,--partition", options->partitions, "Only this partition (repeatable)")
      ->check(CLI::NonNegativeNumber)
      ->allow_extra_args(false)
      ->type_name("P");
  auto* table = sub->add_flag("--table", options->table,
                              "Print the latest value per key, sorted by key, as "
                              "{\"key\":..,\"value\":..}; tombstones remove keys");
  auto* format = options->format_option =
      sub->add_option("--format", options->format,
                      "Print each record in kcat's -f format instead of JSON")
          ->type_name("FMT");
  table->excludes(follow);
  table->excludes(format);
  sub->add_option("--codec", options->codec, "Value codec")
      ->check(codec_name_check())
      ->capture_default_str();
  sub->add_option("--storage", options->storage,
                  "Print the local storages under DIR instead of a topic")
      ->type_name("DIR");
  sub->callback([options, &global] { run_dump(*options, global); });
}

}  // namespace goka::cli
