#include "tester/memory_log.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <utility>

#include "goka/hasher.hpp"

namespace goka::tester {
namespace {

struct PartitionLog {
  int64_t low = 0;  // offset of records.front()
  std::deque<Record> records;
  int64_t high() const { return low + static_cast<int64_t>(records.size()); }
};

struct TopicLog {
  std::vector<PartitionLog> partitions;
  Properties config;
};

// A produced record waiting for delivery (DeliveryMode::queued).
struct Pending {
  uint64_t producer = 0;
  Record record;
  core::DeliveryHandler* handler = nullptr;
  void* tag = nullptr;
};

// An outcome to hand to a handler once the log's lock is released.
struct Outcome {
  core::DeliveryHandler* handler = nullptr;
  void* tag = nullptr;
  Delivery delivery;
};

Error not_found(const std::string& topic, std::optional<int32_t> partition = std::nullopt) {
  return Error(Errc::not_found, partition ? "partition does not exist" : "topic does not exist",
               {.topic = topic, .partition = partition});
}

Error down_error(const std::string& topic = {}) {
  ErrorContext context;
  if (!topic.empty()) context.topic = topic;
  context.detail = "the in-memory log is down";
  return Error(Errc::timeout, "cluster unreachable", context);
}

}  // namespace

struct MemoryLog::Shared {
  explicit Shared(MemoryLogOptions o) : options(std::move(o)) {}

  const MemoryLogOptions options;
  mutable std::mutex mutex;
  std::condition_variable changed;  // notified when version changes
  // Everything below is guarded by mutex.
  uint64_t version = 0;  // bumped on every append, trim, up/down or injected failure
  std::map<std::string, TopicLog, std::less<>> topics;
  std::deque<Pending> pending;
  bool down = false;
  std::map<std::string, std::deque<Error>, std::less<>> poll_failures;
  // Held while handlers run: one call at a time; recursive, because a
  // handler may produce again (immediate delivery calls it back at once).
  std::recursive_mutex handing;
  uint64_t next_producer = 1;

  int64_t now() const {
    if (options.clock) return options.clock();
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  void bump() {
    ++version;
    changed.notify_all();
  }

  // REQUIRES: mutex held.
  TopicLog* find(std::string_view topic) {
    auto it = topics.find(topic);
    return it == topics.end() ? nullptr : &it->second;
  }
  // REQUIRES: mutex held. Creates the topic when auto-creation is on.
  TopicLog* find_or_create(const std::string& topic) {
    if (TopicLog* t = find(topic)) return t;
    if (options.auto_create_partitions < 1) return nullptr;
    TopicLog& t = topics[topic];
    t.partitions.resize(static_cast<size_t>(options.auto_create_partitions));
    bump();
    return &t;
  }
  // REQUIRES: mutex held. Throws Errc::not_found.
  PartitionLog& partition(const std::string& topic, int32_t partition) {
    TopicLog* t = find(topic);
    if (t == nullptr) throw not_found(topic);
    if (partition < 0 || partition >= static_cast<int32_t>(t->partitions.size())) {
      throw not_found(topic, partition);
    }
    return t->partitions[static_cast<size_t>(partition)];
  }
  // REQUIRES: mutex held; record.topic and record.partition exist.
  int64_t append(Record record) {
    PartitionLog& p = partition(record.topic, record.partition);
    record.offset = p.high();
    if (record.timestamp == 0) record.timestamp = now();
    p.records.push_back(std::move(record));
    bump();
    return p.records.back().offset;
  }

  // Hands outcomes to their handlers, in order, one call at a time (the
  // DeliveryHandler contract). REQUIRES: mutex not held.
  void hand_over(std::vector<Outcome>& outcomes) {
    std::lock_guard lock(handing);
    for (Outcome& o : outcomes) o.handler->on_delivery(o.delivery, o.tag);
  }

  // Delivers the queued records matching which (all when which == 0), in
  // order, and hands their outcomes over outside the lock. Returns how many.
  // While down nothing is delivered.
  std::size_t deliver(uint64_t which) {
    std::vector<Outcome> outcomes;
    {
      std::lock_guard lock(mutex);
      if (down) return 0;
      for (auto it = pending.begin(); it != pending.end();) {
        if (which != 0 && it->producer != which) {
          ++it;
          continue;
        }
        Delivery d{it->record.topic, it->record.partition, -1, std::nullopt};
        try {
          d.offset = append(std::move(it->record));
        } catch (const Error& e) {
          d.error = e;
        }
        outcomes.push_back({it->handler, it->tag, std::move(d)});
        it = pending.erase(it);
      }
    }
    hand_over(outcomes);
    return outcomes.size();
  }

  // Fails the queued records of producer which with error.
  void fail_pending(uint64_t which, const Error& error) {
    std::vector<Outcome> outcomes;
    {
      std::lock_guard lock(mutex);
      for (auto it = pending.begin(); it != pending.end();) {
        if (it->producer != which) {
          ++it;
          continue;
        }
        outcomes.push_back(
            {it->handler, it->tag, Delivery{it->record.topic, it->record.partition, -1, error}});
        it = pending.erase(it);
      }
    }
    hand_over(outcomes);
  }
};

namespace {

using Shared = MemoryLog::Shared;

class MemoryProducer final : public core::Producer {
 public:
  MemoryProducer(std::shared_ptr<Shared> shared, core::DeliveryHandler& handler)
      : shared_(std::move(shared)), handler_(&handler) {
    std::lock_guard lock(shared_->mutex);
    id_ = shared_->next_producer++;
  }

