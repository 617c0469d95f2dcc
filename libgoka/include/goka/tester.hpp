#pragma once
// Tester: runs processor callbacks synchronously, without Kafka (Goka's
// tester package), for unit tests of a GroupGraph.
//
// The Tester runs the same per-partition processing code as the Processor on
// an in-memory log with in-memory storages: consume() writes a message into
// an input topic and returns once it, and every message it caused in topics
// the tester's groups consume (loopbacks, emits into another group's input),
// transitively, was processed.
//
// Example:
//
//   goka::GroupGraph graph("clicks", {goka::input("user-clicks", count), goka::persist(),
//                                     goka::output("alerts")});
//   goka::Tester tester(graph);
//   goka::MessageTracker alerts = tester.tracker("alerts");
//   tester.consume("user-clicks", "alice", "click");
//   REQUIRE(tester.table_value("clicks", "alice") == "1");     // group or table name
//   std::optional<goka::TrackedMessage> alert = alerts.next();  // what count emitted
//
// Every topic a group uses (inputs, loop, tables, outputs) is created with
// TesterOptions::partitions partitions; keys are partitioned as Goka does.
// Tables (group tables, joined and lookup tables) are one in-memory storage
// per table topic and partition, shared by every group using the table: a
// group reading another group's table sees its writes at once.
//
// Errors: a message whose processing fails (see goka/context.hpp) makes
// consume() throw the processor's goka::Error, which names the topic,
// partition and offset of that message. The failed partition's processor is
// then replaced by a fresh one (tables keep their contents), messages still
// queued are dropped, and the Tester stays usable. A deferred completion that
// fails after consume() returned makes the next consume() throw.
//
// Rebalances: a group runs as one instance unless add_instance() adds more;
// move() then moves partitions between them (see there).
//
// Thread-safety: a Tester is used by one thread. Completions returned by
// Context::defer_commit() may be called from any thread. A MessageTracker is
// used by one thread at a time; it stays valid after the Tester is gone.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "goka/graph.hpp"
#include "goka/record.hpp"

namespace goka {

struct TesterOptions {
  // Partitions of every topic the Tester creates.
  int32_t partitions = 1;
  // Most messages one consume() processes (the message and those it caused)
  // before it throws Errc::runtime: a loop of loopbacks that never ends.
  std::size_t max_messages = 100000;
};

// One message written to a topic, as a MessageTracker returns it.
struct TrackedMessage {
  std::string key;                   // a null key is ""
  std::optional<std::string> value;  // std::nullopt: null (tombstone)
  Headers headers;
  int32_t partition = 0;
  int64_t offset = 0;
};

// Reads, in order, the messages written to one topic while the Tester runs
// (Goka's queue tracker): those written after the tracker was made, by
// consume() or by a processor (emits, loopbacks, table writes).
class MessageTracker {
 public:
  // The next unread message, std::nullopt when every one was read.
  std::optional<TrackedMessage> next();
  // Messages not read yet.
  std::size_t count() const;
  bool empty() const { return count() == 0; }
  // Skips every message written so far.
  void clear();
  const std::string& topic() const { return topic_; }

  struct Journal;  // every message the Tester wrote (internal)

 private:
  friend class Tester;
  MessageTracker(std::shared_ptr<const Journal> journal, std::string topic, std::size_t next);

  std::shared_ptr<const Journal> journal_;
  std::string topic_;
  std::size_t next_ = 0;  // index of the next message of topic_ to return
};

class Tester {
 public:
  explicit Tester(TesterOptions options = {});
  // Tester(options) followed by add(graph).
  explicit Tester(GroupGraph graph, TesterOptions options = {});
  ~Tester();
  Tester(const Tester&) = delete;
  Tester& operator=(const Tester&) = delete;

  // Adds a processor group: validates graph (throws its Errc::config),
  // creates its topics and tables, and processes from now on the messages
  // written to its inputs. Throws Errc::usage when a group of that name was
  // added before. Returns *this.
  Tester& add(GroupGraph graph);

  // Writes (key, value, headers) into topic, in the partition of key, with
  // timestamp (ms since the epoch; 0: now), then processes it and every
  // message it caused, transitively, before returning.
  // Throws Errc::usage when no group of the tester consumes topic, the
  // error of a message whose processing failed (see the file comment), and
  // Errc::runtime when more than TesterOptions::max_messages were processed.
  void consume(const std::string& topic, std::string_view key,
               std::optional<std::string_view> value, Headers headers = {}, int64_t timestamp = 0);

  // The value of key in table: a table topic, or the name of a group with a
  // persist edge (its group table). std::nullopt when key has no value.
  // Throws Errc::not_found when there is no such table.
  std::optional<std::string> table_value(const std::string& table, std::string_view key) const;
  // Sets (or with std::nullopt, deletes) the value of key in table's local
  // storage directly, nothing is produced (Goka's SetTableValue): prepares
  // the group table, a joined or a lookup table. table is a table topic
  // (created when unknown, so tables may be filled before add()) or the
  // name of a group with a persist edge.
  void set_table_value(const std::string& table, std::string_view key,
                       std::optional<std::string_view> value);
  // Every key with a value in table, in bytewise order. Throws as
  // table_value().
  std::vector<std::string> table_keys(const std::string& table) const;

  // A tracker of the messages written to topic from now on.
  MessageTracker tracker(const std::string& topic) const;

  // Per topic, the offset that group's processor of partition would commit
  // now (see goka/context.hpp: only when every output of a message and of
  // every earlier one is acknowledged, deferred completions included).
  // Throws Errc::not_found for an unknown group or partition.
  std::map<std::string, int64_t> committable(const std::string& group, int32_t partition = 0) const;

  // ---- Instances of a group, and rebalances between them ----
  // A group added with add() runs as instance 0, which owns every partition.
  // Tests of rebalance handling add more instances of the group and move
  // partitions between them, as the group's consumer rebalances do.

  // Adds an instance of the group named graph.group() and returns its number
  // (1, 2, ...). Its messages run graph's callbacks, so that a test can give
  // each instance state of its own. It owns no partition until move().
  // Throws graph's Errc::config, Errc::not_found when no such group was
  // added, and Errc::usage when graph's topics (inputs, loop, table, joins,
  // lookups, outputs) are not the group's.
  int add_instance(GroupGraph graph);
  // Moves partition of group to instance, as a rebalance does. The owner is
  // revoked: the input offsets it may commit (see committable()) are
  // committed; a deferred completion it still holds is not awaited (what it
  // holds back is not committed). The new owner starts with
  // the tables as they are (as if recovered from the table topics) and, before
  // move() returns, processes every message of the partition's inputs after
  // the group's commit: those the old owner processed without being able to
  // commit them are processed again (at least once), with what they cause.
  // Does nothing when instance owns the partition already. Throws
  // Errc::not_found for an unknown group, partition or instance, and what
  // consume() throws when processing fails.
  void move(const std::string& group, int32_t partition, int instance);
  // The instance that owns partition of group. Throws Errc::not_found.
  int owner(const std::string& group, int32_t partition) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace goka
