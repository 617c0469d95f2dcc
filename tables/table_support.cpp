#include "tables/table_support.hpp"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "cli/envelope.hpp"
#include "cli/ordered_renderer.hpp"
#include "cli/signals.hpp"
#include "commands/commands.hpp"
#include "goka/error.hpp"

namespace goka::cli {

void StdoutWriter::flush() {
  const char* data = buffer_.data();
  std::size_t left = buffer_.size();
  while (left > 0) {
    const ssize_t n = ::write(STDOUT_FILENO, data, left);
    if (n >= 0) {
      data += n;
      left -= static_cast<std::size_t>(n);
      continue;
    }
    if (errno == EINTR || errno == EAGAIN) continue;
    if (errno == EPIPE) throw ExitStatus{0};
    throw Error(Errc::runtime, fmt::format("cannot write to stdout: {}", std::strerror(errno)));
  }
  buffer_.clear();
}

std::string resolve_table(const std::string& table, const std::string& group) {
  if (!table.empty() && !group.empty())
    throw Error(Errc::usage, "give TABLE or --group GROUP, not both");
  if (table.empty() && group.empty())
    throw Error(Errc::usage, "TABLE (or --group GROUP) is required");
  return table.empty() ? group + "-table" : table;
}

namespace {

// Appends {"key":K,"value":V} and '\n' to out; with topic, {"topic":T,...}.
void append_row(std::string& out, std::string_view key, std::string_view value,
                const ValueCodec& codec, std::optional<std::string_view> topic) {
  if (!topic) {
    append_table_row(out, key, value, codec);
    return;
  }
  // {"topic":T, then the row without its opening brace.
  out += "{\"topic\":";
  append_json_string(out, *topic);
  out += ',';
  const std::size_t at = out.size();
  append_table_row(out, key, value, codec);
  out.erase(at, 1);
}

// Rows copied out of an iterator (whose views do not outlive next()), to be
// rendered on a decoder thread: their bytes in one string.
struct RowBatch {
  static constexpr std::size_t kRows = 512;
  std::string bytes;
  std::vector<std::pair<std::size_t, std::size_t>> rows;  // key size, value size

  void add(std::string_view key, std::string_view value) {
    bytes += key;
    bytes += value;
    rows.emplace_back(key.size(), value.size());
  }
  void append(std::string& out, const ValueCodec& codec,
              std::optional<std::string_view> topic) const {
    std::string_view rest = bytes;
    for (const auto& [key_size, value_size] : rows) {
      append_row(out, rest.substr(0, key_size), rest.substr(key_size, value_size), codec, topic);
      rest.remove_prefix(key_size + value_size);
    }
  }
};

// write_rows() with the values decoded on threads decoder threads.
int64_t write_rows_parallel(Iterator& it, const ValueCodec& codec, StdoutWriter& out,
                            int64_t limit, std::optional<std::string_view> topic,
                            unsigned threads) {
  OrderedRenderer renderer(threads, 4 * threads, [&out](std::string_view text) {
    out.buffer() += text;
    out.maybe_flush();
  });
  const std::optional<std::string> topic_name(topic);
  int64_t rows = 0;
  RowBatch batch;
  auto submit = [&] {
    if (batch.rows.empty()) return;
    renderer.submit([batch = std::move(batch), codec, topic_name](std::string& text) {
      batch.append(text, codec, topic_name);
    });
    batch = RowBatch();
  };
  while ((limit < 0 || rows < limit) && it.next()) {
    batch.add(it.key(), it.value());
    ++rows;
    if (batch.rows.size() >= RowBatch::kRows) submit();
  }
  submit();
  renderer.finish();
  return rows;
}

}  // namespace

int64_t write_rows(Iterator& it, const ValueCodec& codec, StdoutWriter& out, int64_t limit,
                   std::optional<std::string_view> topic) {
  if (const unsigned threads = codec.costly() ? decode_threads() : 0; threads > 0)
    return write_rows_parallel(it, codec, out, limit, topic, threads);
  int64_t rows = 0;
  while ((limit < 0 || rows < limit) && it.next()) {
    append_row(out.buffer(), it.key(), it.value(), codec, topic);
    ++rows;
    out.maybe_flush();
  }
  return rows;
}

void append_missing_row(std::string& out, std::string_view key) {
  append_table_row(out, key, std::nullopt, ValueCodec());
  out.resize(out.size() - 2);  // "}\n"
  out += ",\"found\":false}\n";
}

bool await_recovery(View& view, RecoveryProgress& progress, const std::string& stopped_what,
                    std::optional<std::chrono::steady_clock::time_point> deadline,
                    const std::function<void()>& on_interrupt) {
  constexpr std::chrono::milliseconds kTick{250};  // progress redraw and signal check
  while (true) {
    auto wait = kTick;
    if (deadline) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          *deadline - std::chrono::steady_clock::now());
      if (left <= std::chrono::milliseconds(0)) return view.recovered();
      wait = std::min(wait, left);
    }
    if (view.wait_recovered(wait)) return true;
    if (interrupted()) {
      view.stop();
      view.wait();  // every batch written is written with its offset: storages stay consistent
      progress.clear();
      if (on_interrupt) on_interrupt();
      throw ExitStatus{130};
    }
    if (view.state() == TableState::stopped) {
      view.wait();  // throws what stopped it
      throw Error(Errc::runtime, stopped_what, {.topic = view.table()});
    }
    progress.draw(view.stats());
  }
}