  // Every record's outcome is handed over exactly once: what is still
  // queued is delivered now, or fails when the log is down.
  ~MemoryProducer() override {
    shared_->deliver(id_);
    shared_->fail_pending(id_, down_error());
  }

  void produce(const std::string& topic, int32_t partition, const std::optional<std::string>& key,
               const std::optional<std::string>& value, const Headers& headers, int64_t timestamp,
               void* tag) override {
    Record record;
    record.topic = topic;
    record.partition = partition;
    record.timestamp = timestamp;
    record.key = key;
    record.value = value;
    record.headers = headers;
    Delivery delivery{topic, partition, -1, std::nullopt};
    {
      std::lock_guard lock(shared_->mutex);
      TopicLog* t = shared_->find_or_create(topic);
      if (shared_->down) {
        delivery.error = down_error(topic);
      } else if (t == nullptr) {
        delivery.error = not_found(topic);
      } else if (partition < 0 || partition >= static_cast<int32_t>(t->partitions.size())) {
        delivery.error = not_found(topic, partition);
      } else if (shared_->options.delivery == DeliveryMode::queued) {
        shared_->pending.push_back({id_, std::move(record), handler_, tag});
        return;
      } else {
        delivery.offset = shared_->append(std::move(record));
      }
    }
    std::vector<Outcome> outcome{{handler_, tag, std::move(delivery)}};
    shared_->hand_over(outcome);
  }

  bool flush(std::chrono::milliseconds) override {
    shared_->deliver(id_);
    std::lock_guard lock(shared_->mutex);
    return std::none_of(shared_->pending.begin(), shared_->pending.end(),
                        [this](const Pending& p) { return p.producer == id_; });
  }

 private:
  std::shared_ptr<Shared> shared_;
  core::DeliveryHandler* handler_;
  uint64_t id_ = 0;
};

class MemoryReader final : public core::PartitionReader {
 public:
  MemoryReader(std::shared_ptr<Shared> shared, std::string topic)
      : shared_(std::move(shared)), topic_(std::move(topic)) {}

  void start(int32_t partition, int64_t offset) override { next_[partition] = offset; }
  void stop(int32_t partition) override { next_.erase(partition); }

  void poll(std::vector<Record>& out, std::chrono::milliseconds wait) override {
    auto deadline = std::chrono::steady_clock::now() + wait;
    std::unique_lock lock(shared_->mutex);
    while (true) {
      if (auto it = shared_->poll_failures.find(topic_);
          it != shared_->poll_failures.end() && !it->second.empty()) {
        Error error = std::move(it->second.front());
        it->second.pop_front();
        throw error;
      }
      if (!shared_->down && collect(out) > 0) return;
      uint64_t seen = shared_->version;
      if (!shared_->changed.wait_until(lock, deadline, [&] { return shared_->version != seen; })) {
        return;
      }
    }
  }

