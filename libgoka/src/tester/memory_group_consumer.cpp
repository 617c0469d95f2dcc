// core::GroupConsumer on the in-memory log: the consumer groups of
// MemoryLog (see memory_log.hpp, "Consumer groups", for the protocol).

#include <fmt/format.h>

#include <algorithm>
#include <exception>
#include <set>

#include "tester/memory_log_shared.hpp"

namespace goka::tester {
namespace {

using Shared = MemoryLog::Shared;

Error commit_refused(const std::string& group, const char* why) {
  return Error(Errc::kafka, fmt::format("cannot commit offsets: {}", why),
               {.detail = "group " + group});
}

// Kafka's range assignor: per topic, the members subscribed to it (in id
// order) get consecutive ranges of its partitions, the first ones one more
// when the count does not divide. Topics that do not exist give nothing.
// REQUIRES: shared.mutex held.
std::map<uint64_t, std::vector<core::TopicPartition>> range_assignment(Shared& shared,
                                                                      const ConsumerGroup& group) {
  std::map<uint64_t, std::vector<core::TopicPartition>> out;
  std::set<std::string> topics;
  for (const auto& [id, member] : group.members) {
    out[id];
    topics.insert(member->topics.begin(), member->topics.end());
  }
  for (const std::string& topic : topics) {
    const TopicLog* t = shared.find(topic);
    if (t == nullptr) continue;
    std::vector<uint64_t> subscribed;
    for (const auto& [id, member] : group.members) {
      if (std::find(member->topics.begin(), member->topics.end(), topic) != member->topics.end()) {
        subscribed.push_back(id);
      }
    }
    auto count = static_cast<int32_t>(t->partitions.size());
    auto members = static_cast<int32_t>(subscribed.size());
    int32_t next = 0;
    for (int32_t i = 0; i < members; ++i) {
      int32_t share = count / members + (i < count % members ? 1 : 0);
      auto& partitions = out[subscribed[static_cast<size_t>(i)]];
      for (int32_t k = 0; k < share; ++k) partitions.push_back({topic, next++, -1});
    }
  }
  return out;
}

class MemoryGroupConsumer final : public core::GroupConsumer {
 public:
  MemoryGroupConsumer(std::shared_ptr<Shared> shared, std::string group, core::StartPolicy start,
                      core::RebalanceHandler& handler)
      : shared_(std::move(shared)), group_(std::move(group)), start_(start), handler_(handler) {}

  ~MemoryGroupConsumer() override {
    try {
      close();
    } catch (...) {
      // A destructor cannot report; close() explicitly to see errors.
    }
  }

  void subscribe(const std::vector<std::string>& topics) override {
    std::lock_guard lock(shared_->mutex);
    member_.topics = topics;
    subscribed_ = true;
    if (in_group_) start_generation(group());
  }

  void poll(std::vector<Record>& out, std::chrono::milliseconds wait) override;
  void read_headers(bool on) override { headers_ = on; }

  void pause(const std::vector<core::TopicPartition>& partitions) override {
    std::lock_guard lock(shared_->mutex);
    for (const auto& tp : partitions) {
      if (auto it = member_.owned.find({tp.topic, tp.partition}); it != member_.owned.end()) {
        it->second.paused = true;
      }
    }
  }

  void resume(const std::vector<core::TopicPartition>& partitions) override {
    std::lock_guard lock(shared_->mutex);
    for (const auto& tp : partitions) {
      auto it = member_.owned.find({tp.topic, tp.partition});
      if (it == member_.owned.end()) continue;
      OwnedPartition& owned = it->second;
      if (shared_->resume_from_committed && owned.paused) {
        owned.position = committed_offset(tp.topic, tp.partition);
      } else if (tp.offset >= 0) {
        owned.position = tp.offset;
      }
      owned.paused = false;
    }
    shared_->bump();
  }

