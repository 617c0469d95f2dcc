#pragma once
// MemoryLog: an in-memory Kafka, the core::Backend that the Tester and the
// unit tests of the core run on. No broker, no threads of its own.
//
// Namespace goka::tester (Goka's tester package): the public Tester is
// built on it.
//
// A topic is a list of partitions; a partition is a sequence of Records with
// a low watermark (the offset of the oldest record still held) and a high
// watermark (the offset the next record gets). Offsets start at 0 and grow by
// one per record: no gaps, no compaction. trim() moves the low watermark, as
// retention or the embedded broker's 5 MB limit do.
//
// Deterministic: records get offsets in the order they are appended; a
// reader returns the records of its partitions in ascending partition order,
// each partition in offset order; timestamps come from MemoryLogOptions::clock.
//
// Example:
//
//   auto log = std::make_shared<goka::tester::MemoryLog>();
//   log->create_topic("users-table", 4);
//   log->append("users-table", 1, "alice", "1");
//   goka::Emitter emitter("users-table", log);        // any core::Backend user
//   emitter.emit_sync({"bob", "2", {}, 0, -1});
//   auto reader = log->reader("users-table");
//   reader->start(1, 0);
//   std::vector<goka::Record> records;
//   reader->poll(records, std::chrono::milliseconds(0));
//
// Thread-safety: every method of MemoryLog, and of the producers and the
// admin it makes, may be called from any thread. A reader is used by one
// thread at a time (core::PartitionReader's contract), and so is a group
// consumer (but its fetched_high_watermark(), from any thread). Producers and readers
// share the log's data: they stay usable after the MemoryLog object is gone.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/backend.hpp"
#include "goka/error.hpp"
#include "goka/record.hpp"
#include "goka/topic_manager.hpp"

namespace goka::tester {

// When a produced record is appended and its outcome handed to the
// producer's DeliveryHandler. Handler calls are serialised across the log
// (one at a time, as the DeliveryHandler contract says); a handler may
// produce again.
enum class DeliveryMode {
  // In produce() itself: the record is in the log and the handler has been
  // called (in the producing thread) when produce() returns.
  immediate,
  // Queued until the producer's flush(), MemoryLog::deliver() or the
  // producer's destruction; the handler is called in the thread doing that.
  // Lets a test look at the state between producing and acknowledging.
  queued,
};

// When GroupConsumer::commit() is refused (a fault knob for tests): it then
// throws Errc::kafka and commits nothing, as Kafka refuses a commit with
// REBALANCE_IN_PROGRESS.
enum class CommitRefusal {
  never,
  // While a rebalance of the committing member's group is under way: from
  // the membership change until that member took its new assignment. This
  // covers the commit a RebalanceHandler makes inside on_revoked().
  in_rebalance,
  always,
};

struct MemoryLogOptions {
  // Partitions of a topic created on first use by Admin::partitions(topic,
  // true) or by producing to it; 0: no topic is created implicitly.
  int32_t auto_create_partitions = 0;
  // See DeliveryMode.
  DeliveryMode delivery = DeliveryMode::immediate;
  // Most records one PartitionReader::poll() returns.
  std::size_t max_poll_records = 4096;
  // The timestamp (ms since the epoch) of records produced or appended with
  // timestamp 0; empty: the system clock.
  std::function<int64_t()> clock;
  // What Backend::timeout() reports.
  std::chrono::milliseconds timeout{1000};
};

class MemoryLog final : public core::Backend {
 public:
  explicit MemoryLog(MemoryLogOptions options = {});
  ~MemoryLog() override;
  MemoryLog(const MemoryLog&) = delete;
  MemoryLog& operator=(const MemoryLog&) = delete;

  // ---- core::Backend ----
  // A producer: appends to the log (see DeliveryMode). Producing to a missing
  // topic (not auto-created) or partition, or while the log is down, hands
  // an error to the handler (Errc::not_found / Errc::timeout). Destroying
  // the producer delivers what it still has queued (fails it while down).
  std::unique_ptr<core::Producer> producer(core::DeliveryHandler& handler) override;
  // A reader of topic. Starting at an offset below the low watermark or
  // above the high watermark reads from the low watermark (Kafka's
  // auto.offset.reset=earliest). poll() waits up to its wait for records,
  // throws Errc::not_found for a started partition that does not exist, and
  // returns nothing while the log is down.
  std::unique_ptr<core::PartitionReader> reader(const std::string& topic) override;
  // Metadata. Every call throws Errc::timeout while the log is down (but
  // cleanup_policies(), which tells nothing then, as it never throws);
  // cleanup_policies() tells a topic's creation config or else "delete";
  // watermarks() throws Errc::not_found for a missing topic or partition;
  // create_topic() of an existing topic does nothing (as Kafka's
  // TOPIC_ALREADY_EXISTS, which the Kafka adapter ignores).
  core::Admin& admin() override;
  std::chrono::milliseconds timeout() const override;
  // A member of consumer group group (see "Consumer groups" below).
  std::unique_ptr<core::GroupConsumer> group_consumer(const std::string& group,
                                                      core::StartPolicy start,
                                                      core::RebalanceHandler& handler) override;

