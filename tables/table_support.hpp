#pragma once
// What `view`, `recover` and `dump --storage` share: stdout through a buffer,
// table rows from an iterator, TABLE / --group resolution, and the recovery
// progress drawn on a terminal.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "cli/value_codec.hpp"
#include "goka/storage.hpp"
#include "goka/view.hpp"

namespace goka::cli {

// stdout through one buffer, written with write(2). A reader that went away
// (EPIPE: `view T --all | head`) ends the command quietly: throws ExitStatus{0}.
// Not thread-safe.
class StdoutWriter {
 public:
  static constexpr std::size_t chunk = 1 << 20;

  StdoutWriter() { buffer_.reserve(chunk + chunk / 4); }

  std::string& buffer() { return buffer_; }
  // Writes the buffer out once it holds a chunk.
  void maybe_flush() {
    if (buffer_.size() >= chunk) flush();
  }
  // Writes the whole buffer out. Throws ExitStatus{0} on EPIPE and
  // goka::Error (Errc::runtime) on any other write error.
  void flush();

 private:
  std::string buffer_;
};

// The table topic of `TABLE` or `--group G` (G-table). Throws Errc::usage
// when both or neither are given.
std::string resolve_table(const std::string& table, const std::string& group);

// Appends `{"key":K,"value":V}` for every pair of it (at most limit; -1: no
// limit) to out, flushing as it goes. With topic, each row starts with
// `"topic":topic`. Returns the rows written. A costly codec's values are
// decoded on decoder threads (decode_threads()), printed in the same order.
int64_t write_rows(Iterator& it, const ValueCodec& codec, StdoutWriter& out, int64_t limit = -1,
                   std::optional<std::string_view> topic = std::nullopt);

// Appends `{"key":K,"value":null,"found":false}` and '\n' to out.
void append_missing_row(std::string& out, std::string_view key);

// Recovery progress on stderr, redrawn in place: the overall offsets read of
// those to read, records/s, ETA, then per partition `P offset/high` (only
// the unfinished ones when they do not fit in a few lines). Draws nothing
// unless enabled (stderr is a terminal and not -q). Not thread-safe.
class RecoveryProgress {
 public:
  // Draws only from delay after construction on (0: at once), so that a
  // quick recovery does not flicker.
  RecoveryProgress(bool enabled, std::chrono::milliseconds delay);
  ~RecoveryProgress();
  RecoveryProgress(const RecoveryProgress&) = delete;
  RecoveryProgress& operator=(const RecoveryProgress&) = delete;

  // Redraws the progress of stats.
  void draw(const ViewStats& stats);
  // Erases what was drawn (before other output on stderr).
  void clear();

 private:
  bool enabled_;
  std::chrono::steady_clock::time_point started_;
  std::chrono::milliseconds delay_;
  int lines_ = 0;  // lines drawn last time; the cursor is at the end of the last one
};

// Offsets a recovery covers and has covered, summed over partitions.
struct RecoveryTotals {
  int64_t to_read = 0;
  int64_t read = 0;
  int64_t records = 0;
};
RecoveryTotals recovery_totals(const ViewStats& stats);

// Waits until view (started) is recovered, redrawing progress meanwhile, and
// returns true; returns false at deadline (if given) with the view still
// running. On SIGINT/SIGTERM it stops the view, waits for its thread, clears
// the progress, calls on_interrupt (if set) and throws ExitStatus{130}. A view
// that stops before it is recovered: rethrows what stopped it, else throws
// Errc::runtime with stopped_what naming the table.
bool await_recovery(View& view, RecoveryProgress& progress, const std::string& stopped_what,
                    std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt,
                    const std::function<void()>& on_interrupt = {});

}  // namespace goka::cli
