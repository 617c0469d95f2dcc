#pragma once
// OutputGate: holds back the records of the next transaction while the
// current one commits (internal; exactly-once processing).
//
// A transactional producer has one transaction open at a time, and while it
// flushes, sends the offsets and commits, nothing may be produced into the
// next one. So that callbacks need not wait meanwhile, transactions are
// numbered (epochs) and every partition produces through its own Lane, a
// Producer whose records belong to the lane's epoch: records of the open
// epoch go to the producer at once, later ones are held back, in order,
// until open() is called for their epoch (after its transaction began).
//
//   OutputGate gate(producer, handler);
//   auto lane = gate.lane(0);            // one per partition; its processor's producer
//   producer.begin_transaction(); gate.open(0);
//   ... the partition's callbacks produce into lane: straight through ...
//   lane->set_epoch(1);                  // between two messages: the cut
//   ... its callbacks produce into lane: held back ...
//   commit transaction 0; producer.begin_transaction(); gate.open(1);  // held ones go now
//
// Or, when transaction 0 aborted: fail_held() reports every held record as
// failed (its messages are processed again).
//
// Thread-safety: every member may be called from any thread. A lane's
// set_epoch() must not be concurrent with its produce() (the partition's
// processing thread, between messages).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/backend.hpp"

namespace goka::core {

class OutputGate {
 public:
  // producer: transactional; handler: where its reports go, and the failed
  // reports of records dropped by fail_held(). Both outlive the gate.
  OutputGate(Producer& producer, DeliveryHandler& handler)
      : producer_(producer), handler_(handler) {}
  OutputGate(const OutputGate&) = delete;
  OutputGate& operator=(const OutputGate&) = delete;

  // One partition's producer; its records belong to its epoch.
  class Lane final : public Producer {
   public:
    Lane(OutputGate& gate, int64_t epoch) : gate_(gate), epoch_(epoch) {}
    void produce(const std::string& topic, int32_t partition,
                 const std::optional<std::string>& key, const std::optional<std::string>& value,
                 const Headers& headers, int64_t timestamp, void* tag) override {
      gate_.produce(epoch_.load(std::memory_order_relaxed), topic, partition, key, value, headers,
                    timestamp, tag);
    }
    // Waits for the records produced; held ones are not.
    bool flush(std::chrono::milliseconds timeout) override { return gate_.producer_.flush(timeout); }
    void prepare(const std::string& topic) override { gate_.producer_.prepare(topic); }
    std::optional<Error> fatal_error() const override { return gate_.producer_.fatal_error(); }

    // The epoch of the records produced from now on.
    void set_epoch(int64_t epoch) { epoch_.store(epoch, std::memory_order_relaxed); }
    int64_t epoch() const { return epoch_.load(std::memory_order_relaxed); }

   private:
    OutputGate& gate_;
    std::atomic<int64_t> epoch_;
  };
  std::unique_ptr<Lane> lane(int64_t epoch) { return std::make_unique<Lane>(*this, epoch); }

  // Records of epoch go to the producer from now on, the ones held back
  // first, in the order produced. REQUIRES: epoch's transaction is open.
  void open(int64_t epoch);
  // Nothing goes to the producer until the next open().
  void close();
  // Records held back.
  std::size_t held() const;
  // Drops every record held back, reporting each to the handler as failed
  // with error.
  void fail_held(const Error& error);

 private:
  struct Held {
    int64_t epoch;
    std::string topic;
    int32_t partition;
    std::optional<std::string> key, value;
    Headers headers;
    int64_t timestamp;
    void* tag;
  };
  void produce(int64_t epoch, const std::string& topic, int32_t partition,
               const std::optional<std::string>& key, const std::optional<std::string>& value,
               const Headers& headers, int64_t timestamp, void* tag);
  // Produces held; a failure to queue it is its (failed) report.
  void pass(const Held& held);

  Producer& producer_;
  DeliveryHandler& handler_;
  mutable std::mutex mutex_;  // orders records held and passed through
  std::optional<int64_t> open_;
  std::vector<Held> held_;
};

}  // namespace goka::core
