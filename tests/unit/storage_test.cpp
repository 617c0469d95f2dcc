// Unit tests of goka/storage.hpp: one suite run against both storages, plus
// the LevelDB layout (Go Goka's) checked with the raw LevelDB API.

#include "goka/storage.hpp"

#include <leveldb/db.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "goka/error.hpp"
#include "tests/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace std::string_literals;

namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

using goka::test::TempDir;

// One storage of the kind under test, in its own temporary directory.
class Subject {
  TempDir dir_;  // declared first: removed after the storage is closed
  std::string kind_;
  int32_t partition_;

 public:
  explicit Subject(std::string kind, int32_t partition = 0)
      : kind_(std::move(kind)), partition_(partition), storage(open()) {}

  std::unique_ptr<goka::Storage> open() const {
    if (kind_ == "memory") return goka::make_memory_storage();
    return goka::open_leveldb_storage(dir_.path(), "table", partition_);
  }

  // Closes and opens the storage again (LevelDB only).
  void reopen() {
    storage->close();
    storage.reset();
    storage = open();
  }

  std::unique_ptr<goka::Storage> storage;
};

Pairs collect(goka::Iterator& it) {
  Pairs pairs;
  while (it.next()) pairs.emplace_back(std::string(it.key()), std::string(it.value()));
  return pairs;
}

Pairs collect(std::unique_ptr<goka::Iterator> it) { return collect(*it); }

std::vector<std::string> keys_of(const Pairs& pairs) {
  std::vector<std::string> keys;
  for (const auto& pair : pairs) keys.push_back(pair.first);
  return keys;
}

std::string numbered(const char* prefix, int i) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%s%05d", prefix, i);
  return buffer;
}

}  // namespace

TEST_CASE("storage: set, get, has, erase and overwrite", "[storage]") {
  auto kind = GENERATE(as<std::string>{}, "memory", "leveldb");
  CAPTURE(kind);
  Subject subject(kind);
  auto& storage = *subject.storage;

  CHECK_FALSE(storage.has("a"));
  CHECK(storage.get("a") == std::nullopt);

  storage.set("a", "1");
  CHECK(storage.has("a"));
  CHECK(storage.get("a") == "1");

  storage.set("a", "22");
  CHECK(storage.get("a") == "22");

  storage.erase("a");
  CHECK_FALSE(storage.has("a"));
  CHECK(storage.get("a") == std::nullopt);

  // Erasing a missing key is not an error (Goka's Delete).
  storage.erase("a");
  storage.erase("never-set");
  CHECK(collect(storage.iterator()).empty());
}

TEST_CASE("storage: an empty value is not a missing value", "[storage]") {
  auto kind = GENERATE(as<std::string>{}, "memory", "leveldb");
  CAPTURE(kind);
  Subject subject(kind);
  auto& storage = *subject.storage;

  storage.set("empty", "");
  CHECK(storage.has("empty"));
  REQUIRE(storage.get("empty").has_value());
  CHECK(storage.get("empty")->empty());
  CHECK_FALSE(storage.has("missing"));
  CHECK(collect(storage.iterator()) == Pairs{{"empty", ""}});

  // The empty key is a key too.
  storage.set("", "root");
  CHECK(storage.get("") == "root");
  CHECK(keys_of(collect(storage.iterator())) == std::vector<std::string>{"", "empty"});
}

TEST_CASE("storage: binary keys and values with NUL bytes", "[storage]") {
  auto kind = GENERATE(as<std::string>{}, "memory", "leveldb");
  CAPTURE(kind);
  Subject subject(kind);
  auto& storage = *subject.storage;

  const auto key = "k\0ey"s;
  const auto value = "\0v\0al\xff\0"s;
  storage.set(key, value);
  storage.set("k"s, "short"s);
  CHECK(storage.get(key) == value);
  CHECK(storage.get(key)->size() == 7);
  CHECK(storage.get("k") == "short");
  CHECK_FALSE(storage.has("k\0"s));

  // Bytes order as unsigned: "\x7f" < "\x80" < "\xff" (LevelDB's bytewise order).
  storage.set("\xff"s, "ff");
  storage.set("\x80"s, "80");
  storage.set("\x7f"s, "7f");
  CHECK(collect(storage.iterator()) ==
        Pairs{{"k", "short"}, {key, value}, {"\x7f", "7f"}, {"\x80", "80"}, {"\xff", "ff"}});
}