// ---- progress -------------------------------------------------------------

RecoveryTotals recovery_totals(const ViewStats& stats) {
  RecoveryTotals totals;
  for (const PartitionStats& p : stats.partitions) {
    totals.records += p.records;
    if (p.start_offset < 0) continue;
    const int64_t span = std::max<int64_t>(0, p.high_watermark - p.start_offset);
    totals.to_read += span;
    if (p.recovery_finished) {
      totals.read += span;
    } else {
      totals.read += std::clamp<int64_t>(p.stored_offset + 1 - p.start_offset, 0, span);
    }
  }
  return totals;
}

namespace {

constexpr int kMaxPartitionLines = 8;

int terminal_width() {
  winsize size{};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col >= 20) return size.ws_col;
  return 80;
}

std::string duration_text(double seconds) {
  const auto s = static_cast<int64_t>(seconds + 0.5);
  if (s < 1) return "<1 s";
  if (s < 60) return fmt::format("{} s", s);
  if (s < 3600) return fmt::format("{} min {} s", s / 60, s % 60);
  return fmt::format("{} h {} min", s / 3600, s % 3600 / 60);
}

// Cells "P next/high" packed into lines of width columns.
std::vector<std::string> pack(const std::vector<std::string>& cells, std::size_t width) {
  std::size_t cell = 0;
  for (const auto& c : cells) cell = std::max(cell, c.size());
  const std::size_t per_line = std::max<std::size_t>(1, (width + 2) / (cell + 2));
  std::vector<std::string> lines;
  for (std::size_t i = 0; i < cells.size(); i += per_line) {
    std::string line;
    for (std::size_t j = i; j < std::min(cells.size(), i + per_line); ++j) {
      if (j > i) line += "  ";
      line +=
          fmt::format("{:<{}}", cells[j], j + 1 < std::min(cells.size(), i + per_line) ? cell : 0);
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

}  // namespace

RecoveryProgress::RecoveryProgress(bool enabled, std::chrono::milliseconds delay)
    : enabled_(enabled), started_(std::chrono::steady_clock::now()), delay_(delay) {}

RecoveryProgress::~RecoveryProgress() { clear(); }

void RecoveryProgress::draw(const ViewStats& stats) {
  if (!enabled_) return;
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  if (elapsed * 1000 < static_cast<double>(delay_.count())) return;
  const auto width = static_cast<std::size_t>(terminal_width() - 1);

  const RecoveryTotals totals = recovery_totals(stats);
  const double rate = elapsed > 0 ? double(totals.records) / elapsed : 0;
  const double offset_rate = elapsed > 0 ? double(totals.read) / elapsed : 0;
  std::string head =
      fmt::format("recovering {}: {} of {} offsets", stats.table, totals.read, totals.to_read);
  if (totals.to_read > 0)
    head += fmt::format(" ({:.0f}%)", 100.0 * double(totals.read) / double(totals.to_read));
  head += fmt::format(", {:.0f} records/s", rate);
  if (totals.read < totals.to_read && offset_rate > 0)
    head += ", ETA " + duration_text(double(totals.to_read - totals.read) / offset_rate);

  std::vector<std::string> all;
  std::vector<std::string> unfinished;
  for (const PartitionStats& p : stats.partitions) {
    std::string cell;
    if (p.start_offset < 0) {
      cell = fmt::format("{} -/-", p.partition);
    } else {
      cell = fmt::format("{} {}/{}", p.partition, std::max(p.stored_offset + 1, p.start_offset),
                         p.high_watermark);
    }
    if (!p.recovery_finished) unfinished.push_back(cell);
    all.push_back(std::move(cell));
  }
  std::vector<std::string> lines = pack(all, width);
  if (lines.size() > kMaxPartitionLines) {
    lines = pack(unfinished, width);
    const std::size_t done = all.size() - unfinished.size();
    if (lines.size() > kMaxPartitionLines) {
      lines.resize(kMaxPartitionLines);
      lines.back() = "...";
    }
    if (done > 0) lines.push_back(fmt::format("({} partitions done)", done));
  }
  lines.insert(lines.begin(), std::move(head));

  std::string out;
  if (lines_ > 0) {
    out += '\r';
    if (lines_ > 1) out += fmt::format("\x1b[{}A", lines_ - 1);
    out += "\x1b[J";
  }
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out += '\n';
    out += lines[i].substr(0, width);
  }
  std::fputs(out.c_str(), stderr);
  std::fflush(stderr);
  lines_ = static_cast<int>(lines.size());
}

void RecoveryProgress::clear() {
  if (lines_ == 0) return;
  std::string out = "\r";
  if (lines_ > 1) out += fmt::format("\x1b[{}A", lines_ - 1);
  out += "\x1b[J";
  std::fputs(out.c_str(), stderr);
  std::fflush(stderr);
  lines_ = 0;
}

}  // namespace goka::cli
