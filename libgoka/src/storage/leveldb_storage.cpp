// The LevelDB Storage, in Go Goka's layout (see goka/storage.hpp).

#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/filter_policy.h>
#include <leveldb/iterator.h>
#include <leveldb/options.h>
#include <leveldb/write_batch.h>

#include <atomic>
#include <mutex>
#include <shared_mutex>
#include <string_view>
#include <system_error>
#include <unordered_set>
#include <utility>
#include <vector>

#include "goka/error.hpp"
#include "goka/storage.hpp"
#include "storage/storage_util.hpp"

namespace goka {
namespace {

leveldb::Slice to_slice(std::string_view bytes) { return {bytes.data(), bytes.size()}; }

std::string_view to_view(const leveldb::Slice& slice) { return {slice.data(), slice.size()}; }

// An open database and what it needs to live. Shared by the storage and its
// iterators, so that an iterator never outlives its database.
struct LevelDbHandle {
  // Members are destroyed in reverse order: the database before its cache
  // and filter policy.
  std::unique_ptr<leveldb::Cache> cache;
  std::unique_ptr<const leveldb::FilterPolicy> filter;
  std::unique_ptr<leveldb::DB> db;
};

// context with detail appended to its free text.
ErrorContext with_detail(const ErrorContext& context, const std::string& detail) {
  ErrorContext result = context;
  result.detail = result.detail ? *result.detail + ", " + detail : detail;
  return result;
}

Error status_error(const std::string& what, const leveldb::Status& status,
                   const ErrorContext& context) {
  return Error(Errc::runtime, what + ": " + status.ToString(), context);
}

class LevelDbIterator final : public Iterator {
 public:
  LevelDbIterator(std::shared_ptr<LevelDbHandle> handle, std::string_view from,
                  std::optional<std::string_view> to, const ErrorContext& context)
      : handle_(std::move(handle)), from_(from), context_(context) {
    if (to) to_ = std::string(*to);
    leveldb::ReadOptions read_options;
    read_options.fill_cache = false;  // scans must not evict the point lookups' blocks
    it_.reset(handle_->db->NewIterator(read_options));  // with an implicit snapshot
  }

  bool next() override {
    if (done_) return false;
    if (started_) {
      it_->Next();
    } else {
      started_ = true;
      it_->Seek(to_slice(from_));
    }
    for (; it_->Valid(); it_->Next()) {
      auto key = to_view(it_->key());
      if (to_ && key >= *to_) break;
      if (key != kOffsetKey) return true;
    }
    done_ = true;
    if (auto status = it_->status(); !status.ok()) {
      throw status_error("cannot iterate over LevelDB storage", status, context_);
    }
    return false;
  }

  std::string_view key() const override { return to_view(it_->key()); }
  std::string_view value() const override { return to_view(it_->value()); }

 private:
  std::shared_ptr<LevelDbHandle> handle_;  // declared before it_: outlives it
  std::unique_ptr<leveldb::Iterator> it_;
  std::string from_;
  std::optional<std::string> to_;
  ErrorContext context_;
  bool started_ = false;
  bool done_ = false;
};

// Per op of ops: whether it is the last one of its key. Only those need
// writing: the batch is one atomic write, so the result is the same, and a
// recovery that sees each key many times puts far fewer entries into
// LevelDB's memtable (its most expensive step).
std::vector<bool> last_of_each_key(const std::vector<WriteBatch::Op>& ops) {
  std::vector<bool> last(ops.size(), true);
  if (ops.size() < 2) return last;
  std::unordered_set<std::string_view> seen;
  seen.reserve(ops.size());
  for (std::size_t i = ops.size(); i-- > 0;) {
    if (!seen.insert(ops[i].key).second) last[i] = false;
  }
  return last;
}

class LevelDbStorage final : public Storage {
 public:
  LevelDbStorage(std::shared_ptr<LevelDbHandle> handle, const LevelDbOptions& options,
                 ErrorContext context)
      : handle_(std::move(handle)),
        sync_after_recovery_(options.sync),
        context_(std::move(context)) {}

  ~LevelDbStorage() override { close(); }

  bool has(std::string_view key) const override { return get(key).has_value(); }

  std::optional<std::string> get(std::string_view key) const override {
    std::shared_lock lock(mutex_);
    auto& db = open_db();
    std::string value;
    auto status = db.Get(leveldb::ReadOptions(), to_slice(key), &value);
    if (status.IsNotFound()) return std::nullopt;
    if (!status.ok()) throw status_error("cannot read LevelDB storage", status, context_);
    return value;
  }

  void set(std::string_view key, std::string_view value) override {
    storage::check_writable_key(key, context_);
    std::shared_lock lock(mutex_);
    check(open_db().Put(write_options(), to_slice(key), to_slice(value)));
  }

  void erase(std::string_view key) override {
    storage::check_writable_key(key, context_);
    std::shared_lock lock(mutex_);
    check(open_db().Delete(write_options(), to_slice(key)));
  }

  std::optional<int64_t> get_offset() const override {
    return storage::decode_offset(get(kOffsetKey), context_);
  }

  void set_offset(int64_t offset) override {
    auto text = storage::format_offset(offset);
    std::shared_lock lock(mutex_);
    check(open_db().Put(write_options(), to_slice(kOffsetKey), to_slice(text)));
  }