TEST_CASE("storage: iterators yield keys in bytewise order", "[storage]") {
  auto kind = GENERATE(as<std::string>{}, "memory", "leveldb");
  CAPTURE(kind);
  Subject subject(kind);
  auto& storage = *subject.storage;

  for (const char* key : {"m", "b", "zz", "a", "ab", "z", "B", "_", "__offset0", "__"}) {
    storage.set(key, std::string("v-") + key);
  }
  storage.set_offset(7);
  auto pairs = collect(storage.iterator());
  CHECK(keys_of(pairs) ==
        std::vector<std::string>{"B", "_", "__", "__offset0", "a", "ab", "b", "m", "z", "zz"});
  for (const auto& [key, value] : pairs) CHECK(value == "v-" + key);

  // After it returned false, next() keeps returning false.
  auto it = storage.iterator();
  while (it->next()) {
  }
  CHECK_FALSE(it->next());
}

TEST_CASE("storage: range iterator covers from, to excluded", "[storage]") {
  auto kind = GENERATE(as<std::string>{}, "memory", "leveldb");
  CAPTURE(kind);
  Subject subject(kind);
  auto& storage = *subject.storage;
  for (const char* key : {"a", "b", "c", "d", "e"}) storage.set(key, key);
  storage.set_offset(1);

  using Keys = std::vector<std::string>;
  CHECK(keys_of(collect(storage.range_iterator("b", "d"))) == Keys{"b", "c"});
  CHECK(keys_of(collect(storage.range_iterator("bb", "dd"))) == Keys{"c", "d"});
  CHECK(keys_of(collect(storage.range_iterator("c", std::nullopt))) == Keys{"c", "d", "e"});
  CHECK(keys_of(collect(storage.range_iterator("", "b"))) == Keys{"a"});
  CHECK(keys_of(collect(storage.range_iterator("", std::nullopt))) ==
        Keys{"a", "b", "c", "d", "e"});
  CHECK(collect(storage.range_iterator("c", "c")).empty());
  CHECK(collect(storage.range_iterator("d", "b")).empty());
  CHECK(collect(storage.range_iterator("f", std::nullopt)).empty());
  // A range around the offset key still skips it.
  CHECK(collect(storage.range_iterator("_", "`")).empty());
}

TEST_CASE("storage: prefix iterator", "[storage]") {
  auto kind = GENERATE(as<std::string>{}, "memory", "leveldb");
  CAPTURE(kind);
  Subject subject(kind);
  auto& storage = *subject.storage;
  for (auto key : {"user"s, "user:1"s, "user:2"s, "users"s, "usex"s, "use"s, "__other"s, "p\xff"s,
                   "p\xff\xff"s, "p\xff\x01"s, "q"s}) {
    storage.set(key, "x");
  }
  storage.set_offset(3);

  using Keys = std::vector<std::string>;
  CHECK(keys_of(collect(storage.prefix_iterator("user:"))) == Keys{"user:1", "user:2"});
  CHECK(keys_of(collect(storage.prefix_iterator("user"))) ==
        Keys{"user", "user:1", "user:2", "users"});
  CHECK(keys_of(collect(storage.prefix_iterator("nobody"))).empty());
  CHECK(keys_of(collect(storage.prefix_iterator("__"))) == Keys{"__other"});
  CHECK(keys_of(collect(storage.prefix_iterator("p\xff"))) ==
        Keys{"p\xff", "p\xff\x01", "p\xff\xff"});
  CHECK(keys_of(collect(storage.prefix_iterator("p\xff\xff"))) == Keys{"p\xff\xff"});
  CHECK(collect(storage.prefix_iterator("")).size() == 11);
}

