#pragma once
// Internal: the state a MemoryLog shares with its producers, readers and
// group consumers. Everything in Shared is guarded by Shared::mutex unless
// said otherwise.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "tester/memory_log.hpp"

namespace goka::tester {

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

inline Error not_found(const std::string& topic, std::optional<int32_t> partition = std::nullopt) {
  return Error(Errc::not_found, partition ? "partition does not exist" : "topic does not exist",
               {.topic = topic, .partition = partition});
}

inline Error down_error(const std::string& topic = {}) {
  ErrorContext context;
  if (!topic.empty()) context.topic = topic;
  context.detail = "the in-memory log is down";
  return Error(Errc::timeout, "cluster unreachable", context);
}


// A consumer group member's state of one partition it owns.
struct OwnedPartition {
  bool paused = true;                   // an assigned partition starts paused
  int64_t position = -1;                // the next offset to hand out; -1: not fetched yet
  std::optional<int64_t> fetched_high;  // the high watermark its last fetch saw
};

using PartitionKey = std::pair<std::string, int32_t>;  // topic, partition

// One member of a consumer group (one group consumer that has polled since it
// subscribed).
struct GroupMember {
  uint64_t id = 0;  // join order: the range assignor sorts the members by it
  std::vector<std::string> topics;  // subscribed
  uint64_t joined = 0;    // the generation it rejoined (having revoked all) for
  uint64_t assigned = 0;  // the generation whose assignment it took
  std::map<PartitionKey, OwnedPartition> owned;
};

// A consumer group: members, generation, committed offsets. Eager
// rebalancing: a membership change starts a new generation; every member,
// inside its own poll(), revokes what it owns and rejoins; once the last one
// has rejoined, the range assignment of the generation is computed, and each
// member takes its share inside its next poll(). A member that does not poll
// holds the others up (as a real group does until max.poll.interval.ms).
struct ConsumerGroup {
  uint64_t generation = 0;
  std::map<uint64_t, GroupMember*> members;  // by id; owned by their consumers
  // Per member id, its partitions of the generation, once every member rejoined.
  std::optional<std::map<uint64_t, std::vector<core::TopicPartition>>> assignment;
  std::map<PartitionKey, int64_t> committed;  // the next offset to read
};

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
  // Consumer groups by name, and the fault knobs of their consumers.
  std::map<std::string, ConsumerGroup, std::less<>> groups;
  uint64_t next_member = 1;
  bool resume_from_committed = false;
  CommitRefusal commit_refusal = CommitRefusal::never;

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
// A member of group on shared (MemoryLog::group_consumer).
std::unique_ptr<core::GroupConsumer> make_group_consumer(std::shared_ptr<MemoryLog::Shared> shared,
                                                         const std::string& group,
                                                         core::StartPolicy start,
                                                         core::RebalanceHandler& handler);

}  // namespace goka::tester