  // ---- test controls ----
  // Creates topic with partitions partitions. Throws Errc::config when it
  // exists or partitions < 1.
  void create_topic(const std::string& topic, int32_t partitions);
  // The partition count of topic; nullopt when it does not exist.
  std::optional<int32_t> partitions(const std::string& topic) const;

  // Appends one record directly (no producer, works while down) and returns
  // its offset. timestamp 0 means MemoryLogOptions::clock. Throws
  // Errc::not_found for a missing topic or partition.
  int64_t append(const std::string& topic, int32_t partition, std::optional<std::string> key,
                 std::optional<std::string> value, Headers headers = {}, int64_t timestamp = 0);
  // As append(), into the partition Goka assigns to key (goka/hasher.hpp).
  int64_t append(const std::string& topic, const std::string& key,
                 std::optional<std::string> value);

  // Low and high watermark of a partition. Throws Errc::not_found.
  Watermarks watermarks(const std::string& topic, int32_t partition) const;
  // The records a partition holds now (from the low to the high watermark).
  // Throws Errc::not_found.
  std::vector<Record> records(const std::string& topic, int32_t partition) const;
  // Drops the records below new_low: the low watermark becomes
  // min(new_low, high watermark). Does nothing when new_low is at or below
  // the low watermark. Throws Errc::not_found.
  void trim(const std::string& topic, int32_t partition, int64_t new_low);

  // Appends every queued produced record (DeliveryMode::queued) in the order
  // produced and hands their outcomes over in this thread. Returns how many.
  std::size_t deliver();
  // Records produced and not delivered yet.
  std::size_t pending() const;

  // Simulates an unreachable cluster: while down, admin calls throw
  // Errc::timeout, readers return no records (as librdkafka does while it
  // reconnects) and produced records fail with Errc::timeout. Queued records
  // stay queued.
  void set_down(bool down);
  // The next poll() of any reader of topic throws error, once.
  void fail_next_poll(const std::string& topic, Error error);

  // ---- consumer groups ----
  // A group consumer joins its group at its first poll() after subscribe(),
  // and leaves it at close() (or destruction). Each membership change is a
  // rebalance of the whole group (Kafka's eager protocol): every member, in
  // its own poll(), first revokes all it owns through its RebalanceHandler
  // (on_revoked), then, once every member has done so, the range assignor
  // splits each subscribed topic's partitions among the members subscribed
  // to it (members in join order; the first ones get one more when the
  // count does not divide), and each member is handed its share (possibly
  // none) in its next poll() (on_assigned). A member that does not poll
  // holds the rebalance up; a poll() waiting for the others returns after
  // its wait. Assigned partitions are paused until resumed. A partition
  // first fetched starts at the group's committed offset, else (or when that
  // offset is out of range) at the low or high watermark (the StartPolicy).
  // resume() of a partition with TopicPartition::offset >= 0 continues at
  // that offset, with -1 at the partition's position. poll() returns nothing
  // while the log is down; commit() then throws Errc::kafka, committed()
  // Errc::timeout. Admin::committed() tells a group's committed offsets.

  // Fault knob: with on, resume() of a paused partition ignores the offset it
  // is given and the position, and continues at the group's committed offset
  // (the start policy when none), handing out again records it handed out
  // before (what librdkafka was seen to do on big backlogs).
  void set_resume_from_committed(bool on);
  // Fault knob: when commits are refused (see CommitRefusal).
  void refuse_commits(CommitRefusal when);
  // The members group has now (consumers that joined and did not leave).
  std::size_t group_members(const std::string& group) const;

  // Shared state of the log, its producers and readers (internal).
  struct Shared;

 private:
  class Admin;

  std::shared_ptr<Shared> shared_;
  std::unique_ptr<Admin> admin_;
};

}  // namespace goka::tester