TEST_CASE("storage: the offset is decimal text under __offset, skipped by iterators", "[storage]") {
  auto kind = GENERATE(as<std::string>{}, "memory", "leveldb");
  CAPTURE(kind);
  Subject subject(kind);
  auto& storage = *subject.storage;

  CHECK(storage.get_offset() == std::nullopt);
  CHECK_FALSE(storage.has(goka::kOffsetKey));

  storage.set("a", "1");
  storage.set_offset(42);
  CHECK(storage.get_offset() == 42);
  CHECK(storage.has("__offset"));
  CHECK(storage.get("__offset") == "42");
  CHECK(collect(storage.iterator()) == Pairs{{"a", "1"}});
  CHECK(collect(storage.prefix_iterator("__offset")).empty());

  storage.set_offset(1234567890123);
  CHECK(storage.get("__offset") == "1234567890123");
  storage.set_offset(-1);
  CHECK(storage.get("__offset") == "-1");
  CHECK(storage.get_offset() == -1);
  storage.set_offset(0);
  CHECK(storage.get_offset() == 0);

  // The offset key is written only through set_offset().
  auto is_usage = [](const goka::Error& e) { return e.code() == goka::Errc::usage; };
  CHECK_THROWS_MATCHES(storage.set("__offset", "7"), goka::Error,
                       Catch::Predicate<goka::Error>(is_usage));
  CHECK_THROWS_MATCHES(storage.erase("__offset"), goka::Error,
                       Catch::Predicate<goka::Error>(is_usage));
  goka::WriteBatch batch;
  CHECK_THROWS_MATCHES(batch.put("__offset", "7"), goka::Error,
                       Catch::Predicate<goka::Error>(is_usage));
  CHECK(batch.empty());
  CHECK(storage.get_offset() == 0);
  // Similar keys are ordinary keys.
  storage.set("__offset_", "x");
  storage.set("__OFFSET", "y");
  CHECK(collect(storage.prefix_iterator("__")) == Pairs{{"__OFFSET", "y"}, {"__offset_", "x"}});
}

TEST_CASE("storage: a batch writes its ops in order, with its offset", "[storage]") {
  auto kind = GENERATE(as<std::string>{}, "memory", "leveldb");
  CAPTURE(kind);
  Subject subject(kind);
  auto& storage = *subject.storage;
  storage.set("old", "1");
  storage.set("kept", "1");

  goka::WriteBatch batch;
  CHECK(batch.empty());
  batch.put("a", "1");
  batch.put("b", "2");
  batch.put("a", "3");  // the later op wins
  batch.erase("old");
  batch.put("gone", "x");
  batch.erase("gone");
  batch.set_offset(10);
  batch.set_offset(11);  // the last offset wins
  CHECK_FALSE(batch.empty());
  CHECK(batch.count() == 6);
  CHECK(batch.approximate_bytes() >= 10);
  CHECK(batch.offset() == 11);

  // Nothing is visible before apply().
  CHECK_FALSE(storage.has("a"));
  CHECK(storage.get_offset() == std::nullopt);

  storage.apply(batch);
  CHECK(collect(storage.iterator()) == Pairs{{"a", "3"}, {"b", "2"}, {"kept", "1"}});
  CHECK(storage.get_offset() == 11);
  CHECK(batch.count() == 6);  // apply() does not modify the batch

  batch.clear();
  CHECK(batch.empty());
  CHECK(batch.count() == 0);
  CHECK(batch.approximate_bytes() == 0);
  CHECK(batch.offset() == std::nullopt);
  storage.apply(batch);  // an empty batch writes nothing
  CHECK(storage.get_offset() == 11);

  // A batch of only an offset, and one without an offset.
  batch.set_offset(12);
  storage.apply(batch);
  CHECK(storage.get_offset() == 12);
  batch.clear();
  batch.put("c", "4");
  storage.apply(batch);
  CHECK(storage.get_offset() == 12);
  CHECK(storage.get("c") == "4");
}

