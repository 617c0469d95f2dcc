// goka-cli recover TABLE --storage DIR: recovers a table into one LevelDB per
// partition under DIR (Go Goka's layout), resuming from what DIR holds, and
// prints a JSON summary. See CLI.md.

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/global_options.hpp"
#include "commands/commands.hpp"
#include "tables/table_support.hpp"
#include "goka/error.hpp"
#include "goka/view.hpp"

namespace goka::cli {
namespace {

struct RecoverOptions {
  std::string table;
  std::string group;
  std::string storage;
  bool read_uncommitted = false;
};

int64_t count_keys(const View& view) {
  int64_t keys = 0;
  for (auto it = view.iterator(); it->next();) ++keys;
  return keys;
}

void run_recover(const RecoverOptions& o, const GlobalOptions& global) {
  const std::string table = resolve_table(o.table, o.group);
  const auto started = std::chrono::steady_clock::now();
  ViewOptions options;
  options.client = client_options(global);
  if (o.read_uncommitted) options.client.properties["isolation.level"] = "read_uncommitted";
  options.follow = false;
  options.storage = leveldb_storage_builder(o.storage);

  View view(table, std::move(options));
  RecoveryProgress progress(stderr_is_tty() && global.quiet == 0,
                            std::chrono::milliseconds(0));
  view.start();
  await_recovery(view, progress, "recovery stopped before the end", std::nullopt, [&] {
    note(fmt::format("recover: interrupted after {} records of {}; run it again to resume",
                     recovery_totals(view.stats()).records, table));
  });
  view.wait();
  progress.draw(view.stats());
  progress.clear();

  const RecoveryTotals totals = recovery_totals(view.stats());
  const int64_t keys = count_keys(view);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  nlohmann::ordered_json summary;
  summary["table"] = table;
  summary["partitions"] = view.partition_count();
  summary["records"] = totals.records;
  summary["keys"] = keys;
  summary["seconds"] = std::round(seconds * 1000) / 1000;
  std::string line = summary.dump() + "\n";
  std::fputs(line.c_str(), stdout);
  note(
      fmt::format("recover: {} records of {} ({} partitions) into {} in {:.3f} s "
                  "({:.0f} records/s), {} keys",
                  totals.records, table, view.partition_count(), o.storage, seconds,
                  seconds > 0 ? double(totals.records) / seconds : 0.0, keys));
}

}  // namespace

void register_recover(CLI::App& app, const GlobalOptions& global) {
  auto o = std::make_shared<RecoverOptions>();
  CLI::App* sub =
      app.add_subcommand("recover", "Recover a table into local LevelDB storage (Goka's layout)");
  sub->footer(
      "Reads every partition of TABLE from the offset after the one DIR/TABLE.PARTITION holds\n"
      "(its \"__offset\"; from the beginning when new) to the high watermark seen at start,\n"
      "into one LevelDB per partition, as a Go Goka view or processor would. On a terminal,\n"
      "progress is drawn on stderr. Prints on stdout\n"
      "  {\"table\":..,\"partitions\":..,\"records\":..,\"keys\":..,\"seconds\":..}\n"
      "with records applied by this run and keys now in DIR; a summary line goes to stderr\n"
      "(-q: none). SIGINT stops it with exit 130 and DIR consistent: the next run resumes.");
  sub->add_option("TABLE", o->table, "Table topic (e.g. GROUP-table)");
  sub->add_option("--group", o->group, "Recover the table of processor group GROUP (GROUP-table)")
      ->type_name("GROUP");
  sub->add_flag("--read-uncommitted", o->read_uncommitted,
                "Also records of open and aborted transactions (debugging; default: read committed)");
  sub->add_option("--storage", o->storage, "Directory of the LevelDB storages")
      ->required()
      ->type_name("DIR");
  sub->callback([o, &global] { run_recover(*o, global); });
}

}  // namespace goka::cli
