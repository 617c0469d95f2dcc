#include "goka/tester.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <mutex>
#include <set>
#include <unordered_map>
#include <utility>

#include "core/backend.hpp"
#include "core/partition_processor.hpp"
#include "goka/error.hpp"
#include "goka/hasher.hpp"
#include "goka/storage.hpp"
#include "tester/memory_log.hpp"

namespace goka {

// ---- MessageTracker ---------------------------------------------------------

struct MessageTracker::Journal {
  mutable std::mutex mutex;
  std::map<std::string, std::vector<TrackedMessage>, std::less<>> topics;  // guarded by mutex

  void add(const Record& record) {
    TrackedMessage message{record.key.value_or(""), record.value, record.headers, record.partition,
                           record.offset};
    std::lock_guard lock(mutex);
    topics[record.topic].push_back(std::move(message));
  }

  std::size_t size(std::string_view topic) const {
    std::lock_guard lock(mutex);
    auto it = topics.find(topic);
    return it == topics.end() ? 0 : it->second.size();
  }
};

MessageTracker::MessageTracker(std::shared_ptr<const Journal> journal, std::string topic,
                               std::size_t next)
    : journal_(std::move(journal)), topic_(std::move(topic)), next_(next) {}

std::optional<TrackedMessage> MessageTracker::next() {
  std::lock_guard lock(journal_->mutex);
  auto it = journal_->topics.find(topic_);
  if (it == journal_->topics.end() || next_ >= it->second.size()) return std::nullopt;
  return it->second[next_++];
}

std::size_t MessageTracker::count() const { return journal_->size(topic_) - next_; }

void MessageTracker::clear() { next_ = journal_->size(topic_); }

// ---- Tester -------------------------------------------------------------------

namespace {

using Journal = MessageTracker::Journal;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The producer of the partition processors: produces into the in-memory log
// and hands every record written (with its offset) to written before it
// forwards the delivery report to the processor that produced it.
class JournalingProducer final : public core::Producer, public core::DeliveryHandler {
 public:
  JournalingProducer(tester::MemoryLog& log, std::function<void(const Record&)> written)
      : written_(std::move(written)), inner_(log.producer(*this)) {}

  void produce(const std::string& topic, int32_t partition, const std::optional<std::string>& key,
               const std::optional<std::string>& value, const Headers& headers, int64_t timestamp,
               void* tag) override {
    if (timestamp == 0) timestamp = now_ms();
    auto pending = std::make_unique<Pending>();
    pending->record = Record{topic, partition, -1, timestamp, key, value, headers};
    pending->tag = tag;
    Pending* raw = pending.get();
    {
      std::lock_guard lock(mutex_);
      pending_.emplace(raw, std::move(pending));
    }
    try {
      inner_->produce(topic, partition, key, value, headers, timestamp, raw);
    } catch (...) {
      std::lock_guard lock(mutex_);
      pending_.erase(raw);
      throw;
    }
  }

  bool flush(std::chrono::milliseconds timeout) override { return inner_->flush(timeout); }

  void on_delivery(const Delivery& delivery, void* tag) noexcept override {
    std::unique_ptr<Pending> pending;
    {
      std::lock_guard lock(mutex_);
      auto it = pending_.find(static_cast<Pending*>(tag));
      pending = std::move(it->second);
      pending_.erase(it);
    }
    if (delivery.ok()) {
      pending->record.offset = delivery.offset;
      try {
        written_(pending->record);
      } catch (...) {  // std::bad_alloc: the journal misses a record, nothing worse
      }
    }
    core::PartitionProcessor::deliver(delivery, pending->tag);
  }

 private:
  struct Pending {
    Record record;
    void* tag = nullptr;
  };

  const std::function<void(const Record&)> written_;
  std::mutex mutex_;
  std::unordered_map<const Pending*, std::unique_ptr<Pending>> pending_;  // guarded by mutex_
  std::unique_ptr<core::Producer> inner_;  // last: delivers what it holds before pending_ goes
};

using TableStorages = std::vector<std::unique_ptr<Storage>>;  // one per partition

struct Group {
  std::unique_ptr<GroupGraph> graph;  // instance 0's; stable address: processors point to it
  std::vector<std::unique_ptr<GroupGraph>> instances;  // added by add_instance() (1, 2, ...)
  std::set<std::string, std::less<>> consumed;
  std::vector<std::unique_ptr<core::PartitionProcessor>> processors;  // one per partition
  std::vector<int> owners;  // per partition: the instance whose processor it is
  // Per consumed topic and partition: the next offset to process after a move.
  std::map<std::pair<std::string, int32_t>, int64_t> committed;
  // Processors of partitions moved away: deferred completions may still call them.
  std::vector<std::unique_ptr<core::PartitionProcessor>> retired;