TEST_CASE("storage: recovery in bounded batches", "[storage]") {
  auto kind = GENERATE(as<std::string>{}, "memory", "leveldb");
  CAPTURE(kind);
  Subject subject(kind);
  auto& storage = *subject.storage;
  CHECK_FALSE(storage.recovered());

  // Goka issue #209: recovering a large table must not hold it all in memory.
  // Flush every 500 records or 16 KiB, whichever comes first.
  constexpr int kRecords = 5000;
  goka::WriteBatch batch;
  int flushes = 0;
  std::size_t largest = 0;
  for (int offset = 0; offset < kRecords; ++offset) {
    auto key = numbered("key-", offset % 1000);
    if (offset % 7 == 3) {
      batch.erase(key);  // a tombstone
    } else {
      batch.put(key, std::string(40, static_cast<char>('a' + offset % 26)));
    }
    batch.set_offset(offset);
    if (batch.count() >= 500 || batch.approximate_bytes() >= 16 * 1024) {
      largest = std::max(largest, batch.approximate_bytes());
      storage.apply(batch);
      batch.clear();
      ++flushes;
    }
  }
  storage.apply(batch);
  storage.mark_recovered();
  storage.mark_recovered();  // idempotent

  CHECK(storage.recovered());
  CHECK(flushes >= 10);
  CHECK(largest < 20 * 1024);
  CHECK(storage.get_offset() == kRecords - 1);
  // Key i was last written by offset 4000 + i: a put unless 4000 + i = 3 (mod 7).
  auto pairs = collect(storage.iterator());
  std::size_t expected = 0;
  for (int i = 0; i < 1000; ++i) {
    int last = 4000 + i;
    auto value = storage.get(numbered("key-", i));
    if (last % 7 == 3) {
      CHECK_FALSE(value.has_value());
    } else {
      ++expected;
      CHECK(value == std::string(40, static_cast<char>('a' + last % 26)));
    }
  }
  CHECK(pairs.size() == expected);
}

TEST_CASE("storage: concurrent readers while one writer writes", "[storage]") {
  auto kind = GENERATE(as<std::string>{}, "memory", "leveldb");
  CAPTURE(kind);
  Subject subject(kind);
  auto& storage = *subject.storage;

  constexpr int kKeys = 2000;
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::atomic<int> scans{0};

  auto reader = [&](int seed) {
    int64_t last_offset = -1;
    bool final_pass = false;
    for (int round = 0; !final_pass; ++round) {
      final_pass = done.load();  // one more full pass after the writer finished
      // Point reads: a value, when present, is its key.
      auto key = numbered("k", (round * 37 + seed) % kKeys);
      if (auto value = storage.get(key); value && *value != key) ++failures;
      // The offset only grows.
      if (auto offset = storage.get_offset()) {
        if (*offset < last_offset) ++failures;
        last_offset = *offset;
      }
      // Scans: strictly increasing keys, each value its key.
      std::string previous;
      bool first = true;
      int seen = 0;
      auto it = storage.prefix_iterator("k");
      while (it->next()) {
        if (!first && !(previous < it->key())) ++failures;
        if (it->key() != it->value()) ++failures;
        previous.assign(it->key());
        first = false;
        ++seen;
      }
      if (final_pass && seen != kKeys) ++failures;
      ++scans;
    }
  };

  std::thread writer([&] {
    for (int i = 0; i < kKeys; ++i) {
      auto key = numbered("k", i);
      if (i % 2 == 0) {
        storage.set(key, key);
        storage.set_offset(i);
      } else {
        goka::WriteBatch batch;
        batch.put(key, key);
        batch.put("tmp", "x");
        batch.erase("tmp");
        batch.set_offset(i);
        storage.apply(batch);
      }
    }
    done = true;
  });
  std::thread reader_a(reader, 1);
  std::thread reader_b(reader, 2);
  writer.join();
  reader_a.join();
  reader_b.join();

  CHECK(failures == 0);
  CHECK(scans >= 2);
  CHECK(storage.get_offset() == kKeys - 1);
  CHECK(collect(storage.iterator()).size() == kKeys);
}

