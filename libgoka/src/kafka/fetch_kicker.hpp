#pragma once
// Keeps a consumer fetching while it drains a backlog.
//
// librdkafka 2.0 stops fetching for a partition while the queue it feeds
// holds queued.min.messages, and its broker thread then sleeps until
// something wakes it: a reply, an operation, or a fixed 1 s timeout
// (fetch.queue.backoff.ms came only in 2.1). Draining the queue wakes
// nothing, so a consumer faster than one queue per second stalls for up to
// 1 s each time it empties the queue, or needs a queue holding a second's
// worth of records (~300 bytes each in librdkafka). A FetchKicker wakes the
// broker threads of the partitions read, each time `every` records were
// consumed: with a ListOffsets request to the leader of one of them (a
// request queued to a broker thread wakes it). A small queue then costs
// no stall.

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "goka/client_options.hpp"

namespace goka::kafka {

// Adds a consumer's fetch-ahead bounds to defaults: queued.min.messages
// records (the kicker keeps a small queue from stalling), and fetches of at
// most 1 MB, 256 KB a partition (librdkafka's 50 MB and 1 MB let one reply
// of a real broker queue hundreds of thousands of small records), unless
// options set message.max.bytes, which fetch.max.bytes may not be below.
void add_fetch_ahead(Properties& defaults, const ClientOptions& options, int64_t queued_min);

class FetchKicker {
 public:
  using Partition = std::pair<std::string, int32_t>;

  // consumer must outlive the kicker. every: records consumed between two
  // wake-ups (half the queue's queued.min.messages is right).
  FetchKicker(rd_kafka_t* consumer, int64_t every);
  ~FetchKicker();  // stops its thread (waits for a request in flight)
  FetchKicker(const FetchKicker&) = delete;
  FetchKicker& operator=(const FetchKicker&) = delete;

  // One record taken from the queue. Only the thread consuming calls this.
  void consumed(const rd_kafka_message_t& message) {
    if (message.rkt != last_topic_ || message.partition != last_partition_) note(message);
    if (++count_ >= every_) kick();
  }

  // Partitions just resumed: their broker threads are woken now (librdkafka
  // 2.0 notices a resume only when the thread wakes, up to 1 s later). Any
  // thread.
  void resumed(const std::vector<Partition>& partitions);

  // The queued.min.messages of conf, for `every`; 0 if unset.
  static int64_t queue_threshold(const rd_kafka_conf_t* conf);

 private:
  void note(const rd_kafka_message_t& message);
  void kick();
  void want(const std::vector<Partition>& partitions);
  void run();
  void wake(const std::vector<Partition>& partitions);
  int32_t leader(const Partition& partition);

  rd_kafka_t* consumer_;
  const int64_t every_;

  // The consuming thread's own.
  int64_t count_ = 0;
  rd_kafka_topic_t* last_topic_ = nullptr;
  int32_t last_partition_ = -1;
  std::vector<Partition> read_;  // since the last kick

  // Shared with the kicking thread.
  std::mutex mutex_;
  std::condition_variable wanted_;
  std::vector<Partition> pending_;
  std::atomic<bool> stop_{false};  // set under mutex_

  // The kicking thread's own: each partition's leader, and when learned.
  std::map<Partition, int32_t> leaders_;
  std::chrono::steady_clock::time_point leaders_at_;

  std::thread thread_;  // last: starts once everything above is set
};

}  // namespace goka::kafka
