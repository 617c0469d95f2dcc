#pragma once
// The narrow interface through which the core talks to Kafka. Two
// implementations: librdkafka (src/kafka/) and the in-memory log (src/tester/).
// Nothing here includes librdkafka.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "goka/emitter.hpp"
#include "goka/error.hpp"
#include "goka/record.hpp"
#include "goka/topic_manager.hpp"
#include "goka/topic_reader.hpp"

namespace goka::core {

struct TopicPartition;
class GroupConsumer;

// Receives the outcome of every record a Producer writes.
class DeliveryHandler {
 public:
  virtual ~DeliveryHandler() = default;
  // Called exactly once per record, on the producer's own thread, one call at
  // a time; tag is what produce() was given. Must not throw.
  virtual void on_delivery(const Delivery& delivery, void* tag) noexcept = 0;
};

// Produces records. Thread-safe.
class Producer {
 public:
  virtual ~Producer() = default;
  // Queues a record for topic/partition (partition >= 0); its outcome goes to
  // the handler the producer was made with, with tag. Blocks only while the
  // outgoing queue is full. Throws Errc::kafka when it cannot queue (then
  // the handler is not called).
  virtual void produce(const std::string& topic, int32_t partition,
                       const std::optional<std::string>& key,
                       const std::optional<std::string>& value, const Headers& headers,
                       int64_t timestamp, void* tag) = 0;
  // Waits until every queued record has been handed to the handler, or
  // timeout. Returns false on timeout.
  virtual bool flush(std::chrono::milliseconds timeout) = 0;
  // Connects and learns topic's partitions now, so that the first record
  // does not wait for that. Optional: a no-op by default.
  virtual void prepare(const std::string& topic) { (void)topic; }

  // Transactions, for producers made by Backend::transactional_producer()
  // (others throw Errc::usage). Every record is produced inside a
  // transaction: begin_transaction() before the first produce() after a
  // commit or abort. Called by one thread at a time.
  virtual void begin_transaction() { throw Error(Errc::usage, "not a transactional producer"); }
  // Waits for every record queued (flush), adds offsets (the next offsets
  // to read of group's input partitions) with group's metadata, and commits
  // the transaction within the producer's timeout. Returns true once
  // committed; false when it could not be (an abortable error, a timeout):
  // then the transaction is aborted on return, none of its records or
  // offsets is visible to read_committed consumers, and every record got
  // its (failed) report. Throws Errc::kafka when the producer is fenced or
  // failed fatally (it cannot be used any more).
  virtual bool commit_transaction(const std::vector<TopicPartition>& offsets,
                                  GroupConsumer& group) {
    (void)offsets, (void)group;
    throw Error(Errc::usage, "not a transactional producer");
  }
  // Aborts the open transaction, if any; the records' reports arrive
  // failed. Throws Errc::kafka when fenced or failed fatally.
  virtual void abort_transaction() { throw Error(Errc::usage, "not a transactional producer"); }
  // The fatal error the producer ran into (fenced, say), if any: then no
  // record queued will be delivered, and every later call fails. Any thread.
  virtual std::optional<Error> fatal_error() const { return std::nullopt; }
};

// Reads a set of partitions of one topic, no consumer group. One thread.
class PartitionReader {
 public:
  virtual ~PartitionReader() = default;
  // Starts reading partition at offset (an absolute offset >= 0). Replaces
  // an earlier start of the same partition.
  virtual void start(int32_t partition, int64_t offset) = 0;
  virtual void stop(int32_t partition) = 0;
  // Appends records that arrive within wait to out. Throws on a fatal error.
  virtual void poll(std::vector<Record>& out, std::chrono::milliseconds wait) = 0;
  // Calls each for every record that arrives within wait, in poll()'s order,
  // and returns how many there were. The Record is valid only during the
  // call: a reader may reuse one for all (no allocation per record). With
  // headers false, records may come without their headers (cheaper). Throws
  // on a fatal error, after the records read before it were visited.
  virtual std::size_t visit(std::chrono::milliseconds wait, bool headers,
                            const std::function<void(const Record&)>& each) {
    (void)headers;
    std::vector<Record> records;
    poll(records, wait);
    for (const Record& r : records) each(r);
    return records.size();
  }
  // The offset the next record of partition will have at least: past the
  // last record read, and past gaps (compaction, transaction markers) that
  // were skipped. -1 when not known yet.
  virtual int64_t position(int32_t partition) = 0;
};

// A partition of a topic, and an offset in it.
struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = -1;  // meaning depends on the call; -1: none
  bool operator==(const TopicPartition&) const = default;
};