TEST_CASE("storage: merged iterator over 3 storages yields global key order", "[storage]") {
  auto kind = GENERATE(as<std::string>{}, "memory", "leveldb");
  CAPTURE(kind);
  std::vector<std::unique_ptr<Subject>> subjects;
  for (int32_t p = 0; p < 3; ++p) subjects.push_back(std::make_unique<Subject>(kind, p));

  // Keys spread unevenly: partition i gets every key with (n * n) % 3 == i,
  // so partition 2 stays empty (squares mod 3 are 0 or 1).
  std::vector<std::string> expected;
  for (int n = 0; n < 300; ++n) {
    auto key = numbered("key-", n);
    subjects[static_cast<std::size_t>((n * n) % 3)]->storage->set(key, "v" + key);
    expected.push_back(key);
  }
  for (auto& subject : subjects) subject->storage->set_offset(99);

  std::vector<std::unique_ptr<goka::Iterator>> parts;
  for (auto& subject : subjects) parts.push_back(subject->storage->iterator());
  parts.push_back(nullptr);  // ignored
  auto merged = goka::merge_iterators(std::move(parts));
  auto pairs = collect(*merged);
  CHECK(keys_of(pairs) == expected);
  for (const auto& [key, value] : pairs) CHECK(value == "v" + key);
  CHECK_FALSE(merged->next());

  // Ranges merge too, and equal keys come in the order of the parts.
  subjects[2]->storage->set("key-00010", "dup");
  std::vector<std::unique_ptr<goka::Iterator>> ranges;
  for (auto& subject : subjects)
    ranges.push_back(subject->storage->range_iterator("key-00008", "key-00012"));
  CHECK(collect(goka::merge_iterators(std::move(ranges))) == Pairs{{"key-00008", "vkey-00008"},
                                                                   {"key-00009", "vkey-00009"},
                                                                   {"key-00010", "vkey-00010"},
                                                                   {"key-00010", "dup"},
                                                                   {"key-00011", "vkey-00011"}});

  CHECK_FALSE(goka::merge_iterators({})->next());
}

TEST_CASE("storage: close", "[storage]") {
  auto kind = GENERATE(as<std::string>{}, "memory", "leveldb");
  CAPTURE(kind);
  Subject subject(kind);
  auto& storage = *subject.storage;
  storage.set("a", "1");
  storage.set("b", "2");
  storage.set_offset(5);

  auto it = storage.iterator();
  REQUIRE(it->next());
  storage.close();
  storage.close();  // idempotent

  auto is_usage = [](const goka::Error& e) { return e.code() == goka::Errc::usage; };
  auto usage = Catch::Predicate<goka::Error>(is_usage);
  CHECK_THROWS_MATCHES(storage.get("a"), goka::Error, usage);
  CHECK_THROWS_MATCHES(storage.has("a"), goka::Error, usage);
  CHECK_THROWS_MATCHES(storage.set("a", "2"), goka::Error, usage);
  CHECK_THROWS_MATCHES(storage.erase("a"), goka::Error, usage);
  CHECK_THROWS_MATCHES(storage.get_offset(), goka::Error, usage);
  CHECK_THROWS_MATCHES(storage.set_offset(6), goka::Error, usage);
  CHECK_THROWS_MATCHES(storage.apply(goka::WriteBatch()), goka::Error, usage);
  CHECK_THROWS_MATCHES(storage.iterator(), goka::Error, usage);
  CHECK_THROWS_MATCHES(storage.mark_recovered(), goka::Error, usage);

  // An iterator created before close() stays usable.
  CHECK(it->key() == "a");
  REQUIRE(it->next());
  CHECK(it->key() == "b");
  CHECK(it->value() == "2");
  CHECK_FALSE(it->next());
}

// ---- LevelDB only ---------------------------------------------------------

namespace {

// The raw LevelDB database at path, opened with default options (as Go Goka).
std::unique_ptr<leveldb::DB> open_raw(const fs::path& path, bool create = false) {
  leveldb::Options options;
  options.create_if_missing = create;
  leveldb::DB* db = nullptr;
  auto status = leveldb::DB::Open(options, path.string(), &db);
  std::unique_ptr<leveldb::DB> owned(db);
  INFO(status.ToString());
  REQUIRE(status.ok());
  return owned;
}

std::optional<std::string> raw_get(leveldb::DB& db, const std::string& key) {
  std::string value;
  auto status = db.Get(leveldb::ReadOptions(), key, &value);
  if (status.IsNotFound()) return std::nullopt;
  REQUIRE(status.ok());
  return value;
}

}  // namespace

