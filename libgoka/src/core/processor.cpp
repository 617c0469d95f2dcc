#include "goka/processor.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>

#include "core/backend.hpp"
#include "core/log.hpp"
#include "core/partition_processor.hpp"
#include "core/storage_ref.hpp"
#include "core/worker_pool.hpp"
#include "goka/hasher.hpp"
#include "goka/topic_manager.hpp"

namespace goka {

namespace {

// One assigned partition number: its storages, recovery and processing.
struct Partition {
  int32_t number = 0;
  TableState state = TableState::recovering;
  std::shared_ptr<Storage> table;                         // the group table's, if any
  std::map<std::string, std::shared_ptr<Storage>> joins;  // per joined table
  std::unique_ptr<core::PartitionProcessor> processor;    // once recovered
  std::atomic<bool> revoked{false};
  std::atomic<int64_t> processed{0};
  std::atomic<int64_t> bytes{0};
  std::atomic<int64_t> queued{0};  // records handed to the pool, not processed yet
  std::chrono::steady_clock::time_point assigned_at = std::chrono::steady_clock::now();
  bool paused_for_backpressure = false;
  std::map<std::string, int64_t> committed;  // topic -> next offset committed (mutex_)
  int64_t table_recovered_high = -1;         // the table's high watermark when recovered
};

StorageBuilder memory_or(const StorageBuilder& builder) {
  return builder ? builder : memory_storage_builder();
}

}  // namespace

class Processor::Impl final : public core::RebalanceHandler, public core::DeliveryHandler {
 public:
  Impl(GroupGraph graph, ProcessorOptions options, std::shared_ptr<core::Backend> backend)
      : graph_(std::move(graph)), options_(std::move(options)), backend_(std::move(backend)) {
    graph_.validate();
  }

  ~Impl() override { stop(); }

  void run();
  void stop() { stopping_ = true; }

  std::optional<std::string> get(std::string_view key) const {
    std::lock_guard lock(mutex_);
    if (partition_count_ <= 0) return std::nullopt;
    auto it = partitions_.find(partition_for(key, partition_count_));
    if (it == partitions_.end() || it->second->state != TableState::running || !it->second->table) {
      return std::nullopt;
    }
    return it->second->table->get(key);
  }

  std::optional<std::string> get(std::string_view table, std::string_view key) const {
    if (table == graph_.table_topic()) return get(key);
    std::lock_guard lock(mutex_);
    if (auto it = lookups_.find(table); it != lookups_.end()) {
      if (!it->second->recovered()) return std::nullopt;
      return it->second->get(key);
    }
    const std::vector<std::string> joins = graph_.joins();
    if (std::find(joins.begin(), joins.end(), table) == joins.end()) {
      const std::vector<std::string> lookups = graph_.lookups();
      if (std::find(lookups.begin(), lookups.end(), table) != lookups.end()) return std::nullopt;
      throw Error(Errc::not_found, "the processor holds no such table",
                  {.topic = std::string(table), .detail = graph_.group()});
    }
    if (partition_count_ <= 0) return std::nullopt;
    auto it = partitions_.find(partition_for(key, partition_count_));
    if (it == partitions_.end() || it->second->state != TableState::running) return std::nullopt;
    return it->second->joins.at(std::string(table))->get(key);
  }

  bool recovered() const {
    std::lock_guard lock(mutex_);
    if (!joined_) return false;
    for (const auto& [p, part] : partitions_) {
      if (part->state != TableState::running) return false;
    }
    return true;
  }

