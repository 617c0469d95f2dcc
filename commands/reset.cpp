// goka-cli reset GROUP: moves a stopped processor group's committed input
// offsets (kafka-consumer-groups --reset-offsets, knowing Goka's shape), and
// with --table empties its group table so that reprocessing starts afresh.

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/global_options.hpp"
#include "commands/commands.hpp"
#include "goka/error.hpp"
#include "goka/group_admin.hpp"
#include "goka/topic_manager.hpp"

namespace goka::cli {
namespace {

struct ResetOptions {
  std::string group;
  bool to_earliest = false;
  bool to_latest = false;
  std::string to_datetime;
  int64_t shift_by = 0;
  std::vector<std::string> inputs;
  bool table = false;
  bool dry_run = false;
  std::string storage;
  CLI::Option* datetime_option = nullptr;
  CLI::Option* shift_option = nullptr;
};

// One partition's move.
struct Move {
  std::string topic;
  int32_t partition = 0;
  int64_t old_offset = -1;  // -1: nothing committed
  int64_t new_offset = 0;
};

// Milliseconds since the epoch of ISO 8601 text: YYYY-MM-DD, then optionally
// THH:MM[:SS[.fff]] and Z or +HH:MM / -HH:MM (no zone: UTC).
int64_t parse_iso8601(const std::string& text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, consumed = 0;
  double sec = 0;
  auto bad = [&] {
    return Error(Errc::usage, fmt::format("--to-datetime: not an ISO 8601 time: {} "
                                          "(e.g. 2024-05-01T12:00:00Z)", text));
  };
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &consumed) != 3) throw bad();
  std::size_t at = static_cast<std::size_t>(consumed);
  if (at < text.size() && (text[at] == 'T' || text[at] == ' ')) {
    int n = 0;
    if (std::sscanf(text.c_str() + at + 1, "%2d:%2d%n", &h, &mi, &n) != 2) throw bad();
    at += 1 + static_cast<std::size_t>(n);
    if (at < text.size() && text[at] == ':') {
      if (std::sscanf(text.c_str() + at + 1, "%lf%n", &sec, &n) != 1) throw bad();
      at += 1 + static_cast<std::size_t>(n);
    }
  }
  int offset_minutes = 0;
  if (at < text.size() && text[at] == 'Z') {
    ++at;
  } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
    int oh = 0, om = 0, n = 0;
    if (std::sscanf(text.c_str() + at + 1, "%2d:%2d%n", &oh, &om, &n) != 2) throw bad();
    offset_minutes = (text[at] == '-' ? -1 : 1) * (oh * 60 + om);
    at += 1 + static_cast<std::size_t>(n);
  }
  if (at != text.size() || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
      sec < 0 || sec >= 61)
    throw bad();
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  const int64_t seconds = static_cast<int64_t>(timegm(&tm)) - offset_minutes * 60;
  return seconds * 1000 + static_cast<int64_t>(sec * 1000 + 0.5);
}

void check_options(const ResetOptions& o) {
  const int how = int(o.to_earliest) + int(o.to_latest) + int(o.datetime_option->count() > 0) +
                  int(o.shift_option->count() > 0);
  if (how != 1) {
    throw Error(Errc::usage,
                "give exactly one of --to-earliest, --to-latest, --to-datetime ISO8601, "
                "--shift-by N");
  }
  if (!o.storage.empty() && !o.table) throw Error(Errc::usage, "--storage goes with --table");
}

// The inputs to move: --input TOPICs, else the topics the group committed
// offsets for (its table left out). Errc::not_found when there are none.
std::vector<std::string> inputs_of(TopicManager& topics, const ResetOptions& o) {
  if (!o.inputs.empty()) {
    for (const std::string& topic : o.inputs) topics.partitions(topic);  // not_found if missing
    return o.inputs;
  }
  std::vector<std::string> out;
  for (const TopicInfo& info : topics.topics()) {
    if (info.name == o.group + "-table") continue;
    if (info.name == o.group + "-loop") {
      // Its records come from processing the inputs, which reprocessing
      // emits again: moving it back would process them twice.
      note(fmt::format("reset: {} left as it is (name it with --input to move it)", info.name));
      continue;
    }
    for (int64_t c : topics.committed(o.group, info.name)) {
      if (c >= 0) {
        out.push_back(info.name);
        break;
      }
    }
  }
  if (out.empty()) {
    throw Error(Errc::not_found, "the group has committed no offsets: nothing to reset",
                {.detail = "group " + o.group});
  }
  return out;
}

