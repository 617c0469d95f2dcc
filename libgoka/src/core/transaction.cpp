#include "core/transaction.hpp"

#include <fmt/format.h>

namespace goka::core {

Transaction::Transaction(Producer& producer, std::string group)
    : producer_(producer), group_(std::move(group)) {}

void Transaction::check_failed() const {
  if (failed_) throw *failed_;
}

void Transaction::fatal(const Error& error) {
  open_ = false;
  failed_ = Error(Errc::kafka,
                  fmt::format("exactly-once processing of group '{}' stopped: {}", group_,
                              error.message()),
                  {.detail = "group " + group_});
  throw *failed_;
}

void Transaction::ensure_open() {
  check_failed();
  if (open_) return;
  try {
    producer_.begin_transaction();
  } catch (const Error& e) {
    fatal(e);
  }
  open_ = true;
}

bool Transaction::commit(const std::vector<TopicPartition>& offsets, GroupConsumer& consumer) {
  check_failed();
  if (!open_) return true;
  auto started = std::chrono::steady_clock::now();
  bool committed = false;
  try {
    committed = producer_.commit_transaction(offsets, consumer);
  } catch (const Error& e) {
    fatal(e);
  }
  open_ = false;
  if (!committed) {
    aborted_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - started;
  last_commit_ms_.store(took.count(), std::memory_order_relaxed);
  committed_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void Transaction::abort() {
  check_failed();
  if (!open_) return;
  try {
    producer_.abort_transaction();
  } catch (const Error& e) {
    fatal(e);
  }
  open_ = false;
  aborted_.fetch_add(1, std::memory_order_relaxed);
}

void Transaction::check_producer() {
  check_failed();
  if (auto error = producer_.fatal_error()) fatal(*error);
}

TransactionStats Transaction::stats() const {
  return {committed_.load(std::memory_order_relaxed), aborted_.load(std::memory_order_relaxed),
          last_commit_ms_.load(std::memory_order_relaxed)};
}

}  // namespace goka::core