  void commit(const std::vector<core::TopicPartition>& offsets) override {
    if (offsets.empty()) return;
    std::lock_guard lock(shared_->mutex);
    if (shared_->down) throw commit_refused(group_, "the in-memory log is down");
    if (!in_group_) throw commit_refused(group_, "not a member of the group");
    ConsumerGroup& g = group();
    bool rebalancing = !g.assignment || member_.assigned < g.generation;
    if (shared_->commit_refusal == CommitRefusal::always ||
        (shared_->commit_refusal == CommitRefusal::in_rebalance && rebalancing)) {
      throw commit_refused(group_, "rebalance in progress (injected)");
    }
    for (const auto& tp : offsets) g.committed[{tp.topic, tp.partition}] = tp.offset;
  }

  std::vector<core::TopicPartition> committed(
      const std::vector<core::TopicPartition>& partitions) override {
    std::lock_guard lock(shared_->mutex);
    if (shared_->down) throw down_error();
    std::vector<core::TopicPartition> out = partitions;
    for (auto& tp : out) tp.offset = committed_offset(tp.topic, tp.partition);
    return out;
  }

  std::optional<int64_t> fetched_high_watermark(const std::string& topic,
                                                int32_t partition) const override {
    std::lock_guard lock(shared_->mutex);
    auto it = member_.owned.find({topic, partition});
    if (it == member_.owned.end()) return std::nullopt;
    return it->second.fetched_high;
  }

  void close() override;

 private:
  // REQUIRES: shared_->mutex held.
  ConsumerGroup& group() { return shared_->groups[group_]; }

  // REQUIRES: shared_->mutex held. -1 when the group committed none.
  int64_t committed_offset(const std::string& topic, int32_t partition) {
    const auto& committed = group().committed;
    auto it = committed.find({topic, partition});
    return it == committed.end() ? -1 : it->second;
  }

  // A membership change: a new generation that every member must rejoin.
  // REQUIRES: shared_->mutex held.
  void start_generation(ConsumerGroup& g) {
    ++g.generation;
    g.assignment.reset();
    shared_->bump();
  }

  // Computes the generation's assignment once every member rejoined it.
  // REQUIRES: shared_->mutex held.
  void complete_if_all_joined(ConsumerGroup& g) {
    if (g.assignment) return;
    for (const auto& [id, member] : g.members) {
      if (member->joined < g.generation) return;
    }
    g.assignment = range_assignment(*shared_, g);
    shared_->bump();
  }

  // One step of the rebalance protocol for this member, calling the handler
  // with the lock released. Returns false when there was nothing to do.
  // REQUIRES: lock holds shared_->mutex.
  bool rebalance_step(std::unique_lock<std::mutex>& lock);
  void call_handler(std::unique_lock<std::mutex>& lock, bool assigned,
                    const std::vector<core::TopicPartition>& partitions);

  // REQUIRES: shared_->mutex held. Appends what the unpaused owned partitions
  // have past their positions, up to max_poll_records; returns how many.
  std::size_t fetch(std::vector<Record>& out);
  int64_t start_offset(const PartitionLog& log, int64_t position) const;