// Where each partition of the inputs goes, within its watermarks. A
// partition with nothing committed shifts from its low watermark (where
// the group starts by default).
std::vector<Move> plan_moves(TopicManager& topics, GroupAdmin& admin, const ResetOptions& o,
                             const std::vector<std::string>& inputs) {
  std::optional<int64_t> at_ms;
  if (o.datetime_option->count() > 0) at_ms = parse_iso8601(o.to_datetime);
  std::vector<Move> moves;
  for (const std::string& topic : inputs) {
    const std::vector<int64_t> committed = topics.committed(o.group, topic);
    for (int32_t p = 0; p < static_cast<int32_t>(committed.size()); ++p) {
      const Watermarks w = topics.watermarks(topic, p);
      Move m{topic, p, committed[static_cast<size_t>(p)], 0};
      if (o.to_earliest) {
        m.new_offset = w.low;
      } else if (o.to_latest) {
        m.new_offset = w.high;
      } else if (at_ms) {
        m.new_offset = admin.offset_for_time(topic, p, *at_ms);
      } else {
        m.new_offset = (m.old_offset >= 0 ? m.old_offset : w.low) + o.shift_by;
      }
      m.new_offset = std::clamp(m.new_offset, w.low, w.high);
      moves.push_back(std::move(m));
    }
  }
  return moves;
}

void print_moves(const std::vector<Move>& moves) {
  std::printf("%-30s %9s %12s %12s\n", "TOPIC", "PARTITION", "OLD", "NEW");
  for (const Move& m : moves) {
    std::printf("%-30s %9d %12s %12lld\n", m.topic.c_str(), m.partition,
                m.old_offset >= 0 ? std::to_string(m.old_offset).c_str() : "-",
                static_cast<long long>(m.new_offset));
  }
  std::fflush(stdout);
}

// Refuses (Errc::runtime, exit 1) while the group has members.
void check_no_members(GroupAdmin& admin, const std::string& group) {
  std::vector<GroupMember> members;
  try {
    members = admin.members(group);
  } catch (const Error&) {
    if (!admin.embedded()) throw;
    throw Error(Errc::kafka,
                fmt::format("cannot make sure group {} has no members: the embedded broker cannot "
                            "describe consumer groups (--dry-run works; reset needs a real Kafka)",
                            group));
  }
  if (members.empty()) return;
  std::vector<std::string> names;
  for (const GroupMember& m : members) {
    names.push_back(fmt::format("{} ({}@{})", m.member_id, m.client_id, m.host));
  }
  throw Error(Errc::runtime,
              fmt::format("group {} has {} active member(s), stop them first: {}", group,
                          members.size(), fmt::join(names, ", ")));
}

// --table: empties GROUP-table and says which local storages must go.
void empty_table(GroupAdmin& admin, TopicManager& topics, const ResetOptions& o) {
  const std::string table = o.group + "-table";
  if (!topics.exists(table)) {
    note(fmt::format("reset: group table {} does not exist; nothing to empty", table));
    return;
  }
  if (o.dry_run) {
    note(fmt::format("reset: would empty group table {}", table));
  } else {
    const EmptiedBy how = admin.empty_topic(table);
    note(fmt::format("reset: group table {} {}", table,
                     how == EmptiedBy::nothing           ? "was empty already"
                     : how == EmptiedBy::deleted_records ? "emptied (records deleted)"
                                                         : "emptied (deleted and created again)"));
  }
  std::vector<std::string> found;
  if (!o.storage.empty()) {
    for (int32_t p = 0, n = topics.partitions(table); p < n; ++p) {
      const auto path = std::filesystem::path(o.storage) / fmt::format("{}.{}", table, p);
      if (std::filesystem::exists(path)) found.push_back(path.string());
    }
  }
  if (!found.empty()) {
    note(fmt::format("reset: remove the local storages of {} before the group runs again: {}",
                     table, fmt::join(found, " ")));
  } else {
    note(fmt::format("reset: local storages of {} (run-group --storage DIR: DIR/{}.PARTITION; "
                     "Go Goka: /tmp/goka/processor/{}/) must be removed before the group runs "
                     "again{}",
                     table, table, o.group, o.storage.empty() ? "" : "; none found in " + o.storage));
  }
}