  const GroupGraph& graph_of(int instance) const {
    return instance == 0 ? *graph : *instances[static_cast<std::size_t>(instance - 1)];
  }
  int instance_count() const { return static_cast<int>(instances.size()) + 1; }
};

// A record to process: by every group consuming its topic, or by only.
struct Queued {
  Record record;
  const Group* only = nullptr;
};

}  // namespace

struct Tester::State {
  explicit State(TesterOptions o) : options(o) {
    if (options.partitions < 1) {
      throw Error(Errc::usage, fmt::format("invalid partition count {}", options.partitions));
    }
    producer = std::make_unique<JournalingProducer>(*log, [this](const Record& r) { written(r); });
  }

  const TesterOptions options;
  const std::shared_ptr<tester::MemoryLog> log = std::make_shared<tester::MemoryLog>();
  const std::shared_ptr<Journal> journal = std::make_shared<Journal>();
  std::map<std::string, TableStorages, std::less<>> tables;
  std::unique_ptr<JournalingProducer> producer;
  std::vector<std::unique_ptr<Group>> groups;  // destroyed before the producer and tables
  std::deque<Queued> queue;                    // written to a consumed topic, not processed yet

  // A record is in the log: journal it, queue it when a group consumes it.
  void written(const Record& record) {
    journal->add(record);
    if (consumed(record.topic)) queue.push_back({record, nullptr});
  }

  bool consumed(std::string_view topic) const {
    return std::any_of(groups.begin(), groups.end(),
                       [topic](const auto& g) { return g->consumed.contains(topic); });
  }

  void ensure_topic(const std::string& topic) {
    if (!log->partitions(topic)) log->create_topic(topic, options.partitions);
  }

  TableStorages& table(const std::string& topic) {
    TableStorages& storages = tables[topic];
    while (storages.size() < static_cast<std::size_t>(options.partitions)) {
      storages.push_back(make_memory_storage());
    }
    return storages;
  }

  // The storages of table: a table topic, or a group's name.
  const TableStorages* find_table(std::string_view name) const {
    if (auto it = tables.find(name); it != tables.end()) return &it->second;
    for (const auto& group : groups) {
      if (group->graph->group() != name) continue;
      if (auto topic = group->graph->table_topic()) {
        if (auto it = tables.find(*topic); it != tables.end()) return &it->second;
      }
    }
    return nullptr;
  }

  const TableStorages& existing_table(std::string_view name) const {
    const TableStorages* storages = find_table(name);
    if (storages == nullptr) {
      throw Error(Errc::not_found, fmt::format("no table or group with a table named '{}'", name));
    }
    return *storages;
  }

  std::optional<std::string> lookup(const std::string& table_topic, std::string_view key) const {
    const TableStorages& storages = existing_table(table_topic);
    int32_t partition = partition_for(key, static_cast<int32_t>(storages.size()));
    return storages[static_cast<std::size_t>(partition)]->get(key);
  }

  // A processor of partition for its owner instance.
  std::unique_ptr<core::PartitionProcessor> make_processor(const Group& group, int32_t partition) {
    auto index = static_cast<std::size_t>(partition);
    const GroupGraph& graph = group.graph_of(group.owners[index]);
    core::PartitionProcessorConfig config;
    config.graph = &graph;
    config.partition = partition;
    if (auto topic = graph.table_topic()) config.table = table(*topic)[index].get();
    for (const std::string& topic : graph.joins()) config.joins[topic] = table(topic)[index].get();
    config.lookup = [this](const std::string& topic, std::string_view key) {
      return lookup(topic, key);
    };
    config.producer = producer.get();
    config.partition_count = [this](const std::string& topic) {
      std::optional<int32_t> count = log->partitions(topic);
      if (!count) throw Error(Errc::not_found, "topic does not exist", {.topic = topic});
      return *count;
    };
    return std::make_unique<core::PartitionProcessor>(std::move(config));
  }

  // Commits what processor completed of partition (for a later move()).
  static void fold_commits(Group& group, int32_t partition,
                           const core::PartitionProcessor& processor) {
    for (const auto& [topic, next] : processor.committable()) {
      int64_t& committed = group.committed[{topic, partition}];
      committed = std::max(committed, next);
    }
  }