TEST_CASE("leveldb storage: Go Goka's layout on disk", "[storage][leveldb]") {
  TempDir dir;
  auto nested = dir.path() / "processor" / "group";
  auto storage = goka::open_leveldb_storage(nested, "group-table", 7);
  storage->set("user:1", "{\"n\":1}");
  storage->set("bin\0"s, "\0\xff"s);
  storage->set_offset(42);
  storage->close();
  storage.reset();

  auto path = nested / "group-table.7";
  REQUIRE(fs::is_directory(path));
  REQUIRE(fs::exists(path / "CURRENT"));
  auto db = open_raw(path);
  CHECK(raw_get(*db, "__offset") == "42");
  CHECK(raw_get(*db, "user:1") == "{\"n\":1}");
  CHECK(raw_get(*db, "bin\0"s) == "\0\xff"s);

  // Nothing else is in the key space.
  std::vector<std::string> keys;
  std::unique_ptr<leveldb::Iterator> it(db->NewIterator(leveldb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) keys.push_back(it->key().ToString());
  CHECK(keys == std::vector<std::string>{"__offset", "bin\0"s, "user:1"});
}

TEST_CASE("leveldb storage: reads a database written the way Go Goka writes it",
          "[storage][leveldb]") {
  TempDir dir;
  {
    auto db = open_raw(dir.path() / "view-table.0", true);
    leveldb::WriteOptions write;
    REQUIRE(db->Put(write, "__offset", "17").ok());
    REQUIRE(db->Put(write, "alice", "1").ok());
    REQUIRE(db->Put(write, "bob", "").ok());
  }
  auto storage = goka::open_leveldb_storage(dir.path(), "view-table", 0);
  CHECK(storage->get_offset() == 17);
  CHECK(storage->get("alice") == "1");
  CHECK(storage->get("bob") == "");
  CHECK(collect(storage->iterator()) == Pairs{{"alice", "1"}, {"bob", ""}});
}

TEST_CASE("leveldb storage: data and offset persist across close and reopen",
          "[storage][leveldb]") {
  Subject subject("leveldb");
  subject.storage->set("a", "1");
  subject.storage->set("b", "2");
  subject.storage->erase("b");
  goka::WriteBatch batch;
  batch.put("c", "3");
  batch.set_offset(99);
  subject.storage->apply(batch);
  subject.storage->mark_recovered();

  subject.reopen();
  CHECK(subject.storage->get_offset() == 99);
  CHECK(collect(subject.storage->iterator()) == Pairs{{"a", "1"}, {"c", "3"}});
  CHECK_FALSE(subject.storage->recovered());  // not persisted

  // The destructor closes too.
  subject.storage.reset();
  subject.storage = subject.open();
  CHECK(subject.storage->get("c") == "3");
}

TEST_CASE("leveldb storage: a batch is one atomic write", "[storage][leveldb]") {
  // A snapshot (an iterator) sees each batch whole or not at all.
  Subject subject("leveldb");
  auto& storage = *subject.storage;
  constexpr int kBatches = 300;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int n = 1; n <= kBatches; ++n) {
      goka::WriteBatch batch;
      batch.put("a", std::to_string(n));
      batch.put("b", std::to_string(n));
      batch.set_offset(n);
      storage.apply(batch);
    }
    done = true;
  });
  int torn = 0;
  while (!done) {
    auto pairs = collect(storage.iterator());
    if (pairs.size() == 2 && pairs[0].second != pairs[1].second) ++torn;
    if (pairs.size() == 1) ++torn;
  }
  writer.join();
  CHECK(torn == 0);
  CHECK(storage.get_offset() == kBatches);
}