  const std::shared_ptr<Shared> shared_;
  const std::string group_;
  const core::StartPolicy start_;
  core::RebalanceHandler& handler_;
  GroupMember member_;       // guarded by shared_->mutex
  bool subscribed_ = false;  // guarded by shared_->mutex
  bool in_group_ = false;    // guarded by shared_->mutex
  bool closed_ = false;
  bool headers_ = true;     // read_headers(); the polling thread's
  PartitionKey resume_at_;  // the partition the next fetch begins with (or after)
};

void MemoryGroupConsumer::call_handler(std::unique_lock<std::mutex>& lock, bool assigned,
                                       const std::vector<core::TopicPartition>& partitions) {
  lock.unlock();
  std::exception_ptr failure;
  try {
    if (assigned) {
      handler_.on_assigned(partitions);
    } else {
      handler_.on_revoked(partitions);
    }
  } catch (...) {
    failure = std::current_exception();
  }
  lock.lock();
  if (!assigned) {
    for (const auto& tp : partitions) member_.owned.erase({tp.topic, tp.partition});
  }
  if (failure) std::rethrow_exception(failure);
}

bool MemoryGroupConsumer::rebalance_step(std::unique_lock<std::mutex>& lock) {
  if (!in_group_) {
    if (!subscribed_) return false;
    member_.id = shared_->next_member++;
    group().members[member_.id] = &member_;
    in_group_ = true;
    start_generation(group());
    return true;
  }
  ConsumerGroup& g = group();
  if (member_.joined < g.generation) {
    uint64_t generation = g.generation;
    if (!member_.owned.empty()) {
      std::vector<core::TopicPartition> revoked;
      for (const auto& [key, owned] : member_.owned) revoked.push_back({key.first, key.second, -1});
      call_handler(lock, false, revoked);
    }
    member_.joined = std::max(member_.joined, generation);
    complete_if_all_joined(group());
    return true;
  }
  if (member_.assigned < g.generation && g.assignment) {
    member_.assigned = g.generation;
    std::vector<core::TopicPartition> assigned = (*g.assignment)[member_.id];
    for (const auto& tp : assigned) member_.owned[{tp.topic, tp.partition}] = OwnedPartition{};
    call_handler(lock, true, assigned);
    return true;
  }
  return false;
}

void MemoryGroupConsumer::poll(std::vector<Record>& out, std::chrono::milliseconds wait) {
  auto deadline = std::chrono::steady_clock::now() + wait;
  std::unique_lock lock(shared_->mutex);
  if (closed_) throw Error(Errc::usage, "poll() of a closed group consumer", {.detail = group_});
  while (true) {
    while (rebalance_step(lock)) {
    }
    for (const std::string& topic : member_.topics) {
      if (shared_->find(topic) == nullptr) {
        throw Error(Errc::not_found, "cannot consume: topic does not exist",
                    {.topic = topic, .detail = "group " + group_});
      }
    }
    if (!shared_->down && fetch(out) > 0) return;
    uint64_t seen = shared_->version;
    if (!shared_->changed.wait_until(lock, deadline, [&] { return shared_->version != seen; })) {
      return;
    }
  }
}

int64_t MemoryGroupConsumer::start_offset(const PartitionLog& log, int64_t position) const {
  if (position >= log.low && position <= log.high()) return position;
  return start_ == core::StartPolicy::earliest ? log.low : log.high();
}

std::size_t MemoryGroupConsumer::fetch(std::vector<Record>& out) {
  std::size_t taken = 0;
  std::size_t limit = std::max<std::size_t>(shared_->options.max_poll_records, 1);
  auto it = member_.owned.lower_bound(resume_at_);
  for (std::size_t visited = 0; visited < member_.owned.size(); ++visited, ++it) {
    if (it == member_.owned.end()) it = member_.owned.begin();
    auto& [key, owned] = *it;
    if (owned.paused) continue;
    PartitionLog& log = shared_->partition(key.first, key.second);
    if (owned.position < 0) owned.position = committed_offset(key.first, key.second);
    owned.position = start_offset(log, owned.position);
    owned.fetched_high = log.high();
    while (owned.position < log.high() && taken < limit) {
      out.push_back(log.records[static_cast<size_t>(owned.position - log.low)]);
      if (!headers_) out.back().headers.clear();
      ++owned.position;
      ++taken;
    }
    if (taken >= limit) {
      resume_at_ = {key.first, key.second + 1};
      return taken;
    }
  }
  resume_at_ = {};
  return taken;
}

void MemoryGroupConsumer::close() {
  std::unique_lock lock(shared_->mutex);
  if (closed_) return;
  closed_ = true;
  if (!in_group_) return;
  std::exception_ptr failure;
  if (!member_.owned.empty()) {
    std::vector<core::TopicPartition> revoked;
    for (const auto& [key, owned] : member_.owned) revoked.push_back({key.first, key.second, -1});
    try {
      call_handler(lock, false, revoked);
    } catch (...) {
      failure = std::current_exception();
    }
  }
  ConsumerGroup& g = group();
  g.members.erase(member_.id);
  in_group_ = false;
  start_generation(g);
  if (failure) std::rethrow_exception(failure);
}

}  // namespace

std::unique_ptr<core::GroupConsumer> make_group_consumer(std::shared_ptr<MemoryLog::Shared> shared,
                                                         const std::string& group,
                                                         core::StartPolicy start,
                                                         core::RebalanceHandler& handler) {
  return std::make_unique<MemoryGroupConsumer>(std::move(shared), group, start, handler);
}

}  // namespace goka::tester
