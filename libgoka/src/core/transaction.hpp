#pragma once
// Transaction: the transactions of an exactly-once processor instance
// (internal): when one is open, and what the commits cost so far.
//
// States: closed -> (ensure_open) -> open -> (commit | abort) -> closed.
// A fatal error (fenced) leaves it failed: every later call throws that
// error again. The processor's run thread alone calls it; stats() any thread.
//
//   Transaction txn(*producer, "clicks-count");
//   txn.ensure_open();                  // before handing records to callbacks
//   ... callbacks produce ...
//   if (txn.commit(offsets, consumer))  // outputs and input offsets, atomically
//     apply the overlays to local storage;
//   else
//     drop the overlays, rewind to the committed offsets;

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/backend.hpp"
#include "goka/error.hpp"

namespace goka::core {

struct TransactionStats {
  int64_t committed = 0;          // transactions committed
  int64_t aborted = 0;            // transactions aborted
  double last_commit_ms = -1;     // duration of the last commit; -1: none yet
};

class Transaction {
 public:
  // producer: transactional (Backend::transactional_producer), outliving
  // this. group names the consumer group in errors.
  Transaction(Producer& producer, std::string group);

  // Begins a transaction unless one is open.
  void ensure_open();
  bool open() const { return open_; }

  // Commits the open transaction with offsets (see
  // Producer::commit_transaction). true: committed; false: aborted instead.
  // Without an open transaction, nothing happens and it returns true.
  // Throws Errc::kafka naming the group when the instance was fenced or the
  // producer failed fatally.
  bool commit(const std::vector<TopicPartition>& offsets, GroupConsumer& consumer);
  // Aborts the open transaction, if any (counted as aborted).
  void abort();

  // Throws (as commit() does) when the producer failed fatally meanwhile:
  // its records will never be acknowledged, so waiting for them is vain.
  void check_producer();

  TransactionStats stats() const;

 private:
  void check_failed() const;
  [[noreturn]] void fatal(const Error& error);

  Producer& producer_;
  const std::string group_;
  bool open_ = false;
  std::optional<Error> failed_;
  std::atomic<int64_t> committed_{0};
  std::atomic<int64_t> aborted_{0};
  std::atomic<double> last_commit_ms_{-1};
};

}  // namespace goka::core
