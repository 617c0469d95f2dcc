#include "goka/view.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include "core/backend.hpp"
#include "core/log.hpp"
#include "core/partition_selection.hpp"
#include "core/partition_table.hpp"
#include "goka/hasher.hpp"

namespace goka {
namespace {

// How long one poll waits for records: bounds how late stop() is noticed.
constexpr std::chrono::milliseconds kPollWait{100};

// Log lines of the view, filtered and routed as ClientOptions says (the
// same rules as the Kafka clients' own lines).
LogHandler make_log(const ClientOptions& client) {
  return [client](LogLevel level, const std::string& line) { core::log(client, level, line); };
}

}  // namespace

StorageBuilder memory_storage_builder() {
  return [](const std::string&, int32_t) { return make_memory_storage(); };
}

StorageBuilder leveldb_storage_builder(std::filesystem::path dir, LevelDbOptions options) {
  return [dir = std::move(dir), options](const std::string& topic, int32_t partition) {
    return open_leveldb_storage(dir, topic, partition, options);
  };
}

std::vector<int32_t> partitions_for(const std::vector<std::string>& keys, int32_t partitions) {
  std::vector<int32_t> out;
  out.reserve(keys.size());
  for (const std::string& key : keys) out.push_back(partition_for(key, partitions));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

struct View::State {
  std::string table;
  ViewOptions options;
  std::shared_ptr<core::Backend> backend;
  LogHandler log;
  int32_t count = 0;
  std::vector<int32_t> partitions;
  std::vector<int> index;  // per partition of the topic: its table's index, -1 when not read
  std::vector<std::unique_ptr<core::PartitionTable>> tables;

  std::atomic<bool> ran{false};
  std::atomic<bool> stop_requested{false};
  std::thread thread;  // of start()

  mutable std::mutex mutex;
  std::condition_variable changed;  // state, recovered, finished, stop_requested
  // Guarded by mutex.
  TableState state = TableState::idle;
  bool all_recovered = false;
  bool finished = false;  // run() has returned (or thrown)
  std::optional<Error> error;
  int64_t retries = 0;

  // The table holding key. Throws Errc::usage when its partition is not read.
  core::PartitionTable& table_of(std::string_view key) const {
    int32_t p = partition_for(key, count);
    int i = index[static_cast<size_t>(p)];
    if (i < 0) {
      throw Error(Errc::usage, fmt::format("the key's partition {} is not read by this view", p),
                  {.topic = table, .partition = p});
    }
    return *tables[static_cast<size_t>(i)];
  }

  // Called from the running thread only (so callbacks come from there).
  void set_state(TableState next) {
    {
      std::lock_guard lock(mutex);
      if (state == next) return;
      state = next;
    }
    changed.notify_all();
    if (options.on_state_change) options.on_state_change(next);
  }

  void update_recovered() {
    bool all =
        std::all_of(tables.begin(), tables.end(), [](const auto& t) { return t->recovered(); });
    if (!all) return;
    {
      std::lock_guard lock(mutex);
      if (all_recovered) return;
      all_recovered = true;
    }
    set_state(TableState::running);
  }

  // Waits for d or until stop is requested. Returns false when stopped.
  bool sleep_for(std::chrono::milliseconds d) {
    std::unique_lock lock(mutex);
    return !changed.wait_for(lock, d, [this] { return stop_requested.load(); });
  }

  void run_loop() {
    set_state(TableState::recovering);
    std::unique_ptr<core::PartitionReader> reader = backend->reader(table);
    core::Admin& admin = backend->admin();
    for (auto& t : tables) {
      int64_t from = t->start(admin.watermarks(table, t->partition()));
      if (!t->recovered() || options.follow) reader->start(t->partition(), from);
    }
    update_recovered();
    std::chrono::milliseconds backoff = options.backoff;
    // Headers reach nothing but the change callback: without one they are
    // not parsed.
    const bool headers = static_cast<bool>(options.on_change);
    bool applying = false;  // an error thrown now comes from a table, not the reader
    const auto apply = [&](const Record& r) {
      if (r.partition < 0 || r.partition >= count) return;
      int i = index[static_cast<size_t>(r.partition)];
      if (i < 0) return;
      applying = true;
      tables[static_cast<size_t>(i)]->apply(r);
      applying = false;
    };
    while (!stop_requested.load()) {
      if (!options.follow && all_recovered_now()) break;
      std::size_t read = 0;
      try {
        read = reader->visit(kPollWait, headers, apply);
      } catch (const Error& e) {
        // Timeouts and transport failures pass when the broker is back;
        // anything else (a topic gone, no rights) does not.
        if (applying || e.code() != Errc::timeout) throw;
        {
          std::lock_guard lock(mutex);
          ++retries;
        }
        log(LogLevel::warning,
            fmt::format("topic={}: {}; retrying in {} ms", table, e.what(), backoff.count()));
        if (!sleep_for(backoff)) break;
        backoff = std::min(backoff * 2, std::max(options.max_backoff, options.backoff));
        continue;
      }
      if (read > 0) backoff = options.backoff;
      // A recovering table writes full batches (apply() does, and its
      // end); a running one writes what came, so that changes are reported.
      for (auto& t : tables) {
        if (t->state() == TableState::recovering) {
          t->reached(reader->position(t->partition()));
        } else {
          t->flush();
        }
      }
      update_recovered();
    }
    for (auto& t : tables) t->flush();
  }

  bool all_recovered_now() const {
    std::lock_guard lock(mutex);
    return all_recovered;
  }

  // Ends a run: every table and the view stopped, error kept, waiters woken.
  void finish(std::optional<Error> failure) {
    for (auto& t : tables) t->stop();
    {
      std::lock_guard lock(mutex);
      if (failure && !error) error = std::move(failure);
    }
    try {
      set_state(TableState::stopped);
    } catch (...) {
      // on_state_change must not throw; the view is stopped either way.
    }
    {
      std::lock_guard lock(mutex);
      finished = true;
    }
    changed.notify_all();
  }

  // run(): the loop with every error turned into a kept goka::Error.
  void run() {
    try {
      run_loop();
    } catch (const Error& e) {
      // Kept and thrown, not logged: the caller reports it once.
      finish(e);
      throw;
    } catch (const std::exception& e) {
      Error failure(Errc::runtime, fmt::format("view failed: {}", e.what()), {.topic = table});
      finish(failure);
      throw failure;
    }
    finish(std::nullopt);
  }
};

View::View(std::string table, ViewOptions options)
    : View(std::move(table), options, core::kafka_backend(options.client)) {}

View::View(std::string table, ViewOptions options, std::shared_ptr<core::Backend> backend)
    : state_(std::make_unique<State>()) {
  State& s = *state_;
  core::PartitionSelection selection =
      core::select_partitions(backend->admin(), table, options.partitions);
  std::vector<int32_t> partitions = std::move(selection.partitions);
  s.table = std::move(table);
  s.options = std::move(options);
  s.backend = std::move(backend);
  s.log = make_log(s.options.client);
  s.count = selection.count;
  s.partitions = std::move(partitions);
  s.index.assign(static_cast<size_t>(s.count), -1);
  StorageBuilder build = s.options.storage ? s.options.storage : memory_storage_builder();
  core::PartitionTableOptions table_options;
  table_options.max_batch_records = std::max<std::size_t>(s.options.max_batch_records, 1);
  table_options.max_batch_bytes = s.options.max_batch_bytes;
  table_options.stop_at_end = !s.options.follow;
  table_options.log = s.log;
  table_options.on_change = s.options.on_change;
  for (int32_t p : s.partitions) {
    std::unique_ptr<Storage> storage = build(s.table, p);
    if (!storage) {
      throw Error(Errc::usage, "the storage builder returned no storage",
                  {.topic = s.table, .partition = p});
    }
    s.index[static_cast<size_t>(p)] = static_cast<int>(s.tables.size());
    s.tables.push_back(
        std::make_unique<core::PartitionTable>(s.table, p, std::move(storage), table_options));
  }
}

View::~View() {
  stop();
  if (state_->thread.joinable()) state_->thread.join();
  // A run() in a thread of the caller's: wait until it has left the view.
  if (state_->ran.load()) {
    std::unique_lock lock(state_->mutex);
    state_->changed.wait(lock, [this] { return state_->finished; });
  }
}

const std::string& View::table() const { return state_->table; }
int32_t View::partition_count() const { return state_->count; }
const std::vector<int32_t>& View::partitions() const { return state_->partitions; }

void View::run() {
  if (state_->ran.exchange(true)) {
    throw Error(Errc::usage, "a view runs only once", {.topic = state_->table});
  }
  state_->run();
}

void View::start() {
  if (state_->ran.exchange(true)) {
    throw Error(Errc::usage, "a view runs only once", {.topic = state_->table});
  }
  try {
    state_->thread = std::thread([state = state_.get()] {
      try {
        state->run();
      } catch (...) {
        // Kept in state->error for wait() and wait_recovered().
      }
    });
  } catch (...) {
    state_->ran = false;  // no thread: nothing ran
    throw;
  }
}

void View::stop() {
  {
    std::lock_guard lock(state_->mutex);
    state_->stop_requested = true;
  }
  state_->changed.notify_all();
}

void View::wait() {
  if (state_->thread.joinable() && state_->thread.get_id() != std::this_thread::get_id()) {
    state_->thread.join();
  }
  if (auto e = error()) throw *e;
}

bool View::wait_recovered(std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_->mutex);
  state_->changed.wait_for(lock, timeout,
                           [this] { return state_->all_recovered || state_->finished; });
  if (state_->error) throw *state_->error;
  return state_->all_recovered;
}

bool View::recovered() const {
  std::lock_guard lock(state_->mutex);
  return state_->all_recovered;
}

TableState View::state() const {
  std::lock_guard lock(state_->mutex);
  return state_->state;
}

std::optional<Error> View::error() const {
  std::lock_guard lock(state_->mutex);
  return state_->error;
}

std::optional<std::string> View::get(std::string_view key) const {
  return state_->table_of(key).storage().get(key);
}

bool View::has(std::string_view key) const { return state_->table_of(key).storage().has(key); }

std::unique_ptr<Iterator> View::iterator() const { return range_iterator({}, std::nullopt); }

std::unique_ptr<Iterator> View::range_iterator(std::string_view from,
                                               std::optional<std::string_view> to) const {
  std::vector<std::unique_ptr<Iterator>> parts;
  for (const auto& t : state_->tables) parts.push_back(t->storage().range_iterator(from, to));
  return merge_iterators(std::move(parts));
}

std::unique_ptr<Iterator> View::prefix_iterator(std::string_view prefix) const {
  std::vector<std::unique_ptr<Iterator>> parts;
  for (const auto& t : state_->tables) parts.push_back(t->storage().prefix_iterator(prefix));
  return merge_iterators(std::move(parts));
}

int32_t View::partition_of(std::string_view key) const { return partition_for(key, state_->count); }

void View::evict(std::string_view key) { state_->table_of(key).evict(key); }

ViewStats View::stats() const {
  ViewStats out;
  out.table = state_->table;
  {
    std::lock_guard lock(state_->mutex);
    out.state = state_->state;
    out.retries = state_->retries;
  }
  out.partitions.reserve(state_->tables.size());
  for (const auto& t : state_->tables) out.partitions.push_back(t->stats());
  return out;
}

}  // namespace goka