  ProcessorStats stats() const {
    ProcessorStats out;
    out.group = graph_.group();
    {
      std::lock_guard lock(mutex_);
      auto now = std::chrono::steady_clock::now();
      for (const auto& [p, part] : partitions_) {
        ProcessorPartitionStats& st = out.partitions.emplace_back();
        st.partition = p;
        st.state = part->state;
        st.processed = part->processed.load();
        st.bytes = part->bytes.load();
        double seconds = std::chrono::duration<double>(now - part->assigned_at).count();
        st.rate = seconds > 0 ? static_cast<double>(st.processed) / seconds : 0;
        st.committed = part->committed;
        // Watermarks as the consumer's last fetch saw them: statistics
        // never wait for the cluster (a broker down must not stall them).
        for (const auto& topic : consumed_) {
          if (auto high = consumer_->fetched_high_watermark(topic, p)) {
            st.high_watermark[topic] = *high;
            auto it = st.committed.find(topic);
            st.lag[topic] = *high - (it == st.committed.end() ? 0 : it->second);
          }
        }
        if (part->table && part->state == TableState::running) {
          st.table_offset = part->table->get_offset().value_or(-1);
          // The group alone writes its table: its end is past the newest
          // acknowledged write, or where recovery found it.
          st.table_high_watermark = std::max(part->table_recovered_high, st.table_offset + 1);
        }
      }
      for (const auto& [table, view] : lookups_) out.lookups.push_back(view->stats());
    }
    out.commit_errors = commit_errors_.load();
    return out;
  }

  // core::DeliveryHandler: outputs of messages, on the producer's thread.
  void on_delivery(const Delivery& delivery, void* tag) noexcept override {
    core::PartitionProcessor::deliver(delivery, tag);
  }

  // core::RebalanceHandler, on the run() thread inside poll().
  void on_assigned(const std::vector<core::TopicPartition>& assigned) override;
  void on_revoked(const std::vector<core::TopicPartition>& revoked) override;

 private:
  void prepare_topics();
  void start_lookups();
  void start_recovery();
  void finish_recovery();
  void dispatch(std::vector<Record>& records);
  void commit(bool final);
  void check_backpressure();
  void fail(const Error& error);
  void log(LogLevel level, const std::string& line) const;
  std::vector<core::TopicPartition> inputs_of(int32_t partition) const;

  GroupGraph graph_;
  ProcessorOptions options_;
  std::shared_ptr<core::Backend> backend_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> ran_{false};

  std::vector<std::string> consumed_;  // input topics and the loop topic
  int32_t partition_count_ = 0;        // of the co-partitioned topics
  std::map<std::string, std::unique_ptr<View>, std::less<>> lookups_;  // mutex_ to change
  std::unique_ptr<core::WorkerPool> pool_;
  std::unique_ptr<core::Producer> producer_;
  std::unique_ptr<core::GroupConsumer> consumer_;
  std::vector<std::unique_ptr<core::PartitionProcessor>> retired_;  // awaiting deliveries

  // Recovery of the partitions assigned last: the group table read to its
  // end, the joined tables followed from then on.
  std::unique_ptr<View> table_recovery_;
  std::map<std::string, std::unique_ptr<View>> join_views_;
  std::vector<int32_t> recovering_;

  mutable std::mutex mutex_;  // guards partitions_ and joined_ for readers
  std::map<int32_t, std::unique_ptr<Partition>> partitions_;
  bool joined_ = false;
  std::atomic<int64_t> commit_errors_{0};