  int64_t position(int32_t partition) override {
    auto it = next_.find(partition);
    if (it == next_.end()) return -1;
    std::lock_guard lock(shared_->mutex);
    TopicLog* t = shared_->find(topic_);
    if (t == nullptr || partition >= static_cast<int32_t>(t->partitions.size())) return -1;
    return normalized(t->partitions[static_cast<size_t>(partition)], it->second);
  }

 private:
  // Kafka's auto.offset.reset=earliest: an offset out of range reads from
  // the low watermark.
  static int64_t normalized(const PartitionLog& p, int64_t next) {
    return next < p.low || next > p.high() ? p.low : next;
  }

  // REQUIRES: mutex held. Appends what the started partitions have past
  // their next offsets, up to max_poll_records. When the limit cuts a poll
  // short, the next poll begins with the partition after the last one
  // served, so that a busy partition cannot starve the others. Returns how
  // many records it appended.
  std::size_t collect(std::vector<Record>& out) {
    std::size_t taken = 0;
    std::size_t limit = std::max<std::size_t>(shared_->options.max_poll_records, 1);
    auto first = next_.lower_bound(resume_at_);
    for (std::size_t visited = 0; visited < next_.size(); ++visited, ++first) {
      if (first == next_.end()) first = next_.begin();
      auto& [partition, next] = *first;
      PartitionLog& p = shared_->partition(topic_, partition);
      next = normalized(p, next);
      while (next < p.high() && taken < limit) {
        out.push_back(p.records[static_cast<size_t>(next - p.low)]);
        ++next;
        ++taken;
      }
      if (taken >= limit) {
        resume_at_ = partition + 1;
        return taken;
      }
    }
    resume_at_ = 0;
    return taken;
  }

  std::shared_ptr<Shared> shared_;
  std::string topic_;
  std::map<int32_t, int64_t> next_;  // per started partition: the next offset to return
  int32_t resume_at_ = 0;            // the partition the next poll begins with (or after)
};

}  // namespace

class MemoryLog::Admin final : public core::Admin {
 public:
  explicit Admin(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}

  std::vector<TopicInfo> topics() override {
    std::lock_guard lock(shared_->mutex);
    check_up();
    std::vector<TopicInfo> out;
    for (const auto& [name, t] : shared_->topics) {
      if (name.starts_with("__")) continue;
      out.push_back({name, static_cast<int32_t>(t.partitions.size()), std::nullopt});
    }
    return out;
  }

  // The policy a topic was created with (Admin::create_topic's config: a
  // table is "compact"), else Kafka's default "delete"; missing topics and a
  // log that is down tell nothing.
  std::map<std::string, std::string> cleanup_policies(
      const std::vector<std::string>& topics) override {
    std::lock_guard lock(shared_->mutex);
    std::map<std::string, std::string> out;
    if (shared_->down) return out;
    for (const std::string& topic : topics) {
      const TopicLog* t = shared_->find(topic);
      if (t == nullptr) continue;
      auto it = t->config.find("cleanup.policy");
      out[topic] = it != t->config.end() ? it->second : "delete";
    }
    return out;
  }

  std::optional<int32_t> partitions(const std::string& topic, bool auto_create) override {
    std::lock_guard lock(shared_->mutex);
    check_up();
    TopicLog* t = auto_create ? shared_->find_or_create(topic) : shared_->find(topic);
    if (t == nullptr) return std::nullopt;
    return static_cast<int32_t>(t->partitions.size());
  }

  Watermarks watermarks(const std::string& topic, int32_t partition) override {
    std::lock_guard lock(shared_->mutex);
    check_up();
    const PartitionLog& p = shared_->partition(topic, partition);
    return {p.low, p.high()};
  }

  int64_t offset_for_time(const std::string& topic, int32_t partition, int64_t ms) override {
    std::lock_guard lock(shared_->mutex);
    check_up();
    const PartitionLog& p = shared_->partition(topic, partition);
    for (const Record& r : p.records) {
      if (r.timestamp >= ms) return r.offset;
    }
    return p.high();
  }

