#include "kafka/fetch_kicker.hpp"

#include <algorithm>
#include <cstdlib>
#include <set>

#include "kafka/handles.hpp"

namespace goka::kafka {
namespace {

constexpr int kRequestTimeoutMs = 500;  // a wake-up that takes longer is moot
constexpr auto kLeadersFor = std::chrono::seconds(30);

}  // namespace

void add_fetch_ahead(Properties& defaults, const ClientOptions& options, int64_t queued_min) {
  defaults["queued.min.messages"] = std::to_string(queued_min);
  if (options.properties.count("message.max.bytes") == 0) {
    defaults["fetch.max.bytes"] = "1048576";
    defaults["max.partition.fetch.bytes"] = "262144";
  }
}

FetchKicker::FetchKicker(rd_kafka_t* consumer, int64_t every)
    : consumer_(consumer), every_(std::max<int64_t>(every, 1)), thread_([this] { run(); }) {}

FetchKicker::~FetchKicker() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wanted_.notify_one();
  thread_.join();
}

int64_t FetchKicker::queue_threshold(const rd_kafka_conf_t* conf) {
  char value[32];
  size_t size = sizeof value;
  if (rd_kafka_conf_get(conf, "queued.min.messages", value, &size) != RD_KAFKA_CONF_OK) return 0;
  return std::strtoll(value, nullptr, 10);
}

void FetchKicker::note(const rd_kafka_message_t& message) {
  last_topic_ = message.rkt;
  last_partition_ = message.partition;
  const char* topic = rd_kafka_topic_name(message.rkt);
  auto same = [&](const Partition& p) { return p.second == message.partition && p.first == topic; };
  if (std::none_of(read_.begin(), read_.end(), same)) read_.emplace_back(topic, message.partition);
}

void FetchKicker::kick() {
  count_ = 0;
  want(read_);
  read_.clear();
  last_topic_ = nullptr;  // noted again at the next record
}

void FetchKicker::resumed(const std::vector<Partition>& partitions) { want(partitions); }

void FetchKicker::want(const std::vector<Partition>& partitions) {
  {
    std::lock_guard lock(mutex_);
    for (const auto& p : partitions) {
      if (std::find(pending_.begin(), pending_.end(), p) == pending_.end()) pending_.push_back(p);
    }
  }
  wanted_.notify_one();
}

void FetchKicker::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wanted_.wait(lock, [this] { return stop_ || !pending_.empty(); });
    if (stop_) return;
    std::vector<Partition> partitions = std::move(pending_);
    pending_.clear();
    lock.unlock();
    wake(partitions);
    lock.lock();
  }
}

// One request per broker: any of its partitions' wakes its thread.
void FetchKicker::wake(const std::vector<Partition>& partitions) {
  if (std::chrono::steady_clock::now() - leaders_at_ > kLeadersFor) leaders_.clear();
  std::set<int32_t> woken;
  for (const auto& p : partitions) {
    if (stop_) return;  // a broker away would hold the destructor 0.5 s a partition
    int32_t broker = leader(p);
    if (broker >= 0 && !woken.insert(broker).second) continue;
    int64_t low = 0, high = 0;
    rd_kafka_query_watermark_offsets(consumer_, p.first.c_str(), p.second, &low, &high,
                                     kRequestTimeoutMs);
  }
}

// The partition's leader from metadata, or -1 when unknown.
int32_t FetchKicker::leader(const Partition& partition) {
  if (auto it = leaders_.find(partition); it != leaders_.end()) return it->second;
  TopicPtr topic(rd_kafka_topic_new(consumer_, partition.first.c_str(), nullptr));
  if (!topic) return -1;
  if (leaders_.empty()) leaders_at_ = std::chrono::steady_clock::now();
  const rd_kafka_metadata_t* md = nullptr;
  if (rd_kafka_metadata(consumer_, 0, topic.get(), &md, kRequestTimeoutMs) ==
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (int t = 0; t < md->topic_cnt; ++t) {
      const rd_kafka_metadata_topic_t& mt = md->topics[t];
      for (int i = 0; i < mt.partition_cnt; ++i) {
        leaders_[{mt.topic, mt.partitions[i].id}] = mt.partitions[i].leader;
      }
    }
    rd_kafka_metadata_destroy(md);
  }
  // Unknown stays unknown until the next refresh: one request, not one a kick.
  return leaders_.try_emplace(partition, -1).first->second;
}

}  // namespace goka::kafka