TEST_CASE("leveldb storage: open errors are goka::Error with the path", "[storage][leveldb]") {
  TempDir dir;
  auto path_text = (dir.path() / "t.1").string();
  auto has_path = [path_text](const goka::Error& e) {
    return e.context().detail && e.context().detail->find(path_text) != std::string::npos &&
           e.context().topic == "t" && e.context().partition == 1;
  };

  SECTION("locked by another open storage") {
    auto first = goka::open_leveldb_storage(dir.path(), "t", 1);
    try {
      goka::open_leveldb_storage(dir.path(), "t", 1);
      FAIL("opened twice");
    } catch (const goka::Error& e) {
      CHECK(e.code() == goka::Errc::runtime);
      CHECK(has_path(e));
      CHECK(std::string(e.what()).find("locked") != std::string::npos);
    }
    // Closing releases the lock, but only after the last iterator is gone.
    auto it = first->iterator();
    first->close();
    CHECK_THROWS_AS(goka::open_leveldb_storage(dir.path(), "t", 1), goka::Error);
    it.reset();
    CHECK_NOTHROW(goka::open_leveldb_storage(dir.path(), "t", 1));
  }

  SECTION("corrupt") {
    fs::create_directories(path_text);
    std::ofstream(fs::path(path_text) / "CURRENT") << "not a manifest name";
    try {
      goka::open_leveldb_storage(dir.path(), "t", 1);
      FAIL("opened a corrupt database");
    } catch (const goka::Error& e) {
      CHECK(e.code() == goka::Errc::runtime);
      CHECK(has_path(e));
    }
  }

  SECTION("garbage in every file") {
    {
      auto storage = goka::open_leveldb_storage(dir.path(), "t", 1);
      for (int i = 0; i < 100; ++i) storage->set(numbered("k", i), "v");
    }
    for (const auto& entry : fs::directory_iterator(path_text)) {
      auto name = entry.path().filename().string();
      if (name == "LOCK" || name == "LOG" || name == "LOG.old") continue;
      std::ofstream(entry.path(), std::ios::trunc) << "garbage\ngarbage\n";
    }
    CHECK_THROWS_AS(goka::open_leveldb_storage(dir.path(), "t", 1), goka::Error);
  }

  SECTION("absent, without create_if_missing") {
    goka::LevelDbOptions options;
    options.create_if_missing = false;
    try {
      goka::open_leveldb_storage(dir.path(), "t", 1, options);
      FAIL("opened an absent database");
    } catch (const goka::Error& e) {
      CHECK(e.code() == goka::Errc::not_found);
      CHECK(has_path(e));
    }
    CHECK_FALSE(fs::exists(path_text));
  }

  SECTION("the directory cannot be created") {
    std::ofstream(dir.path() / "file") << "x";
    try {
      goka::open_leveldb_storage(dir.path() / "file", "t", 1);
      FAIL("opened below a regular file");
    } catch (const goka::Error& e) {
      CHECK(e.code() == goka::Errc::runtime);
      CHECK(e.context().topic == "t");
    }
  }

  SECTION("invalid topic or partition") {
    auto is_usage = [](const goka::Error& e) { return e.code() == goka::Errc::usage; };
    auto usage = Catch::Predicate<goka::Error>(is_usage);
    CHECK_THROWS_MATCHES(goka::open_leveldb_storage(dir.path(), "", 0), goka::Error, usage);
    CHECK_THROWS_MATCHES(goka::open_leveldb_storage(dir.path(), "a/b", 0), goka::Error, usage);
    CHECK_THROWS_MATCHES(goka::open_leveldb_storage(dir.path(), "t", -1), goka::Error, usage);
  }
}

TEST_CASE("leveldb storage: a stored offset that is not decimal text is a decode error",
          "[storage][leveldb]") {
  TempDir dir;
  for (const char* bad : {"", "12a", "abc", "99999999999999999999", " 1", "--1"}) {
    CAPTURE(bad);
    {
      auto db = open_raw(dir.path() / "t.0", true);
      REQUIRE(db->Put(leveldb::WriteOptions(), "__offset", bad).ok());
    }
    auto storage = goka::open_leveldb_storage(dir.path(), "t", 0);
    CHECK_THROWS_MATCHES(storage->get_offset(), goka::Error,
                         Catch::Predicate<goka::Error>(
                             [](const goka::Error& e) { return e.code() == goka::Errc::decode; }));
  }
  {
    auto db = open_raw(dir.path() / "t.0", true);
    REQUIRE(db->Put(leveldb::WriteOptions(), "__offset", "+8").ok());  // Go's ParseInt accepts it
  }
  CHECK(goka::open_leveldb_storage(dir.path(), "t", 0)->get_offset() == 8);
}

TEST_CASE("leveldb storage: options", "[storage][leveldb]") {
  TempDir dir;
  goka::LevelDbOptions options;
  options.write_buffer_size = 64 * 1024;
  options.block_cache_size = 0;
  options.bloom_bits_per_key = 0;
  options.compression = false;
  options.sync = true;
  options.paranoid_checks = true;
  options.max_open_files = 10;
  auto storage = goka::open_leveldb_storage(dir.path(), "t", 3, options);
  for (int i = 0; i < 2000; ++i) storage->set(numbered("k", i), std::string(100, 'x'));
  storage->mark_recovered();  // from here on, writes sync
  storage->set_offset(1);
  CHECK(collect(storage->iterator()).size() == 2000);
  CHECK(storage->get_offset() == 1);
}