  void create_topic(const std::string& topic, int32_t partitions,
                    const Properties& config) override {
    std::lock_guard lock(shared_->mutex);
    check_up();
    if (shared_->find(topic) != nullptr) return;
    if (partitions < 1) {
      throw Error(Errc::config, fmt::format("invalid partition count {}", partitions),
                  {.topic = topic});
    }
    TopicLog& t = shared_->topics[topic];
    t.partitions.resize(static_cast<size_t>(partitions));
    t.config = config;
    shared_->bump();
  }

 private:
  // REQUIRES: mutex held.
  void check_up() const {
    if (shared_->down) throw down_error();
  }

  std::shared_ptr<Shared> shared_;
};

MemoryLog::MemoryLog(MemoryLogOptions options)
    : shared_(std::make_shared<Shared>(std::move(options))),
      admin_(std::make_unique<Admin>(shared_)) {}

MemoryLog::~MemoryLog() = default;

std::unique_ptr<core::Producer> MemoryLog::producer(core::DeliveryHandler& handler) {
  return std::make_unique<MemoryProducer>(shared_, handler);
}

std::unique_ptr<core::PartitionReader> MemoryLog::reader(const std::string& topic) {
  return std::make_unique<MemoryReader>(shared_, topic);
}

core::Admin& MemoryLog::admin() { return *admin_; }

std::chrono::milliseconds MemoryLog::timeout() const { return shared_->options.timeout; }

void MemoryLog::create_topic(const std::string& topic, int32_t partitions) {
  std::lock_guard lock(shared_->mutex);
  if (partitions < 1) {
    throw Error(Errc::config, fmt::format("invalid partition count {}", partitions),
                {.topic = topic});
  }
  if (shared_->find(topic) != nullptr) {
    throw Error(Errc::config, "topic already exists", {.topic = topic});
  }
  shared_->topics[topic].partitions.resize(static_cast<size_t>(partitions));
  shared_->bump();
}

std::optional<int32_t> MemoryLog::partitions(const std::string& topic) const {
  std::lock_guard lock(shared_->mutex);
  const TopicLog* t = shared_->find(topic);
  if (t == nullptr) return std::nullopt;
  return static_cast<int32_t>(t->partitions.size());
}

int64_t MemoryLog::append(const std::string& topic, int32_t partition,
                          std::optional<std::string> key, std::optional<std::string> value,
                          Headers headers, int64_t timestamp) {
  Record record;
  record.topic = topic;
  record.partition = partition;
  record.timestamp = timestamp;
  record.key = std::move(key);
  record.value = std::move(value);
  record.headers = std::move(headers);
  std::lock_guard lock(shared_->mutex);
  return shared_->append(std::move(record));
}

int64_t MemoryLog::append(const std::string& topic, const std::string& key,
                          std::optional<std::string> value) {
  std::optional<int32_t> count = partitions(topic);
  if (!count) throw not_found(topic);
  return append(topic, partition_for(key, *count), key, std::move(value));
}

Watermarks MemoryLog::watermarks(const std::string& topic, int32_t partition) const {
  std::lock_guard lock(shared_->mutex);
  const PartitionLog& p = shared_->partition(topic, partition);
  return {p.low, p.high()};
}

std::vector<Record> MemoryLog::records(const std::string& topic, int32_t partition) const {
  std::lock_guard lock(shared_->mutex);
  const PartitionLog& p = shared_->partition(topic, partition);
  return {p.records.begin(), p.records.end()};
}

void MemoryLog::trim(const std::string& topic, int32_t partition, int64_t new_low) {
  std::lock_guard lock(shared_->mutex);
  PartitionLog& p = shared_->partition(topic, partition);
  int64_t target = std::min(new_low, p.high());
  if (target <= p.low) return;
  p.records.erase(p.records.begin(), p.records.begin() + (target - p.low));
  p.low = target;
  shared_->bump();
}

std::size_t MemoryLog::deliver() { return shared_->deliver(0); }

std::size_t MemoryLog::pending() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->pending.size();
}

void MemoryLog::set_down(bool down) {
  std::lock_guard lock(shared_->mutex);
  shared_->down = down;
  shared_->bump();
}

void MemoryLog::fail_next_poll(const std::string& topic, Error error) {
  std::lock_guard lock(shared_->mutex);
  shared_->poll_failures[topic].push_back(std::move(error));
  shared_->bump();
}

}  // namespace goka::tester
