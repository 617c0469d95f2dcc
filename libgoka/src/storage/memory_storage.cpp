// The in-memory Storage: a sorted map under a reader-writer lock, with a
// hash index over it for the writes (a recovery puts every record).

#include <atomic>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "goka/error.hpp"
#include "goka/storage.hpp"
#include "storage/storage_util.hpp"

namespace goka {
namespace {

// The data, shared by the storage and its iterators.
struct MemoryState {
  using Map = std::map<std::string, std::string, std::less<>>;
  mutable std::shared_mutex mutex;
  Map map;  // guarded by mutex
  // Every entry of map by its key (which the view points into): a put finds
  // its key in one hash lookup instead of a dozen key comparisons.
  std::unordered_map<std::string_view, Map::iterator> index;  // guarded by mutex
  bool closed = false;  // guarded by mutex; iterators ignore it
};

// Walks the map by re-seeking after the last key on each step, so that it
// holds no lock between steps and no map iterator across writes.
class MemoryIterator final : public Iterator {
 public:
  MemoryIterator(std::shared_ptr<const MemoryState> state, std::string_view from,
                 std::optional<std::string_view> to)
      : state_(std::move(state)), from_(from) {
    if (to) to_ = std::string(*to);
  }

  bool next() override {
    if (done_) return false;
    std::shared_lock lock(state_->mutex);
    const auto& map = state_->map;
    auto it = started_ ? map.upper_bound(key_) : map.lower_bound(from_);
    started_ = true;
    if (it != map.end() && it->first == kOffsetKey) ++it;
    if (it == map.end() || (to_ && it->first >= *to_)) {
      done_ = true;
      return false;
    }
    key_.assign(it->first);
    value_.assign(it->second);
    return true;
  }

  std::string_view key() const override { return key_; }
  std::string_view value() const override { return value_; }

 private:
  std::shared_ptr<const MemoryState> state_;
  std::string from_;
  std::optional<std::string> to_;
  bool started_ = false;
  bool done_ = false;
  std::string key_;
  std::string value_;
};

class MemoryStorage final : public Storage {
 public:
  MemoryStorage() : state_(std::make_shared<MemoryState>()) {}

  bool has(std::string_view key) const override {
    std::shared_lock lock(state_->mutex);
    check_open();
    return state_->index.count(key) > 0;
  }

  std::optional<std::string> get(std::string_view key) const override {
    std::shared_lock lock(state_->mutex);
    check_open();
    auto it = state_->index.find(key);
    if (it == state_->index.end()) return std::nullopt;
    return it->second->second;
  }

  void set(std::string_view key, std::string_view value) override {
    storage::check_writable_key(key);
    std::unique_lock lock(state_->mutex);
    check_open();
    put_locked(key, value);
  }

  void erase(std::string_view key) override {
    storage::check_writable_key(key);
    std::unique_lock lock(state_->mutex);
    check_open();
    erase_locked(key);
  }

  std::optional<int64_t> get_offset() const override {
    return storage::decode_offset(get(kOffsetKey), ErrorContext{});
  }

  void set_offset(int64_t offset) override {
    auto text = storage::format_offset(offset);
    std::unique_lock lock(state_->mutex);
    check_open();
    put_locked(kOffsetKey, text);
  }

  void apply(const WriteBatch& batch) override {
    auto offset_text = batch.offset() ? storage::format_offset(*batch.offset()) : std::string();
    std::unique_lock lock(state_->mutex);
    check_open();
    for (const auto& op : batch.ops()) {
      if (op.value) {
        put_locked(op.key, *op.value);
      } else {
        erase_locked(op.key);
      }
    }
    if (batch.offset()) put_locked(kOffsetKey, offset_text);
  }

  void mark_recovered() override {
    std::shared_lock lock(state_->mutex);
    check_open();
    recovered_.store(true);
  }

  bool recovered() const override { return recovered_.load(); }

  std::unique_ptr<Iterator> range_iterator(std::string_view from,
                                           std::optional<std::string_view> to) const override {
    std::shared_lock lock(state_->mutex);
    check_open();
    return std::make_unique<MemoryIterator>(state_, from, to);
  }

  void close() override {
    std::unique_lock lock(state_->mutex);
    if (state_->closed) return;
    state_->closed = true;
    // Free the data now unless an iterator still reads it.
    if (state_.use_count() == 1) {
      state_->index.clear();
      state_->map.clear();
    }
  }

 private:
  // REQUIRES: state_->mutex held.
  void check_open() const {
    if (state_->closed) throw storage::closed_error({});
  }

  // REQUIRES: state_->mutex held exclusively.
  void put_locked(std::string_view key, std::string_view value) {
    auto found = state_->index.find(key);
    if (found != state_->index.end()) {
      found->second->second.assign(value);
      return;
    }
    auto it = state_->map.emplace(std::string(key), std::string(value)).first;
    try {
      state_->index.emplace(std::string_view(it->first), it);
    } catch (...) {
      state_->map.erase(it);  // map and index stay alike
      throw;
    }
  }

  // REQUIRES: state_->mutex held exclusively.
  void erase_locked(std::string_view key) {
    auto found = state_->index.find(key);
    if (found == state_->index.end()) return;
    auto it = found->second;
    state_->index.erase(found);
    state_->map.erase(it);
  }

  std::shared_ptr<MemoryState> state_;  // shared with iterators
  std::atomic<bool> recovered_{false};
};

}  // namespace

std::unique_ptr<Storage> make_memory_storage() { return std::make_unique<MemoryStorage>(); }

}  // namespace goka
