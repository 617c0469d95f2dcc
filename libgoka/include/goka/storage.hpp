#pragma once
// Storage: the local key-value copy of one partition of a table (Goka's
// storage package), with two implementations: LevelDB on disk, and memory.
//
// The layout is Go Goka's, byte for byte: each value is stored as raw bytes
// under its raw key, and the table offset applied so far is stored in the same
// key space under the key "__offset" (kOffsetKey) as decimal ASCII text, e.g.
// "1234". Iterators skip that key. A LevelDB directory written by Go Goka
// (goleveldb, bytewise comparator) opens with open_leveldb_storage(), and the
// other way round.
//
// Example, recovering a partition in batches:
//
//   auto storage = goka::open_leveldb_storage("/tmp/goka/view", "users-table", 3);
//   goka::WriteBatch batch;
//   for (const auto& record : records) {
//     if (record.value) batch.put(record.key, *record.value); else batch.erase(record.key);
//     batch.set_offset(record.offset);
//     if (batch.approximate_bytes() >= 4 << 20) { storage->apply(batch); batch.clear(); }
//   }
//   storage->apply(batch);
//   storage->mark_recovered();

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace goka {

// The reserved key under which a storage keeps its offset, as Go Goka does.
inline constexpr std::string_view kOffsetKey = "__offset";

// A forward cursor over key-value pairs in bytewise key order. kOffsetKey is
// never produced.
//
// Usage: `while (it->next()) use(it->key(), it->value());`
//
// An iterator is not thread-safe: use it from one thread at a time. It may be
// used concurrently with writes to its storage, and it stays usable after its
// storage is closed (it keeps the underlying data alive until destroyed).
class Iterator {
 public:
  Iterator() = default;
  Iterator(const Iterator&) = delete;
  Iterator& operator=(const Iterator&) = delete;
  virtual ~Iterator() = default;

  // Moves to the next pair (the first one on the first call) and returns
  // whether there is one. After it returned false it keeps returning false.
  // Throws goka::Error (Errc::runtime) when the storage cannot be read.
  virtual bool next() = 0;

  // The current key and value (raw bytes). The views stay valid until the
  // next call of next() or the destruction of the iterator.
  // REQUIRES: the last call of next() returned true.
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;
};

// Puts, erases and a new offset that Storage::apply() writes atomically, in
// the order they were added: either all of them are stored or none is. Used
// to recover a table: fill a batch, apply it every few thousand records or
// megabytes, clear() it, repeat, so that memory stays bounded however large
// the table is.
//
// Not thread-safe. Copyable and movable.
class WriteBatch {
 public:
  // One put (value set) or erase (value empty).
  struct Op {
    std::string key;
    std::optional<std::string> value;
  };

  // Adds a put of value under key / an erase of key.
  // Throws Errc::usage for key == kOffsetKey (use set_offset()).
  void put(std::string_view key, std::string_view value);
  void erase(std::string_view key);
  // Sets the offset the batch stores with its writes; the last call wins.
  void set_offset(int64_t offset) noexcept { offset_ = offset; }

  // Removes every op and the offset.
  void clear() noexcept;

  // True when the batch has no op and no offset.
  bool empty() const noexcept { return ops_.empty() && !offset_; }
  // Number of puts and erases.
  std::size_t count() const noexcept { return ops_.size(); }
  // Bytes of keys and values plus a small per-op overhead: what the batch
  // holds in memory, roughly.
  std::size_t approximate_bytes() const noexcept { return bytes_; }

  const std::vector<Op>& ops() const noexcept { return ops_; }
  const std::optional<int64_t>& offset() const noexcept { return offset_; }

 private:
  std::vector<Op> ops_;
  std::optional<int64_t> offset_;
  std::size_t bytes_ = 0;
};

// The local storage of one table partition: a map of byte strings plus the
// offset of the table topic applied so far.
//
// Thread-safety: any number of threads may read (has, get, get_offset,
// iterators) while one thread writes (set, erase, set_offset, apply,
// mark_recovered). close() may be called from any thread; calls that
// start after it throw Errc::usage.
//
// Errors: every call throws goka::Error when the storage cannot be read or
// written (Errc::runtime), with the LevelDB path in the context; calls after
// close() throw Errc::usage.
class Storage {
 public:
  Storage() = default;
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  // Closes the storage (see close()).
  virtual ~Storage() = default;

  // Whether key has a value (an empty value counts).
  // has(kOffsetKey) is true once an offset was stored, as in Go Goka.
  virtual bool has(std::string_view key) const = 0;
  // The value of key, or std::nullopt when there is none. An empty value is
  // returned as an empty string, not nullopt. get(kOffsetKey) returns the
  // offset's decimal text, as in Go Goka.
  virtual std::optional<std::string> get(std::string_view key) const = 0;

  // Stores value under key, replacing any value.
  // Throws Errc::usage for key == kOffsetKey (use set_offset()).
  virtual void set(std::string_view key, std::string_view value) = 0;
  // Removes key; nothing happens when it has no value (Goka's Delete).
  // Throws Errc::usage for key == kOffsetKey.
  virtual void erase(std::string_view key) = 0;

  // The stored offset, or std::nullopt when none was ever stored (Goka's
  // GetOffset with its default). Throws Errc::decode when the stored text is
  // not a decimal int64.
  virtual std::optional<int64_t> get_offset() const = 0;
  // Stores offset as decimal text under kOffsetKey.
  virtual void set_offset(int64_t offset) = 0;

  // Writes every op of batch in order, then its offset if set, atomically.
  // An empty batch writes nothing. batch is not modified.
  virtual void apply(const WriteBatch& batch) = 0;

  // Marks the end of recovery. LevelDB storages write without sync during
  // recovery (the offset is applied atomically with its records, so a crash
  // loses a suffix of batches, never consistency) and with
  // LevelDbOptions::sync afterwards. Idempotent.
  virtual void mark_recovered() = 0;
  // Whether mark_recovered() was called on this object (not persisted).
  virtual bool recovered() const = 0;

  // Iterators over the pairs in bytewise key order, skipping kOffsetKey.
  //
  // A LevelDB iterator reads a consistent snapshot taken when it is created.
  // A memory iterator is weakly consistent instead: it yields keys in strictly
  // increasing order, each at most once; a pair not changed during the
  // iteration is yielded; a concurrent change may or may not be seen.
  //
  // The caller owns the iterator. It keeps the storage's data alive: a
  // LevelDB database is only released (and its lock file freed) when the
  // storage is closed and its last iterator destroyed.

  // Every pair.
  std::unique_ptr<Iterator> iterator() const { return range_iterator({}, std::nullopt); }
  // The pairs with from <= key < to (to exclusive, as Goka's limit);
  // to == std::nullopt means no upper bound. from and to are copied.
  virtual std::unique_ptr<Iterator> range_iterator(std::string_view from,
                                                   std::optional<std::string_view> to) const = 0;
  // The pairs whose key starts with prefix (every pair for an empty prefix).
  std::unique_ptr<Iterator> prefix_iterator(std::string_view prefix) const;

  // Makes later calls throw Errc::usage and releases the data once no
  // iterator uses it. Loses nothing: every write is already in LevelDB's log.
  // Idempotent; waits for calls running in other threads to finish.
  virtual void close() = 0;
};

// Options of a LevelDB storage. The defaults suit a process that holds one
// database per partition; any choice reads and writes Go Goka's format.
struct LevelDbOptions {
  // Create the database (and missing parent directories) when absent. When
  // false, opening an absent database throws Errc::not_found.
  bool create_if_missing = true;
  // Bytes of writes buffered in memory before they are sorted into a file,
  // per partition (LevelDB's default).
  std::size_t write_buffer_size = 4 * 1024 * 1024;
  // Bytes of uncompressed blocks cached for reads, per partition (LevelDB's
  // default size).
  std::size_t block_cache_size = 8 * 1024 * 1024;
  // Files LevelDB keeps open, per partition. Below LevelDB's 1000 because
  // one process may hold hundreds of partitions; LevelDB raises it to >= 74.
  int max_open_files = 128;
  // Bits per key of a Bloom filter that speeds up lookups of absent keys;
  // 0 disables it. Files stay readable by Go Goka either way.
  int bloom_bits_per_key = 10;
  // Compress blocks with Snappy (LevelDB's and goleveldb's default).
  bool compression = true;
  // fsync every write after mark_recovered(): survives a machine crash, but
  // is much slower. Writes are never lost on a process crash either way.
  bool sync = false;
  // Check stored data aggressively and fail on any corruption found.
  bool paranoid_checks = false;
};

// Opens (creating it if needed, see LevelDbOptions) the LevelDB storage of
// partition `partition` of `topic` at `<dir>/<topic>.<partition>`, Go Goka's
// path. The caller owns the result.
//
// Throws goka::Error with topic, partition and path in the context:
// Errc::usage for an empty topic, a topic containing '/' or a negative
// partition; Errc::not_found when the database is absent and
// create_if_missing is false; Errc::runtime when the directory cannot be
// created, the database is locked (open in this or another process) or it
// is corrupt.
std::unique_ptr<Storage> open_leveldb_storage(const std::filesystem::path& dir,
                                              const std::string& topic, int32_t partition,
                                              const LevelDbOptions& options = {});

// A new, empty storage in memory. The caller owns it.
std::unique_ptr<Storage> make_memory_storage();

// One iterator over the pairs of every iterator in parts, in global bytewise
// key order (a k-way merge; what a View iterates over all partitions). Pairs
// with equal keys are all yielded, those of lower indexes in parts first.
// Null entries are ignored. Takes ownership of parts. Errors of a part's
// next() propagate.
std::unique_ptr<Iterator> merge_iterators(std::vector<std::unique_ptr<Iterator>> parts);

}  // namespace goka