  // Replaces a failed processor by a fresh one and drops what is queued.
  void reset(Group& group, int32_t partition) {
    queue.clear();
    auto& processor = group.processors[static_cast<std::size_t>(partition)];
    fold_commits(group, partition, *processor);
    processor = make_processor(group, partition);
  }

  // Throws the error of a processor that failed since the last call (a
  // deferred completion that failed late), after resetting it.
  void check_failed() {
    for (auto& group : groups) {
      for (std::size_t p = 0; p < group->processors.size(); ++p) {
        if (auto error = group->processors[p]->error()) {
          reset(*group, static_cast<int32_t>(p));
          throw *error;
        }
      }
    }
  }

  // Processes the queue until it is empty.
  void pump() {
    std::size_t processed = 0;
    while (!queue.empty()) {
      Queued queued = std::move(queue.front());
      queue.pop_front();
      const Record& record = queued.record;
      for (auto& group : groups) {
        if (!group->consumed.contains(record.topic)) continue;
        if (queued.only != nullptr && queued.only != group.get()) continue;
        if (++processed > options.max_messages) {
          queue.clear();
          throw Error(Errc::runtime,
                      fmt::format("consume() processed more than {} messages: do loopbacks or "
                                  "emits never end?",
                                  options.max_messages),
                      {record.topic, record.partition, record.offset, std::nullopt});
        }
        try {
          group->processors[static_cast<std::size_t>(record.partition)]->process(record);
        } catch (const Error&) {
          reset(*group, record.partition);
          throw;
        }
      }
    }
  }
};

Tester::Tester(TesterOptions options) : state_(std::make_unique<State>(options)) {}

Tester::Tester(GroupGraph graph, TesterOptions options) : Tester(options) { add(std::move(graph)); }

Tester::~Tester() = default;

Tester& Tester::add(GroupGraph graph) {
  graph.validate();
  State& s = *state_;
  for (const auto& group : s.groups) {
    if (group->graph->group() == graph.group()) {
      throw Error(Errc::usage, fmt::format("group '{}' was added before", graph.group()));
    }
  }
  auto group = std::make_unique<Group>();
  group->graph = std::make_unique<GroupGraph>(std::move(graph));
  const GroupGraph& g = *group->graph;

  for (const std::string& topic : g.input_topics()) {
    s.ensure_topic(topic);
    group->consumed.insert(topic);
  }
  if (auto topic = g.loop_topic()) {
    s.ensure_topic(*topic);
    group->consumed.insert(*topic);
  }
  if (auto topic = g.table_topic()) {
    s.ensure_topic(*topic);
    s.table(*topic);
  }
  for (const std::string& topic : g.joins()) s.table(topic);
  for (const std::string& topic : g.lookups()) s.table(topic);
  for (const std::string& topic : g.outputs()) s.ensure_topic(topic);

  group->owners.assign(static_cast<std::size_t>(s.options.partitions), 0);
  for (int32_t p = 0; p < s.options.partitions; ++p) {
    group->processors.push_back(s.make_processor(*group, p));
    for (const std::string& topic : group->consumed) {
      group->committed[{topic, p}] = s.log->watermarks(topic, p).high;
    }
  }
  s.groups.push_back(std::move(group));
  return *this;
}

void Tester::consume(const std::string& topic, std::string_view key,
                     std::optional<std::string_view> value, Headers headers, int64_t timestamp) {
  State& s = *state_;
  if (!s.consumed(topic)) {
    throw Error(Errc::usage, fmt::format("no group of the tester consumes topic '{}'", topic),
                {.topic = topic});
  }
  s.check_failed();
  Record record;
  record.topic = topic;
  record.partition = partition_for(key, *s.log->partitions(topic));
  record.timestamp = timestamp == 0 ? now_ms() : timestamp;
  record.key = std::string(key);
  if (value) record.value = std::string(*value);
  record.headers = std::move(headers);
  record.offset = s.log->append(topic, record.partition, record.key, record.value, record.headers,
                                record.timestamp);
  s.written(record);
  s.pump();
}

std::optional<std::string> Tester::table_value(const std::string& table,
                                               std::string_view key) const {
  const TableStorages& storages = state_->existing_table(table);
  int32_t partition = partition_for(key, static_cast<int32_t>(storages.size()));
  return storages[static_cast<std::size_t>(partition)]->get(key);
}

void Tester::set_table_value(const std::string& table, std::string_view key,
                             std::optional<std::string_view> value) {
  State& s = *state_;
  std::string topic = table;
  if (!s.tables.contains(table)) {
    for (const auto& group : s.groups) {
      if (group->graph->group() == table && group->graph->table_topic()) {
        topic = *group->graph->table_topic();
      }
    }
  }
  TableStorages& storages = s.table(topic);
  int32_t partition = partition_for(key, static_cast<int32_t>(storages.size()));
  Storage& storage = *storages[static_cast<std::size_t>(partition)];
  if (value) {
    storage.set(key, *value);
  } else {
    storage.erase(key);
  }
}

std::vector<std::string> Tester::table_keys(const std::string& table) const {
  std::vector<std::string> keys;
  for (const auto& storage : state_->existing_table(table)) {
    for (auto it = storage->iterator(); it->next();) keys.emplace_back(it->key());
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

MessageTracker Tester::tracker(const std::string& topic) const {
  return MessageTracker(state_->journal, topic, state_->journal->size(topic));
}

std::map<std::string, int64_t> Tester::committable(const std::string& group,
                                                   int32_t partition) const {
  for (const auto& g : state_->groups) {
    if (g->graph->group() != group) continue;
    if (partition < 0 || partition >= static_cast<int32_t>(g->processors.size())) {
      throw Error(Errc::not_found, fmt::format("group '{}' has no partition {}", group, partition));
    }
    return g->processors[static_cast<std::size_t>(partition)]->committable();
  }
  throw Error(Errc::not_found, fmt::format("no group named '{}'", group));
}

namespace {

Group& group_named(std::vector<std::unique_ptr<Group>>& groups, const std::string& name) {
  for (auto& group : groups) {
    if (group->graph->group() == name) return *group;
  }
  throw Error(Errc::not_found, fmt::format("no group named '{}'", name));
}

void check_partition(const Group& group, int32_t partition) {
  if (partition < 0 || partition >= static_cast<int32_t>(group.processors.size())) {
    throw Error(Errc::not_found,
                fmt::format("group '{}' has no partition {}", group.graph->group(), partition));
  }
}

// Whether other is an instance of group's graph: the same topics consumed,
// written and looked up (callbacks may differ).
bool same_topics(const GroupGraph& one, const GroupGraph& other) {
  return one.input_topics() == other.input_topics() && one.loop_topic() == other.loop_topic() &&
         one.table_topic() == other.table_topic() && one.joins() == other.joins() &&
         one.lookups() == other.lookups() && one.outputs() == other.outputs();
}

}  // namespace

int Tester::add_instance(GroupGraph graph) {
  graph.validate();
  Group& group = group_named(state_->groups, graph.group());
  if (!same_topics(*group.graph, graph)) {
    throw Error(Errc::usage, fmt::format("an instance of group '{}' must use the same topics",
                                         graph.group()));
  }
  group.instances.push_back(std::make_unique<GroupGraph>(std::move(graph)));
  return group.instance_count() - 1;
}

void Tester::move(const std::string& group_name, int32_t partition, int instance) {
  State& s = *state_;
  Group& group = group_named(s.groups, group_name);
  check_partition(group, partition);
  if (instance < 0 || instance >= group.instance_count()) {
    throw Error(Errc::not_found,
                fmt::format("group '{}' has no instance {}", group_name, instance));
  }
  auto index = static_cast<std::size_t>(partition);
  if (group.owners[index] == instance) return;
  s.check_failed();
  // Revoke: commit what the old owner completed, keep it for late completions.
  State::fold_commits(group, partition, *group.processors[index]);
  group.retired.push_back(std::move(group.processors[index]));
  group.owners[index] = instance;
  group.processors[index] = s.make_processor(group, partition);
  // Assign: the new owner processes everything after the commit.
  for (const std::string& topic : group.consumed) {
    int64_t from = group.committed[{topic, partition}];
    for (Record& record : s.log->records(topic, partition)) {
      if (record.offset >= from) s.queue.push_back({std::move(record), &group});
    }
  }
  s.pump();
}

int Tester::owner(const std::string& group_name, int32_t partition) const {
  Group& group = group_named(state_->groups, group_name);
  check_partition(group, partition);
  return group.owners[static_cast<std::size_t>(partition)];
}

}  // namespace goka
