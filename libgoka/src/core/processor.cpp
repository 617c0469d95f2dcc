#include "goka/processor.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include "core/processor_impl.hpp"

namespace goka {

namespace {

StorageBuilder memory_or(const StorageBuilder& builder) {
  return builder ? builder : memory_storage_builder();
}

// The transactional.id of an exactly-once instance (see
// ProcessorOptions::transactional_id).
std::string transactional_id_of(const ProcessorOptions& options, const std::string& group) {
  if (!options.transactional_id.empty()) return options.transactional_id;
  if (auto it = options.client.properties.find("transactional.id");
      it != options.client.properties.end()) {
    return it->second;
  }
  char host[256] = "";
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return group;
  return group + "-" + host;
}

}  // namespace

std::optional<std::string> Processor::Impl::get(std::string_view table,
                                                std::string_view key) const {
  std::lock_guard lock(mutex_);
  if (table == graph_.table_topic()) {
    const PartitionSlot* slot = running_slot(key);
    if (slot == nullptr || !slot->table) return std::nullopt;
    return slot->table->get(key);
  }
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
  const PartitionSlot* slot = running_slot(key);
  if (slot == nullptr) return std::nullopt;
  return slot->joins.at(std::string(table))->get(key);
}

// REQUIRES: mutex_ held.
const core::PartitionSlot* Processor::Impl::running_slot(std::string_view key) const {
  if (partition_count_ <= 0) return nullptr;
  auto it = slots_.find(partition_for(key, partition_count_));
  if (it == slots_.end() || it->second->state != TableState::running) return nullptr;
  return it->second.get();
}

bool Processor::Impl::recovered() const {
  std::lock_guard lock(mutex_);
  if (!joined_) return false;
  for (const auto& [p, slot] : slots_) {
    if (slot->state != TableState::running) return false;
  }
  return true;
}

ProcessorStats Processor::Impl::stats() const {
  ProcessorStats out;
  out.group = graph_.group();
  {
    std::lock_guard lock(mutex_);
    auto now = Clock::now();
    for (const auto& [p, slot] : slots_) {
      out.partitions.push_back(core::slot_stats(*slot, *consumer_, consumed_, start_policy(), now));
    }
    for (const auto& [table, view] : lookups_) out.lookups.push_back(view->stats());
    if (const core::Transaction* txn = transaction_.get()) {
      core::TransactionStats t = txn->stats();
      out.transactions_committed = t.committed;
      out.transactions_aborted = t.aborted;
      out.last_commit_ms = t.last_commit_ms;
    }
  }
  out.commit_errors = commit_errors_.load();
  out.exactly_once = exactly_once();
  return out;
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

// Before the first record, the partition counts of the topics written are
// learnt once (instead of once per partition processor: a metadata request
// each, which delayed the first outputs by up to a second), and the producer
// learns their partitions (a record of a topic it does not know yet waits
// for its metadata: hundreds of ms on a real cluster, and under exactly once
// the whole first transaction waits with it). A topic missing now is left
// to the partition processors (which fail naming it).
void Processor::Impl::prepare_outputs() {
  std::vector<std::string> topics = graph_.outputs();
  if (auto table = graph_.table_topic()) topics.push_back(*table);
  if (auto loop = graph_.loop_topic()) topics.push_back(*loop);
  for (const auto& topic : topics) {
    std::optional<int32_t> count = backend_->admin().partitions(topic);
    if (!count) continue;
    {
      std::lock_guard lock(counts_mutex_);
      partition_counts_[topic] = *count;
    }
    producer_->prepare(topic);
  }
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
  // A partition assigned again whose earlier slot still waits for
  // acknowledgements: its storages are open, so wait for them first.
  auto still_retired = [&]() -> const PartitionSlot* {
    prune_retired();
    for (const auto& slot : retired_) {
      if (numbers.contains(slot->number)) return slot.get();
    }
    return nullptr;
  };
  if (still_retired()) {
    producer_->flush(backend_->timeout());
    if (const PartitionSlot* slot = still_retired()) {
      throw Error(Errc::runtime,
                  "outputs of the partition's previous assignment are still unacknowledged",
                  {.partition = slot->number, .detail = "group " + graph_.group()});
    }
  }
  // What the group committed before: stats report it until new commits.
  std::vector<core::TopicPartition> committed = consumer_->committed(assigned);
  std::map<int32_t, PartitionSlot*> recovering;
  {
    std::lock_guard lock(mutex_);
    StorageBuilder build = memory_or(options_.storage);
    for (int32_t p : numbers) {
      std::shared_ptr<Storage> table;
      if (auto topic = graph_.table_topic()) table = build(*topic, p);
      std::map<std::string, std::shared_ptr<Storage>> joins;
      for (const auto& join : graph_.joins()) joins[join] = build(join, p);
      auto slot = std::make_unique<PartitionSlot>(p, std::move(table), std::move(joins));
      recovering[p] = slot.get();
      slots_[p] = std::move(slot);
    }
    for (const auto& tp : committed) {
      if (tp.offset >= 0) slots_.at(tp.partition)->committed[tp.topic] = tp.offset;
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
  if (!recovering.empty()) {
    recovery_ = std::make_unique<core::TableRecovery>(graph_, options_.client, backend_, recovering);
    pending_ = true;
  }
  if (options_.on_rebalance) options_.on_rebalance({numbers.begin(), numbers.end()}, {});
}

std::unique_ptr<core::PartitionProcessor> Processor::Impl::make_processor(PartitionSlot& slot) {
  core::PartitionProcessorConfig config;
  config.graph = &graph_;
  config.partition = slot.number;
  config.table = slot.table.get();
  for (const auto& [join, storage] : slot.joins) config.joins[join] = storage.get();
  config.lookup = [this](const std::string& table, std::string_view key) {
    return lookups_.at(table)->get(key);
  };
  config.producer = producer_.get();
  if (exactly_once()) {
    if (!slot.lane) slot.lane = gate_->lane(epoch_);
    config.producer = slot.lane.get();
  }
  config.partition_count = [this](const std::string& topic) {
    {
      std::lock_guard lock(counts_mutex_);
      if (auto it = partition_counts_.find(topic); it != partition_counts_.end()) return it->second;
    }
    return TopicManager(backend_).partitions(topic);
  };
  // The overlay: written to storage after each batch (at least once) or
  // when the transaction commits (exactly once).
  config.batch_writes = true;
  return std::make_unique<core::PartitionProcessor>(std::move(config));
}

// Called by the run loop: once every table of the partitions assigned last
// is recovered, they start processing from their committed offsets.
void Processor::Impl::start_recovered() {
  if (!recovery_) return;
  recovery_->check();  // also a joined table failing after recovery
  if (!pending_ || !recovery_->recovered()) return;
  std::map<int32_t, int64_t> table_highs = recovery_->table_high_watermarks();
  std::vector<core::TopicPartition> resume;
  std::lock_guard lock(mutex_);
  for (auto& [p, slot] : slots_) {
    if (slot->processor) continue;
    slot->processor = make_processor(*slot);
    if (auto high = table_highs.find(p); high != table_highs.end()) {
      slot->table_recovered_high = high->second;
    }
    slot->state = TableState::running;
    log(LogLevel::info, core::event_prefix(graph_.group(), "", p) + "recovered, processing");
    auto inputs = inputs_of(p);
    resume.insert(resume.end(), inputs.begin(), inputs.end());
  }
  pending_ = false;
  consumer_->resume(resume);
}

// Waits for the slots' tasks to end and their outputs to be acknowledged,
// all under one deadline, and writes their storages.
void Processor::Impl::drain(const std::set<int32_t>& numbers) {
  for (int32_t p : numbers) {
    if (auto it = slots_.find(p); it != slots_.end()) it->second->revoked = true;
  }
  for (int32_t p : numbers) pool_->wait_idle(p);
  auto deadline = Clock::now() + backend_->timeout();
  for (int32_t p : numbers) {
    auto it = slots_.find(p);
    if (it == slots_.end() || !it->second->processor) continue;
    // Exactly once: the transaction waits for them (records held back for
    // the next one are only produced once the one being committed is).
    if (exactly_once()) continue;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    it->second->processor->drain(std::max(left, std::chrono::milliseconds(0)));
    try {
      it->second->processor->flush();
    } catch (const Error& e) {
      fail(e);
    }
  }
}

void Processor::Impl::on_revoked(const std::vector<core::TopicPartition>& revoked) {
  std::set<int32_t> numbers;
  for (const auto& tp : revoked) numbers.insert(tp.partition);
  // Stop what was queued, let running callbacks end, wait for their
  // outputs, then commit what completed.
  revoking_ = true;
  drain(numbers);
  commit(true);
  revoking_ = false;
  recovery_.reset();
  pending_ = false;
  for (const auto& tp : revoked) {
    std::string done = "nothing committed";
    if (auto it = slots_.find(tp.partition); it != slots_.end()) {
      if (auto c = it->second->committed.find(tp.topic); c != it->second->committed.end()) {
        done = fmt::format("committed offset {}", c->second);
      }
    }
    log(LogLevel::info,
        core::event_prefix(graph_.group(), tp.topic, tp.partition) + "revoked, " + done);
  }
  {
    std::lock_guard lock(mutex_);
    for (int32_t p : numbers) {
      auto it = slots_.find(p);
      if (it == slots_.end()) continue;
      // Outputs still unacknowledged report to the slot's processor later,
      // and their table offsets into its storage: the slot stays.
      if (it->second->processor && it->second->processor->deliveries() > 0) {
        retired_.push_back(std::move(it->second));
      }
      slots_.erase(it);
    }
    joined_ = false;  // until the next assignment
  }
  if (options_.on_rebalance) options_.on_rebalance({}, {numbers.begin(), numbers.end()});
}

void Processor::Impl::prune_retired() {
  std::erase_if(retired_, [this](const std::unique_ptr<PartitionSlot>& slot) {
    if (slot->processor->deliveries() > 0) return false;
    try {
      slot->processor->flush();
    } catch (const Error& e) {
      fail(e);
    }
    return true;
  });
}

void Processor::Impl::dispatch(std::vector<Record>& records) {
  // One task per partition and poll: a partition's records stay in order and
  // the pool is not entered once per record. Records are not moved: each
  // task reads its partition's runs of the polled vector.
  auto polled = std::make_shared<std::vector<Record>>();
  polled->swap(records);
  records.reserve(polled->size());  // the next poll's records grow in place
  std::map<int32_t, Batch> batches;
  {
    std::lock_guard lock(mutex_);
    int32_t partition = -1;
    PartitionSlot* slot = nullptr;  // null: not ours (any more)
    Batch* batch = nullptr;         // null: the previous record is not in a run of slot
    for (std::size_t i = 0; i < polled->size(); ++i) {
      const Record& record = (*polled)[i];
      if (record.partition != partition) {  // records come in runs of one partition
        partition = record.partition;
        auto it = slots_.find(partition);
        slot = it != slots_.end() && it->second->processor ? it->second.get() : nullptr;
        batch = nullptr;
      }
      if (slot == nullptr || !slot->accept(record)) {  // accept: not delivered again
        batch = nullptr;
        continue;
      }
      if (batch == nullptr) {
        batch = &batches[partition];
        batch->runs.emplace_back(i, i);
      }
      batch->runs.back().second = i + 1;
      ++batch->size;
    }
  }
  if (exactly_once() && !batches.empty()) {
    if (cut_) {
      next_dispatched_ = true;  // held back until the cut transaction commits
    } else {
      open_transaction();
    }
  }
  for (auto& [p, batch] : batches) {
    PartitionSlot* slot = slots_.at(p).get();
    slot->queued.fetch_add(static_cast<int64_t>(batch.size), std::memory_order_relaxed);
    buffer_.added(batch.size);
    batch.polled = polled;
    pool_->post(p, [this, slot, batch = std::move(batch)] { process_batch(*slot, batch); });
  }
}

// A task of the pool: the slot lives until its lane is idle (drain()).
void Processor::Impl::process_batch(PartitionSlot& slot, const Batch& batch) {
  const Record* current = nullptr;
  try {
    for (auto [begin, end] : batch.runs) {
      for (std::size_t i = begin; i < end && !slot.revoked && !stopping_; ++i) {
        const Record& r = (*batch.polled)[i];
        current = &r;
        slot.processor->process(r);
        slot.processed.fetch_add(1, std::memory_order_relaxed);
        slot.bytes.fetch_add(
            static_cast<int64_t>((r.key ? r.key->size() : 0) + (r.value ? r.value->size() : 0)),
            std::memory_order_relaxed);
      }
    }
    current = nullptr;
    if (!exactly_once()) slot.processor->flush();
  } catch (const Error& e) {
    if (exactly_once() && core::abortable(e)) {
      abort_requested_ = true;  // the run thread aborts and rewinds
    } else {
      fail(e);
    }
  } catch (const std::exception& e) {
    ErrorContext where{.partition = slot.number};
    if (current) where = {current->topic, current->partition, current->offset, std::nullopt};
    fail(Error(Errc::runtime, e.what(), where));
  }
  // Processed or not, the batch no longer waits in the pool.
  slot.queued.fetch_sub(static_cast<int64_t>(batch.size), std::memory_order_relaxed);
  buffer_.done(batch.size);
}

void Processor::Impl::check_backpressure() {
  std::vector<core::TopicPartition> pause, resume;
  std::lock_guard lock(mutex_);
  for (auto& [p, slot] : slots_) {
    if (!slot->processor) continue;
    auto queued = static_cast<size_t>(slot->queued.load(std::memory_order_relaxed));
    if (!slot->paused_for_backpressure && queued > options_.max_buffered) {
      slot->paused_for_backpressure = true;
      auto inputs = inputs_of(p);
      pause.insert(pause.end(), inputs.begin(), inputs.end());
    } else if (slot->paused_for_backpressure && queued < options_.max_buffered / 2) {
      slot->paused_for_backpressure = false;
      // Right after the last record handed over, whatever the consumer
      // would resume from.
      for (auto tp : inputs_of(p)) {
        if (auto next = slot->next.find(tp.topic); next != slot->next.end()) tp.offset = next->second;
        resume.push_back(std::move(tp));
      }
    }
  }
  consumer_->pause(pause);
  consumer_->resume(resume);
}

// The offset to commit when everything before next is done: past the
// transaction markers that follow it, once everything handed over is done
// and the consumer passed them (else a group reading a topic written in
// transactions would keep a lag of 1 per transaction forever).
int64_t Processor::Impl::past_markers(const PartitionSlot& slot, const std::string& topic,
                                      int64_t next) const {
  // Not while revoking: records polled before the rebalance callback are
  // past the position but never handed over.
  if (revoking_) return next;
  auto handed = slot.next.find(topic);
  if (handed == slot.next.end() || handed->second != next) return next;
  std::optional<int64_t> position = consumer_->position(topic, slot.number);
  return position ? std::max(next, *position) : next;
}

void Processor::Impl::commit(bool final) {
  if (exactly_once()) {
    end_transaction();
    return;
  }
  std::vector<core::TopicPartition> offsets;
  for (auto& [p, slot] : slots_) {
    if (!slot->processor) continue;
    if (auto e = slot->processor->error()) fail(*e);
    for (const auto& [topic, next] : slot->processor->committable()) {
      int64_t at = past_markers(*slot, topic, next);
      auto done = slot->committed.find(topic);
      if (done == slot->committed.end() || at > done->second) offsets.push_back({topic, p, at});
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
  for (const auto& tp : offsets) slots_.at(tp.partition)->committed[tp.topic] = tp.offset;
}

void Processor::Impl::loop() {
  std::vector<Record> records;
  auto last_commit = Clock::now();
  while (!stopping_) {
    // While a transaction commits, its progress is checked between polls.
    auto wait = std::chrono::milliseconds(cut_ ? 5 : 50);
    if (buffer_.full()) {
      buffer_.wait_for_room(wait);
    } else {
      consumer_->poll(records, wait);
      dispatch(records);
    }
    start_recovered();
    check_backpressure();
    for (auto& [table, view] : lookups_) {
      if (auto e = view->error()) fail(*e);
    }
    if (exactly_once()) {
      pace_transactions();
    } else if (Clock::now() - last_commit >= options_.commit_interval) {
      commit(false);
      prune_retired();
      last_commit = Clock::now();
    }
  }
}

// Leaving: revoking everything finishes, drains and commits.
void Processor::Impl::leave() {
  if (consumer_) {
    try {
      consumer_->close();
    } catch (const Error& e) {
      fail(e);
    } catch (const std::exception& e) {
      fail(Error(Errc::runtime, e.what(), {.detail = "group " + graph_.group()}));
    }
  }
  recovery_.reset();
  pool_.reset();
  if (gate_) {
    gate_->fail_held(Error(Errc::runtime, "processor stopped before its transaction began",
                           {.detail = "group " + graph_.group()}));
  }
  producer_.reset();  // after it, no acknowledgement can reach a retired slot
  for (auto& slot : retired_) {
    try {
      slot->processor->flush();  // the offsets acknowledged meanwhile
    } catch (const Error& e) {
      fail(e);
    }
  }
  retired_.clear();
  for (auto& [table, view] : lookups_) view->stop();
  std::lock_guard lock(mutex_);
  lookups_.clear();
}

void Processor::Impl::run() {
  if (ran_.exchange(true))
    throw Error(Errc::usage, "a processor runs once", {.detail = graph_.group()});
  try {
    prepare_topics();
    start_lookups();
    pool_ = std::make_unique<core::WorkerPool>(options_.threads);
    if (exactly_once()) {
      std::string id = transactional_id_of(options_, graph_.group());
      log(LogLevel::info, core::event_prefix(graph_.group(), "", -1) +
                              "exactly once, transactional.id " + id);
      producer_ = backend_->transactional_producer(*this, id);
      auto transaction = std::make_unique<core::Transaction>(*producer_, graph_.group());
      gate_ = std::make_unique<core::OutputGate>(*producer_, *this);
      std::lock_guard lock(mutex_);  // stats() reads it
      transaction_ = std::move(transaction);
    } else {
      producer_ = backend_->producer(*this);
    }
    prepare_outputs();
    consumer_ = backend_->group_consumer(graph_.group(), start_policy(), *this);
    consumer_->read_headers(options_.headers);
    consumer_->subscribe(consumed_);
    loop();
  } catch (const Error& e) {
    fail(e);
  } catch (const std::exception& e) {
    // E.g. a storage builder's own exception, out of the rebalance handler.
    fail(Error(Errc::runtime, e.what(), {.detail = "group " + graph_.group()}));
  }
  leave();
  if (auto error = error_.get()) throw *error;
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
std::optional<std::string> Processor::get(std::string_view key) const {
  if (auto table = impl_->table_topic()) return impl_->get(*table, key);
  return std::nullopt;
}
std::optional<std::string> Processor::get(std::string_view table, std::string_view key) const {
  return impl_->get(table, key);
}
bool Processor::recovered() const { return impl_->recovered(); }
ProcessorStats Processor::stats() const { return impl_->stats(); }

}  // namespace goka