  void apply(const WriteBatch& batch) override {
    leveldb::WriteBatch writes;
    const std::vector<bool> last = last_of_each_key(batch.ops());
    for (std::size_t i = 0; i < batch.ops().size(); ++i) {
      if (!last[i]) continue;  // a later op of the batch overwrites it
      const auto& op = batch.ops()[i];
      if (op.value) {
        writes.Put(to_slice(op.key), to_slice(*op.value));
      } else {
        writes.Delete(to_slice(op.key));
      }
    }
    std::string offset_text;
    if (batch.offset()) {
      offset_text = storage::format_offset(*batch.offset());
      writes.Put(to_slice(kOffsetKey), to_slice(offset_text));
    }
    std::shared_lock lock(mutex_);
    auto& db = open_db();
    if (batch.empty()) return;
    check(db.Write(write_options(), &writes));
  }

  void mark_recovered() override {
    std::shared_lock lock(mutex_);
    open_db();
    recovered_.store(true);
  }

  bool recovered() const override { return recovered_.load(); }

  std::unique_ptr<Iterator> range_iterator(std::string_view from,
                                           std::optional<std::string_view> to) const override {
    std::shared_lock lock(mutex_);
    open_db();
    return std::make_unique<LevelDbIterator>(handle_, from, to, context_);
  }

  void close() override {
    std::shared_ptr<LevelDbHandle> handle;
    {
      std::unique_lock lock(mutex_);  // waits for running calls
      handle.swap(handle_);
    }
    // The database closes here, or when the last iterator is destroyed.
  }

 private:
  // REQUIRES: mutex_ held.
  leveldb::DB& open_db() const {
    if (!handle_) throw storage::closed_error(context_);
    return *handle_->db;
  }

  leveldb::WriteOptions write_options() const {
    leveldb::WriteOptions options;
    options.sync = sync_after_recovery_ && recovered_.load();
    return options;
  }

  void check(const leveldb::Status& status) const {
    if (!status.ok()) throw status_error("cannot write LevelDB storage", status, context_);
  }

  mutable std::shared_mutex mutex_;        // shared by calls, exclusive by close()
  std::shared_ptr<LevelDbHandle> handle_;  // guarded by mutex_; null once closed
  const bool sync_after_recovery_;
  std::atomic<bool> recovered_{false};
  const ErrorContext context_;
};

bool is_lock_error(const leveldb::Status& status) {
  // LevelDB's POSIX Env reports a lock it cannot take as "lock <path>/LOCK: <reason>".
  return status.IsIOError() && status.ToString().starts_with("IO error: lock ");
}

}  // namespace

std::unique_ptr<Storage> open_leveldb_storage(const std::filesystem::path& dir,
                                              const std::string& topic, int32_t partition,
                                              const LevelDbOptions& options) {
  ErrorContext context{.topic = topic, .partition = partition};
  if (topic.empty() || topic.find('/') != std::string::npos || partition < 0) {
    throw Error(Errc::usage, "invalid topic or partition for a LevelDB storage",
                with_detail(context, "dir " + dir.string()));
  }
  auto path = dir / (topic + "." + std::to_string(partition));
  context = with_detail(context, "path " + path.string());

  if (!options.create_if_missing) {
    std::error_code ec;
    if (!std::filesystem::exists(path / "CURRENT", ec)) {
      throw Error(Errc::not_found, "LevelDB storage does not exist", context);
    }
  } else {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) {
      throw Error(Errc::runtime, "cannot create LevelDB storage directory: " + ec.message(),
                  context);
    }
  }

  auto handle = std::make_shared<LevelDbHandle>();
  leveldb::Options db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.write_buffer_size = options.write_buffer_size;
  db_options.max_open_files = options.max_open_files;
  db_options.compression =
      options.compression ? leveldb::kSnappyCompression : leveldb::kNoCompression;
  db_options.paranoid_checks = options.paranoid_checks;
  if (options.block_cache_size > 0) {
    handle->cache.reset(leveldb::NewLRUCache(options.block_cache_size));
    db_options.block_cache = handle->cache.get();
  }
  if (options.bloom_bits_per_key > 0) {
    handle->filter.reset(leveldb::NewBloomFilterPolicy(options.bloom_bits_per_key));
    db_options.filter_policy = handle->filter.get();
  }

  leveldb::DB* db = nullptr;
  auto status = leveldb::DB::Open(db_options, path.string(), &db);
  handle->db.reset(db);
  if (!status.ok()) {
    if (!options.create_if_missing && status.IsInvalidArgument()) {
      throw Error(Errc::not_found, "LevelDB storage does not exist: " + status.ToString(), context);
    }
    if (is_lock_error(status)) {
      throw Error(
          Errc::runtime,
          "LevelDB storage is locked (open in this or another process): " + status.ToString(),
          context);
    }
    if (status.IsCorruption()) {
      throw Error(Errc::runtime, "LevelDB storage is corrupt: " + status.ToString(), context);
    }
    throw status_error("cannot open LevelDB storage", status, context);
  }
  return std::make_unique<LevelDbStorage>(std::move(handle), options, std::move(context));
}

}  // namespace goka
