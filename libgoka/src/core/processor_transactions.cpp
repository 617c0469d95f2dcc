#include <fmt/format.h>

#include "core/processor_impl.hpp"

namespace goka {

// Transactions (exactly once). Records dispatched belong to transaction
// epoch_. Every commit_interval the run thread cuts the open transaction:
// a task queued behind every running partition's records seals its overlay,
// marks its tracker and moves its lane to the next epoch. While the cut
// transaction settles (its outputs acknowledged, its deferred completions
// done) and commits, the run thread goes on polling and the callbacks go on
// processing: their outputs are held back by the gate and their writes go
// to a new overlay. Once committed, the sealed overlays are applied to
// local storage with the table offsets, the next transaction begins and the
// gate lets the held records through. When the cut transaction aborts, the
// next one is dropped with it and every partition rewinds to its committed
// offsets.

// Begins a transaction for the records of epoch_ unless one is open.
void Processor::Impl::open_transaction() {
  if (transaction_->open()) return;
  transaction_->ensure_open();
  began_ = Clock::now();
  gate_->open(epoch_);
}

// Cuts the open transaction (none open: nothing to commit).
// REQUIRES: no transaction being committed.
void Processor::Impl::start_cut() {
  if (!transaction_->open()) return;
  auto cut = std::make_unique<Cut>();
  cut->epoch = epoch_;
  cut->at = Clock::now();
  cut->deadline = cut->at + backend_->timeout();
  for (auto& [p, slot] : slots_) {
    if (slot->processor) cut->running.push_back(p);
  }
  cut->left = std::make_shared<std::atomic<size_t>>(cut->running.size());
  ++epoch_;
  for (int32_t p : cut->running) {
    PartitionSlot* slot = slots_.at(p).get();
    // Behind the partition's records so far; the slot outlives its tasks.
    pool_->post(p, [slot, left = cut->left, next = epoch_] {
      slot->processor->seal_overlay();
      slot->cut_mark = slot->processor->mark();
      slot->lane->set_epoch(next);
      left->fetch_sub(1, std::memory_order_acq_rel);
    });
  }
  next_dispatched_ = false;
  cut_ = std::move(cut);
}

// Moves the cut transaction on: once every running partition passed the cut
// and settled, commits it; when something failed, aborts it (and the
// next). block: waits for that (bounded by the client timeout). Returns
// whether the cut transaction is done (committed or aborted).
bool Processor::Impl::advance_cut(bool block) {
  Cut& cut = *cut_;
  transaction_->check_producer();
  if (cut.left->load(std::memory_order_acquire) > 0) {
    if (!block && Clock::now() < cut.deadline) return false;
    for (int32_t p : cut.running) pool_->wait_idle(p);
  }
  if (cut.passed == Clock::time_point{}) cut.passed = Clock::now();
  Settled settled = settle(cut, block);
  if (settled == Settled::pending) return false;
  std::vector<core::TopicPartition> offsets;
  cut.settled = Clock::now();
  if (settled == Settled::yes) {
    for (int32_t p : cut.running) {
      PartitionSlot& slot = *slots_.at(p);
      // Messages after the cut may be complete too (no outputs, no writes):
      // committing them with this transaction is exact.
      for (const auto& [topic, next] : slot.processor->committable()) {
        int64_t at = past_markers(slot, topic, next);
        auto done = slot.committed.find(topic);
        if (done == slot.committed.end() || at > done->second) offsets.push_back({topic, p, at});
      }
    }
  }
  if (abort_requested_.exchange(false) || settled == Settled::failed) {
    abort_transaction(false);
    return true;
  }
  if (!transaction_->commit(offsets, *consumer_)) {
    log(LogLevel::warning, core::event_prefix(graph_.group(), "", -1) +
                               "transaction aborted; processing again from the committed offsets");
    abort_transaction(true);
    return true;
  }
  finish_cut(offsets);
  return true;
}

// Whether every partition of cut settled: all its messages up to the cut
// complete, without an abortable failure. A callback's failure or deferred
// completions past the bound fail the processor.
Processor::Impl::Settled Processor::Impl::settle(const Cut& cut, bool block) {
  for (int32_t p : cut.running) {
    PartitionSlot& slot = *slots_.at(p);
    bool settled = slot.processor->wait_through(slot.cut_mark, std::chrono::milliseconds(0));
    // In slices: a producer fenced meanwhile never acknowledges its records.
    while (!settled && block && Clock::now() < cut.deadline) {
      transaction_->check_producer();
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(cut.deadline - Clock::now());
      settled = slot.processor->wait_through(
          slot.cut_mark,
          std::clamp(left, std::chrono::milliseconds(0), std::chrono::milliseconds(100)));
    }
    if (!settled && Clock::now() < cut.deadline) return Settled::pending;
    if (!settled) {
      transaction_->check_producer();
      fail(Error(Errc::timeout,
                 fmt::format("outputs or deferred commits not done within {} ms; transaction "
                             "aborted",
                             backend_->timeout().count()),
                 {.partition = p, .detail = "group " + graph_.group()}));
      return Settled::failed;
    }
    if (auto e = slot.processor->error()) {
      if (!core::abortable(*e)) fail(*e);
      return Settled::failed;
    }
  }
  return Settled::yes;
}

// After the cut transaction committed: the next transaction begins and its
// held records go; then the cut one's overlays go to local storage, each with
// the table offset acknowledged before the next one's records went.
void Processor::Impl::finish_cut(const std::vector<core::TopicPartition>& offsets) {
  std::unique_ptr<Cut> cut = std::move(cut_);
  auto committed = Clock::now();
  std::map<int32_t, int64_t> table_offsets;
  for (int32_t p : cut->running) table_offsets[p] = slots_.at(p)->processor->table_offset();
  size_t held = gate_->held();
  if (next_dispatched_) open_transaction();
  auto opened = Clock::now();
  {
    std::lock_guard lock(mutex_);
    for (int32_t p : cut->running) {
      try {
        slots_.at(p)->processor->apply_sealed(table_offsets.at(p));  // one batch
      } catch (const Error& e) {
        fail(e);
      }
    }
    for (const auto& tp : offsets) slots_.at(tp.partition)->committed[tp.topic] = tp.offset;
  }
  auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
  if (!offsets.empty()) {
    log(LogLevel::debug,
        core::event_prefix(graph_.group(), "", -1) +
            fmt::format("transaction committed: partitions at the cut {:.1f} ms, outputs "
                        "acknowledged {:.1f} ms, commit {:.1f} ms, next begun {:.1f} ms, storage "
                        "{:.1f} ms; {} records of the next one were held back",
                        ms(cut->passed - cut->at), ms(cut->settled - cut->passed),
                        ms(committed - cut->settled), ms(opened - committed),
                        ms(Clock::now() - opened), held));
  }
}

// Aborts the open transaction (aborted: it already was) and the one after
// it, whose records are held back: every partition rewinds to its
// committed offsets.
void Processor::Impl::abort_transaction(bool aborted) {
  if (!aborted) transaction_->abort();
  std::vector<int32_t> running;
  for (auto& [p, slot] : slots_) {
    if (slot->processor) running.push_back(p);
  }
  for (int32_t p : running) pool_->wait_idle(p);  // no task produces any more
  gate_->fail_held(Error(Errc::kafka, "transaction aborted before this record's one began",
                         {.detail = "group " + graph_.group()}));
  gate_->close();
  for (int32_t p : running) slots_.at(p)->lane->set_epoch(epoch_);
  cut_.reset();
  rewind(running);
}

// Ends the open transaction, and the one being committed first: waits (up
// to the client timeout each) until they commit or abort.
void Processor::Impl::end_transaction() {
  if (cut_) advance_cut(true);
  start_cut();
  if (cut_) {
    advance_cut(true);
  } else if (abort_requested_.exchange(false)) {
    abort_transaction(false);
  }
}

// Called by the run loop between polls. A transaction is cut once it was
// open for the commit interval (from its first record on, not from the
// previous cut: time spent waiting for records is not counted).
void Processor::Impl::pace_transactions() {
  if (abort_requested_) {
    end_transaction();
    prune_retired();
    return;
  }
  if (cut_) {
    // Records held back are bounded as the pool's queues are.
    size_t bound = options_.max_buffered * std::max<size_t>(cut_->running.size(), 1);
    if (!advance_cut(gate_->held() > bound)) return;
  }
  prune_retired();
  if (transaction_->open() && Clock::now() - began_ >= options_.commit_interval) start_cut();
}

// After an abort: fresh partition processors (their overlays dropped, table
// offsets as stored) continue from the committed offsets, or else from the
// first record handed over.
void Processor::Impl::rewind(const std::vector<int32_t>& partitions) {
  producer_->flush(backend_->timeout());  // the aborted records' reports
  std::vector<core::TopicPartition> seek;
  {
    std::lock_guard lock(mutex_);
    for (int32_t p : partitions) {
      PartitionSlot& slot = *slots_.at(p);
      if (slot.revoked) continue;
      if (slot.processor->deliveries() > 0) {
        fail(Error(Errc::timeout, "aborted records still unacknowledged; cannot rewind",
                   {.partition = p, .detail = "group " + graph_.group()}));
        return;
      }
      slot.processor = make_processor(slot);
      for (const auto& topic : consumed_) {
        int64_t at = -1;
        if (auto c = slot.committed.find(topic); c != slot.committed.end()) {
          at = c->second;
        } else if (auto f = slot.first.find(topic); f != slot.first.end()) {
          at = f->second;
        }
        if (at >= 0) seek.push_back({topic, p, at});
      }
      slot.next.clear();
    }
  }
  consumer_->rewind(seek);
}

}  // namespace goka