void run_reset(const ResetOptions& o, const GlobalOptions& global) {
  check_options(o);
  TopicManager topics(client_options(global));
  GroupAdmin admin(client_options(global));
  const std::vector<std::string> inputs = inputs_of(topics, o);
  if (!o.dry_run) check_no_members(admin, o.group);
  const std::vector<Move> moves = plan_moves(topics, admin, o, inputs);
  if (!o.dry_run) {
    std::vector<PartitionOffset> offsets;
    for (const Move& m : moves) offsets.push_back({m.topic, m.partition, m.new_offset});
    admin.commit(o.group, offsets);
  }
  print_moves(moves);
  if (o.table) empty_table(admin, topics, o);
  note(o.dry_run ? fmt::format("reset: dry run, group {} unchanged", o.group)
                 : fmt::format("reset: group {}: {} partition(s) of {} moved", o.group,
                               moves.size(), fmt::join(inputs, ", ")));
}

}  // namespace

void register_reset(CLI::App& app, const GlobalOptions& global) {
  auto o = std::make_shared<ResetOptions>();
  CLI::App* sub = app.add_subcommand(
      "reset", "Move a stopped processor group's committed input offsets (to reprocess)");
  sub->footer(
      "The group's inputs are the topics it committed offsets for, except GROUP-loop, whose\n"
      "records reprocessing emits again (--input TOPIC, repeatable, limits the reset to some,\n"
      "or names one not committed yet, or GROUP-loop). Exactly one of\n"
      "  --to-earliest        the low watermark of each partition;\n"
      "  --to-latest          the high watermark (skip everything not processed yet);\n"
      "  --to-datetime ISO    the first record at or after that time (YYYY-MM-DD[THH:MM[:SS[.fff]]]\n"
      "                       [Z|+HH:MM], UTC when no zone; the high watermark when none);\n"
      "  --shift-by N         N offsets forward (negative: back) from the committed one\n"
      "                       (from the low watermark where nothing is committed);\n"
      "new offsets stay within the watermarks. Prints TOPIC PARTITION OLD NEW per partition\n"
      "(OLD -: nothing committed). Refused (exit 1) while the group has active members: stop\n"
      "every run-group of it first. --table also empties GROUP-table (DeleteRecords, or, for a\n"
      "compacted topic, delete and create it again with its configuration), so that\n"
      "reprocessing starts from an empty table; local storages of the table must then be\n"
      "removed (--storage DIR names those found there). --dry-run prints the moves and\n"
      "changes nothing. The embedded broker can do --dry-run only (except --to-datetime): it\n"
      "cannot describe groups, look offsets up by time, or delete records.");
  sub->add_option("GROUP", o->group, "The processor group (consumer group id)")->required();
  sub->add_flag("--to-earliest", o->to_earliest, "Reprocess everything still in the inputs");
  sub->add_flag("--to-latest", o->to_latest, "Skip to the end of the inputs");
  o->datetime_option =
      sub->add_option("--to-datetime", o->to_datetime, "Reprocess from this time on")
          ->type_name("ISO8601");
  o->shift_option =
      sub->add_option("--shift-by", o->shift_by, "Move N offsets (negative: back)")
          ->type_name("N");
  sub->add_option("--input", o->inputs, "Reset only this input (repeatable)")->type_name("TOPIC");
  sub->add_flag("--table", o->table, "Also empty the group table GROUP-table");
  sub->add_option("--storage", o->storage,
                  "With --table: name the local storages under DIR that must be removed")
      ->type_name("DIR");
  sub->add_flag("--dry-run", o->dry_run, "Print old and new offsets, change nothing");
  sub->callback([o, &global] { run_reset(*o, global); });
}

}  // namespace goka::cli