  std::mutex error_mutex_;
  std::optional<Error> error_;
};

void Processor::Impl::log(LogLevel level, const std::string& line) const {
  core::log(options_.client, level, line);
}

void Processor::Impl::fail(const Error& error) {
  std::lock_guard lock(error_mutex_);
  if (!error_) error_ = error;
  stopping_ = true;
}

void Processor::Impl::prepare_topics() {
  TopicManager topics(backend_);
  std::vector<std::string> copartitioned = graph_.input_topics();
  for (const auto& join : graph_.joins()) copartitioned.push_back(join);
  partition_count_ = topics.check_copartitioned(copartitioned);
  if (auto table = graph_.table_topic()) topics.ensure_table(*table, partition_count_);
  if (auto loop = graph_.loop_topic()) topics.ensure_stream(*loop, partition_count_);
  consumed_ = graph_.input_topics();
  if (auto loop = graph_.loop_topic()) consumed_.push_back(*loop);
}

void Processor::Impl::start_lookups() {
  for (const auto& table : graph_.lookups()) {
    ViewOptions vo;
    vo.storage = memory_or(options_.storage);
    vo.client = core::with_group(options_.client, graph_.group());
    auto view = std::make_unique<View>(table, vo, backend_);
    view->start();
    std::lock_guard lock(mutex_);
    lookups_[table] = std::move(view);
  }
  for (auto& [table, view] : lookups_) {
    while (!view->wait_recovered(std::chrono::milliseconds(100))) {
      if (stopping_) return;
    }
  }
}

std::vector<core::TopicPartition> Processor::Impl::inputs_of(int32_t partition) const {
  std::vector<core::TopicPartition> out;
  for (const auto& topic : consumed_) out.push_back({topic, partition, -1});
  return out;
}

void Processor::Impl::on_assigned(const std::vector<core::TopicPartition>& assigned) {
  std::set<int32_t> numbers;
  for (const auto& tp : assigned) numbers.insert(tp.partition);
  // What the group committed before: stats report it until new commits.
  std::vector<core::TopicPartition> committed = consumer_->committed(assigned);
  {
    std::lock_guard lock(mutex_);
    for (int32_t p : numbers) {
      auto part = std::make_unique<Partition>();
      part->number = p;
      if (auto table = graph_.table_topic()) {
        part->table = std::shared_ptr<Storage>(memory_or(options_.storage)(*table, p));
      }
      for (const auto& join : graph_.joins()) {
        part->joins[join] = std::shared_ptr<Storage>(memory_or(options_.storage)(join, p));
      }
      partitions_[p] = std::move(part);
    }
    for (const auto& tp : committed) {
      if (tp.offset >= 0) partitions_.at(tp.partition)->committed[tp.topic] = tp.offset;
    }
    joined_ = true;
  }
  for (const auto& tp : assigned) {
    std::string from = "nothing committed";
    for (const auto& c : committed) {
      if (c.topic == tp.topic && c.partition == tp.partition && c.offset >= 0) {
        from = fmt::format("committed offset {}", c.offset);
      }
    }
    log(LogLevel::info,
        core::event_prefix(graph_.group(), tp.topic, tp.partition) + "assigned, " + from);
  }
  recovering_.assign(numbers.begin(), numbers.end());
  start_recovery();
  if (options_.on_rebalance) options_.on_rebalance(recovering_, {});
}

void Processor::Impl::start_recovery() {
  if (recovering_.empty()) return;
  // A storage builder handing out references to the partitions' storages.
  auto refs = [this](const std::string& topic) {
    return [this, topic](const std::string&, int32_t p) -> std::unique_ptr<Storage> {
      Partition& part = *partitions_.at(p);
      std::shared_ptr<Storage> target =
          topic == graph_.table_topic() ? part.table : part.joins.at(topic);
      return std::make_unique<core::StorageRef>(target);
    };
  };
  ViewOptions vo;
  vo.client = core::with_group(options_.client, graph_.group());
  vo.partitions = recovering_;
  if (auto table = graph_.table_topic()) {
    vo.storage = refs(*table);
    vo.follow = false;  // the processor alone writes its table
    table_recovery_ = std::make_unique<View>(*table, vo, backend_);
    table_recovery_->start();
  }
  for (const auto& join : graph_.joins()) {
    vo.storage = refs(join);
    vo.follow = true;  // joined tables keep following
    join_views_[join] = std::make_unique<View>(join, vo, backend_);
    join_views_[join]->start();
  }
}

// Called by the poll loop: once every table of the partitions being
// recovered is recovered, they start processing.
void Processor::Impl::finish_recovery() {
  if (recovering_.empty()) return;
  if (table_recovery_) {
    if (auto e = table_recovery_->error()) throw *e;
    if (!table_recovery_->recovered()) return;
  }
  for (auto& [join, view] : join_views_) {
    if (auto e = view->error()) throw *e;
    if (!view->recovered()) return;
  }
  std::map<int32_t, int64_t> table_highs;
  if (table_recovery_) {
    table_recovery_->wait();
    for (const PartitionStats& s : table_recovery_->stats().partitions) {
      table_highs[s.partition] = s.high_watermark;
    }
    table_recovery_.reset();
  }
  std::vector<core::TopicPartition> resume;
  {
    std::lock_guard lock(mutex_);
    for (int32_t p : recovering_) {
      Partition& part = *partitions_.at(p);
      core::PartitionProcessorConfig config;
      config.graph = &graph_;
      config.partition = p;
      config.table = part.table.get();
      for (const auto& [join, storage] : part.joins) config.joins[join] = storage.get();
      config.lookup = [this](const std::string& table, std::string_view key) {
        return lookups_.at(table)->get(key);
      };
      config.producer = producer_.get();
      config.partition_count = [this](const std::string& topic) {
        return TopicManager(backend_).partitions(topic);
      };
      part.processor = std::make_unique<core::PartitionProcessor>(config);
      if (auto high = table_highs.find(p); high != table_highs.end()) {
        part.table_recovered_high = high->second;
      }
      part.state = TableState::running;
      log(LogLevel::info, core::event_prefix(graph_.group(), "", p) + "recovered, processing");
      auto inputs = inputs_of(p);
      resume.insert(resume.end(), inputs.begin(), inputs.end());
    }
  }
  recovering_.clear();
  consumer_->resume(resume);
}

void Processor::Impl::on_revoked(const std::vector<core::TopicPartition>& revoked) {
  std::set<int32_t> numbers;
  for (const auto& tp : revoked) numbers.insert(tp.partition);
  // Stop what was queued, let running callbacks end, wait for their outputs,
  // then commit what completed.
  for (int32_t p : numbers) {
    auto it = partitions_.find(p);
    if (it != partitions_.end()) it->second->revoked = true;
  }
  for (int32_t p : numbers) pool_->wait_idle(p);
  std::vector<std::unique_ptr<core::PartitionProcessor>> undrained;
  for (int32_t p : numbers) {
    auto it = partitions_.find(p);
    if (it != partitions_.end() && it->second->processor &&
        !it->second->processor->drain(backend_->timeout())) {
      undrained.push_back(std::move(it->second->processor));
    }
  }
  commit(true);
  // Outputs still unacknowledged report to their processor later: it lives
  // until the producer is gone.
  for (auto& processor : undrained) retired_.push_back(std::move(processor));
  table_recovery_.reset();
  join_views_.clear();
  recovering_.clear();
  for (const auto& tp : revoked) {
    std::string done = "nothing committed";
    if (auto it = partitions_.find(tp.partition); it != partitions_.end()) {
      if (auto c = it->second->committed.find(tp.topic); c != it->second->committed.end()) {
        done = fmt::format("committed offset {}", c->second);
      }
    }
    log(LogLevel::info,
        core::event_prefix(graph_.group(), tp.topic, tp.partition) + "revoked, " + done);
  }
  std::vector<int32_t> gone(numbers.begin(), numbers.end());
  {
    std::lock_guard lock(mutex_);
    for (int32_t p : numbers) partitions_.erase(p);
    joined_ = false;  // until the next assignment
  }
  // Partitions still owned (none with the eager protocol) keep their joins.
  if (options_.on_rebalance) options_.on_rebalance({}, gone);
}

void Processor::Impl::dispatch(std::vector<Record>& records) {
  // One task per partition and poll: a partition's records stay in order and
  // the pool is not entered once per record.
  std::map<int32_t, std::shared_ptr<std::vector<Record>>> batches;
  for (Record& record : records) {
    auto it = partitions_.find(record.partition);
    if (it == partitions_.end() || !it->second->processor) continue;  // not ours (any more)
    auto& batch = batches[record.partition];
    if (!batch) batch = std::make_shared<std::vector<Record>>();
    batch->push_back(std::move(record));
  }
  records.clear();
  for (auto& [p, batch] : batches) {
    Partition* part = partitions_.at(p).get();
    part->queued.fetch_add(static_cast<int64_t>(batch->size()), std::memory_order_relaxed);
    pool_->post(p, [this, part, batch = std::move(batch)] {
      for (const Record& r : *batch) {
        part->queued.fetch_sub(1, std::memory_order_relaxed);
        if (part->revoked || stopping_) continue;
        try {
          part->processor->process(r);
          part->processed.fetch_add(1, std::memory_order_relaxed);
          part->bytes.fetch_add(
              static_cast<int64_t>((r.key ? r.key->size() : 0) + (r.value ? r.value->size() : 0)),
              std::memory_order_relaxed);
        } catch (const Error& e) {
          fail(e);
        } catch (const std::exception& e) {
          fail(Error(Errc::runtime, e.what(),
                     {.topic = r.topic, .partition = r.partition, .offset = r.offset}));
        }
      }
    });
  }
}

void Processor::Impl::check_backpressure() {
  std::vector<core::TopicPartition> pause, resume;
  for (auto& [p, part] : partitions_) {
    if (!part->processor) continue;
    auto queued = static_cast<size_t>(part->queued.load(std::memory_order_relaxed));
    if (!part->paused_for_backpressure && queued > options_.max_buffered) {
      part->paused_for_backpressure = true;
      auto inputs = inputs_of(p);
      pause.insert(pause.end(), inputs.begin(), inputs.end());
    } else if (part->paused_for_backpressure && queued < options_.max_buffered / 2) {
      part->paused_for_backpressure = false;
      auto inputs = inputs_of(p);
      resume.insert(resume.end(), inputs.begin(), inputs.end());
    }
  }
  consumer_->pause(pause);
  consumer_->resume(resume);
}

void Processor::Impl::commit(bool final) {
  std::vector<core::TopicPartition> offsets;
  for (auto& [p, part] : partitions_) {
    if (!part->processor) continue;
    if (auto e = part->processor->error()) fail(*e);
    for (const auto& [topic, next] : part->processor->committable()) {
      auto done = part->committed.find(topic);
      if (done == part->committed.end() || next > done->second) offsets.push_back({topic, p, next});
    }
  }
  if (offsets.empty()) return;
  try {
    consumer_->commit(offsets);
  } catch (const Error& e) {
    ++commit_errors_;
    // A commit refused during a rebalance loses nothing: the new owner
    // processes those messages again (at least once).
    for (const auto& tp : offsets) {
      log(LogLevel::warning,
          core::event_prefix(graph_.group(), tp.topic, tp.partition) +
              fmt::format("commit of offset {} refused: {}{}", tp.offset, e.message(),
                          final ? "; the next owner processes those messages again" : ""));
    }
    return;
  }
  std::lock_guard lock(mutex_);
  for (const auto& tp : offsets) partitions_.at(tp.partition)->committed[tp.topic] = tp.offset;
}

void Processor::Impl::run() {
  if (ran_.exchange(true))
    throw Error(Errc::usage, "a processor runs once", {.detail = graph_.group()});
  prepare_topics();
  start_lookups();
  pool_ = std::make_unique<core::WorkerPool>(options_.threads);
  producer_ = backend_->producer(*this);
  consumer_ = backend_->group_consumer(
      graph_.group(),
      options_.start_at_latest ? core::StartPolicy::latest : core::StartPolicy::earliest, *this);
  consumer_->subscribe(consumed_);
  std::vector<Record> records;
  auto last_commit = std::chrono::steady_clock::now();
  try {
    while (!stopping_) {
      consumer_->poll(records, std::chrono::milliseconds(50));
      dispatch(records);
      finish_recovery();
      check_backpressure();
      for (auto& [table, view] : lookups_) {
        if (auto e = view->error()) fail(*e);
      }
      if (std::chrono::steady_clock::now() - last_commit >= options_.commit_interval) {
        commit(false);
        last_commit = std::chrono::steady_clock::now();
      }
    }
  } catch (const Error& e) {
    fail(e);
  }
  // Leaving: revoking everything finishes, drains and commits.
  try {
    consumer_->close();
  } catch (const Error& e) {
    fail(e);
  }
  pool_.reset();
  producer_.reset();
  retired_.clear();
  for (auto& [table, view] : lookups_) view->stop();
  {
    std::lock_guard lock(mutex_);
    lookups_.clear();
  }
  std::lock_guard lock(error_mutex_);
  if (error_) throw *error_;
}

Processor::Processor(GroupGraph graph, ProcessorOptions options)
    : Processor(graph, options,
                core::kafka_backend(core::with_group(options.client, graph.group()))) {}

Processor::Processor(GroupGraph graph, ProcessorOptions options,
                     std::shared_ptr<core::Backend> backend)
    : impl_(std::make_unique<Impl>(std::move(graph), std::move(options), std::move(backend))) {}

Processor::~Processor() = default;

void Processor::run() { impl_->run(); }
void Processor::stop() { impl_->stop(); }
std::optional<std::string> Processor::get(std::string_view key) const { return impl_->get(key); }
std::optional<std::string> Processor::get(std::string_view table, std::string_view key) const {
  return impl_->get(table, key);
}
bool Processor::recovered() const { return impl_->recovered(); }
ProcessorStats Processor::stats() const { return impl_->stats(); }

}  // namespace goka