// Cluster metadata and topic creation. Thread-safe; bounded by the timeout.
class Admin {
 public:
  virtual ~Admin() = default;
  // All topics (no internal ones), cleanup_policy left unset (see
  // cleanup_policies); never creates a topic.
  virtual std::vector<TopicInfo> topics() = 0;
  // nullopt when topic does not exist. With auto_create, asks for the topic
  // by name, which makes brokers with automatic topic creation create it.
  virtual std::optional<int32_t> partitions(const std::string& topic, bool auto_create = false) = 0;
  virtual Watermarks watermarks(const std::string& topic, int32_t partition) = 0;
  // The earliest offset whose timestamp is >= ms, the high watermark when
  // there is none, or -1 when the broker cannot tell.
  virtual int64_t offset_for_time(const std::string& topic, int32_t partition, int64_t ms) = 0;
  // The offsets group committed for each of partitions (-1 where none).
  // Backends without consumer groups have none.
  virtual std::vector<TopicPartition> committed(const std::string& group,
                                                std::vector<TopicPartition> partitions) {
    (void)group;
    for (auto& tp : partitions) tp.offset = -1;
    return partitions;
  }
  // The cleanup.policy ("delete", "compact", "compact,delete") of those of
  // topics whose policy the cluster tells, asked in one request bounded by
  // the timeout. A topic it does not tell (missing, no permission, a request
  // that fails or times out, a broker that cannot describe configs) is left
  // out: never throws for that. Backends that know no configs return {}.
  virtual std::map<std::string, std::string> cleanup_policies(
      const std::vector<std::string>& topics) {
    (void)topics;
    return {};
  }
  // Creates topic with config (topic-level properties); false when it exists
  // already (left as it is). Either way returns once the cluster serves it
  // (one just created by someone else too). Throws Errc::not_found when the cluster cannot
  // create topics, Errc::timeout, Errc::kafka or Errc::config (the cluster
  // refused the name, count or config) otherwise.
  virtual bool create_topic(const std::string& topic, int32_t partitions,
                            const Properties& config) = 0;
  // Deletes topic and returns once the cluster no longer lists it. Throws
  // Errc::not_found when it does not exist, Errc::runtime when the cluster
  // cannot delete topics (the embedded broker, backends without it).
  virtual void delete_topic(const std::string& topic) {
    throw Error(Errc::runtime, "this cluster cannot delete topics", {.topic = topic});
  }
};


// Receives a group member's partition changes. Called on the thread calling
// GroupConsumer::poll(), from inside it; the change takes effect when the
// call returns. on_revoked must finish and commit what it processed of
// those partitions before returning (nothing is fetched meanwhile).
class RebalanceHandler {
 public:
  virtual ~RebalanceHandler() = default;
  // Partitions (of every subscribed topic) now owned; offset unset. They are
  // paused: nothing of them is fetched until GroupConsumer::resume().
  virtual void on_assigned(const std::vector<TopicPartition>& partitions) = 0;
  // Partitions no longer owned; everything of them still buffered is dropped.
  virtual void on_revoked(const std::vector<TopicPartition>& partitions) = 0;
};

