#include "tester/memory_log.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "goka/hasher.hpp"
#include "tester/memory_log_shared.hpp"

namespace goka::tester {

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

  std::vector<core::TopicPartition> committed(
      const std::string& group, std::vector<core::TopicPartition> partitions) override {
    std::lock_guard lock(shared_->mutex);
    check_up();
    auto g = shared_->groups.find(group);
    for (auto& tp : partitions) {
      tp.offset = -1;
      if (g == shared_->groups.end()) continue;
      auto it = g->second.committed.find({tp.topic, tp.partition});
      if (it != g->second.committed.end()) tp.offset = it->second;
    }
    return partitions;
  }

  bool create_topic(const std::string& topic, int32_t partitions,
                    const Properties& config) override {
    std::lock_guard lock(shared_->mutex);
    check_up();
    if (shared_->find(topic) != nullptr) return false;
    if (partitions < 1) {
      throw Error(Errc::config, fmt::format("invalid partition count {}", partitions),
                  {.topic = topic});
    }
    TopicLog& t = shared_->topics[topic];
    t.partitions.resize(static_cast<size_t>(partitions));
    t.config = config;
    shared_->bump();
    return true;
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

std::unique_ptr<core::GroupConsumer> MemoryLog::group_consumer(const std::string& group,
                                                               core::StartPolicy start,
                                                               core::RebalanceHandler& handler) {
  return make_group_consumer(shared_, group, start, handler);
}

void MemoryLog::set_resume_from_committed(bool on) {
  std::lock_guard lock(shared_->mutex);
  shared_->resume_from_committed = on;
}

void MemoryLog::refuse_commits(CommitRefusal when) {
  std::lock_guard lock(shared_->mutex);
  shared_->commit_refusal = when;
}

std::size_t MemoryLog::group_members(const std::string& group) const {
  std::lock_guard lock(shared_->mutex);
  auto it = shared_->groups.find(group);
  return it == shared_->groups.end() ? 0 : it->second.members.size();
}

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