// A member of a consumer group (group id = the Goka group name), with the
// range assignor, so that co-partitioned topics give a member the same
// partition numbers of each. One thread uses it.
class GroupConsumer {
 public:
  virtual ~GroupConsumer() = default;
  // Joins the group for topics; the first poll() that completes a rebalance
  // calls the handler.
  virtual void subscribe(const std::vector<std::string>& topics) = 0;
  // Appends records that arrive within wait, per partition in offset order.
  // A partition with a committed offset resumes after it; one without starts
  // at the earliest or latest offset, as the consumer was made. Throws on a
  // fatal error (e.g. the group's topics disappeared).
  virtual void poll(std::vector<Record>& out, std::chrono::milliseconds wait) = 0;
  // Whether poll() fills Record::headers (it does unless told otherwise).
  virtual void read_headers(bool on) = 0;
  virtual void pause(const std::vector<TopicPartition>& partitions) = 0;
  // Resumes fetching partitions. One with offset >= 0 continues at exactly
  // that offset; one with -1 continues at the consumer's own position (for a
  // partition never fetched: the committed offset, else the start policy).
  virtual void resume(const std::vector<TopicPartition>& partitions) = 0;
  // Continues fetching partitions at exactly their offsets (>= 0), and
  // nothing fetched before reaches poll() any more: processing rewinds
  // (an aborted transaction). Paused partitions stay paused.
  virtual void rewind(const std::vector<TopicPartition>& partitions) { resume(partitions); }
  // Commits offsets (each the next offset to read, Kafka's convention);
  // synchronous. Throws Errc::kafka when the commit fails.
  virtual void commit(const std::vector<TopicPartition>& offsets) = 0;
  // The group's committed offsets of partitions (-1 where none).
  virtual std::vector<TopicPartition> committed(const std::vector<TopicPartition>& partitions) = 0;
  // The high watermark of an assigned partition as the last fetch saw it;
  // std::nullopt before its first fetch. Never waits for the cluster; any
  // thread.
  virtual std::optional<int64_t> fetched_high_watermark(const std::string& topic,
                                                        int32_t partition) const = 0;
  // The low watermark (log start offset) of an assigned partition as the last
  // fetch saw it; std::nullopt when not known. Never waits; any thread.
  virtual std::optional<int64_t> fetched_low_watermark(const std::string& topic,
                                                       int32_t partition) const {
    (void)topic, (void)partition;
    return std::nullopt;
  }
  // The offset after the last record poll() returned of an assigned
  // partition, past the control records (transaction markers) that follow
  // it; std::nullopt when not known. Never waits; the polling thread.
  virtual std::optional<int64_t> position(const std::string& topic, int32_t partition) const {
    (void)topic, (void)partition;
    return std::nullopt;
  }
  // Leaves the group (revoking through the handler first).
  virtual void close() = 0;
};

// Where a group without committed offsets starts reading its inputs.
enum class StartPolicy { earliest, latest };

// Makes clients for one cluster.
class Backend {
 public:
  virtual ~Backend() = default;
  // A producer whose outcomes go to handler, which must outlive it.
  virtual std::unique_ptr<Producer> producer(DeliveryHandler& handler) = 0;
  // A transactional producer with transactional_id, ready (its transactions
  // initialised: an earlier producer with that id is fenced and its open
  // transaction aborted). Backends without transactions throw Errc::usage.
  virtual std::unique_ptr<Producer> transactional_producer(DeliveryHandler& handler,
                                                           const std::string& transactional_id) {
    (void)handler;
    throw Error(Errc::usage, "this backend has no transactions", {.detail = transactional_id});
  }
  virtual std::unique_ptr<PartitionReader> reader(const std::string& topic) = 0;
  virtual Admin& admin() = 0;
  // A member of group; handler must outlive it. Backends without consumer
  // groups throw Errc::usage.
  virtual std::unique_ptr<GroupConsumer> group_consumer(const std::string& group,
                                                        StartPolicy start,
                                                        RebalanceHandler& handler) {
    (void)start, (void)handler;
    throw Error(Errc::usage, "this backend has no consumer groups", {.detail = group});
  }
  virtual std::chrono::milliseconds timeout() const = 0;
};

// The librdkafka backend (defined in src/kafka/).
std::shared_ptr<Backend> kafka_backend(ClientOptions options);

}  // namespace goka::core
