#include "kafka/admin.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <string_view>
#include <thread>

#include "kafka/topic_requests.hpp"

namespace goka::kafka {

KafkaAdmin::KafkaAdmin(const ClientOptions& options)
    : events_(std::make_unique<ClientEvents>(options)) {
  handle_ = make_handle(RD_KAFKA_PRODUCER, make_conf(options, {}, *events_));
}

MetadataPtr KafkaAdmin::metadata(const std::string* topic) {
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err;
  if (topic == nullptr) {
    // All topics: asking for one topic by name makes brokers with automatic
    // topic creation (the embedded one) create it.
    err = rd_kafka_metadata(handle_.get(), 1, nullptr, &md, timeout_ms());
  } else {
    TopicPtr rkt(rd_kafka_topic_new(handle_.get(), topic->c_str(), nullptr));
    err = rd_kafka_metadata(handle_.get(), 0, rkt.get(), &md, timeout_ms());
  }
  if (err) throw_kafka_error(err, "cannot get metadata", *events_);
  return MetadataPtr(md);
}

std::vector<TopicInfo> KafkaAdmin::topics() {
  MetadataPtr md = metadata();
  std::vector<TopicInfo> out;
  for (int i = 0; i < md->topic_cnt; ++i) {
    const auto& t = md->topics[i];
    std::string name = t.topic;
    if (t.err || name.starts_with("__")) continue;
    out.push_back({name, t.partition_cnt, std::nullopt});
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.name < b.name; });
  return out;
}

namespace {

// How long a topic asked for by name may stay unknown before it counts as
// missing: a real Kafka (KRaft) answers the request that makes it create the
// topic with UNKNOWN_TOPIC_OR_PARTITION, and knows the topic a moment later.
constexpr std::chrono::milliseconds kCreationGrace{3000};

// Whether every partition of the metadata's only topic has a leader.
bool has_leaders(const rd_kafka_metadata_t& md) {
  if (md.topic_cnt != 1 || md.topics[0].err || md.topics[0].partition_cnt <= 0) return false;
  const auto& t = md.topics[0];
  for (int p = 0; p < t.partition_cnt; ++p) {
    if (t.partitions[p].leader < 0) return false;
  }
  return true;
}

}  // namespace

std::optional<int32_t> KafkaAdmin::partitions(const std::string& topic, bool auto_create) {
  if (auto_create) {
    // A new topic may need a moment before it is known, and then before it
    // has partitions and leaders.
    auto start = std::chrono::steady_clock::now();
    auto deadline = start + events_->options().timeout;
    auto grace = start + std::min<std::chrono::milliseconds>(kCreationGrace, events_->options().timeout);
    do {
      MetadataPtr md = metadata(&topic);
      if (has_leaders(*md)) return md->topics[0].partition_cnt;
      if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART &&
          std::chrono::steady_clock::now() >= grace) {
        return std::nullopt;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // retry backoff
    } while (std::chrono::steady_clock::now() < deadline);
    throw_kafka_error(RD_KAFKA_RESP_ERR__TIMED_OUT, "topic has no partitions yet", *events_,
                      {.topic = topic});
  }
  MetadataPtr md = metadata();
  for (int i = 0; i < md->topic_cnt; ++i) {
    const auto& t = md->topics[i];
    if (topic != t.topic) continue;
    if (t.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) return std::nullopt;
    if (t.err && t.partition_cnt == 0) {
      throw_kafka_error(t.err, "cannot get metadata", *events_, {.topic = topic});
    }
    return t.partition_cnt;
  }
  return std::nullopt;
}

Watermarks KafkaAdmin::watermarks(const std::string& topic, int32_t partition) {
  Watermarks w;
  // A partition that is moving, or just created, may briefly answer "not
  // leader" (a real Kafka: its leader is in the metadata before it serves);
  // librdkafka learns the new leader meanwhile. Other errors fail at once.
  auto deadline = std::chrono::steady_clock::now() + events_->options().timeout;
  rd_kafka_resp_err_t err;
  while (true) {
    err = rd_kafka_query_watermark_offsets(handle_.get(), topic.c_str(), partition, &w.low,
                                           &w.high, timeout_ms());
    bool moving = err == RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION ||
                  err == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE;
    if (!moving || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // retry backoff
  }
  if (err) {
    throw_kafka_error(err, "cannot get watermarks", *events_,
                      {.topic = topic, .partition = partition});
  }
  return w;
}

int64_t KafkaAdmin::offset_for_time(const std::string& topic, int32_t partition, int64_t ms) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition)->offset = ms;
  rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(handle_.get(), list.get(), timeout_ms());
  if (!err) err = list->elems[0].err;
  if (err) {
    throw_kafka_error(err, "cannot look up offset by time", *events_,
                      {.topic = topic, .partition = partition});
  }
  // -1 is both Kafka's "no record that late" and the embedded broker's "I
  // cannot look up by time" (librdkafka's mock); the reader then scans.
  return list->elems[0].offset;
}

bool KafkaAdmin::embedded() {
  int known = embedded_.load();
  if (known >= 0) return known == 1;
  char* id = rd_kafka_clusterid(handle_.get(), timeout_ms());
  if (id == nullptr) return false;  // not known: ask again next time
  bool mock = std::string_view(id).starts_with("mockCluster");
  rd_kafka_mem_free(handle_.get(), id);
  embedded_.store(mock ? 1 : 0);
  return mock;
}

void KafkaAdmin::warn_once(const std::string& text) {
  if (!warned_.exchange(true)) events_->log(LogLevel::warning, text);
}

std::map<std::string, std::string> KafkaAdmin::cleanup_policies(
    const std::vector<std::string>& topics) {
  std::map<std::string, std::string> out;
  if (topics.empty() || embedded()) return out;
  static constexpr const char* kPolicy = "cleanup.policy";
  // One resource per topic, each asking for cleanup.policy alone (a name
  // with no value restricts what DescribeConfigs returns).
  std::vector<ConfigResourcePtr> owned;
  std::vector<rd_kafka_ConfigResource_t*> resources;
  for (const std::string& topic : topics) {
    owned.emplace_back(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str()));
    rd_kafka_ConfigResource_set_config(owned.back().get(), kPolicy, nullptr);
    resources.push_back(owned.back().get());
  }
  char errstr[512];
  AdminOptionsPtr options(
      rd_kafka_AdminOptions_new(handle_.get(), RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS));
  rd_kafka_AdminOptions_set_request_timeout(options.get(), timeout_ms(), errstr, sizeof errstr);
  QueuePtr queue(rd_kafka_queue_new(handle_.get()));
  rd_kafka_DescribeConfigs(handle_.get(), resources.data(), resources.size(), options.get(),
                           queue.get());
  // librdkafka fails the request itself at the request timeout; the extra
  // second only guards against an event that never comes.
  EventPtr event(rd_kafka_queue_poll(queue.get(), timeout_ms() + 1000));
  if (!event) {
    warn_once("cannot describe topic configs, cleanup policies unknown: timed out");
    return out;
  }
  if (rd_kafka_event_error(event.get())) {
    warn_once(fmt::format("cannot describe topic configs, cleanup policies unknown: {}",
                          rd_kafka_event_error_string(event.get())));
    return out;
  }
  const rd_kafka_DescribeConfigs_result_t* result = rd_kafka_event_DescribeConfigs_result(event.get());
  if (result == nullptr) return out;
  size_t count = 0;
  const rd_kafka_ConfigResource_t** described =
      rd_kafka_DescribeConfigs_result_resources(result, &count);
  for (size_t i = 0; i < count; ++i) {
    const rd_kafka_ConfigResource_t* resource = described[i];
    const char* name = rd_kafka_ConfigResource_name(resource);
    if (rd_kafka_resp_err_t err = rd_kafka_ConfigResource_error(resource)) {
      // A topic deleted since it was listed is simply not told.
      if (err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        const char* why = rd_kafka_ConfigResource_error_string(resource);
        warn_once(fmt::format("cannot describe the config of topic {}, cleanup policy unknown: {}",
                              name ? name : "?", why ? why : rd_kafka_err2str(err)));
      }
      continue;
    }
    if (name == nullptr) continue;
    size_t entries = 0;
    const rd_kafka_ConfigEntry_t** configs = rd_kafka_ConfigResource_configs(resource, &entries);
    for (size_t j = 0; j < entries; ++j) {
      const char* key = rd_kafka_ConfigEntry_name(configs[j]);
      const char* value = rd_kafka_ConfigEntry_value(configs[j]);
      if (key != nullptr && value != nullptr && std::string_view(key) == kPolicy) {
        out[name] = value;
      }
    }
  }
  return out;
}

std::vector<core::TopicPartition> KafkaAdmin::committed(
    const std::string& group, std::vector<core::TopicPartition> partitions) {
  // A consumer of the group that never joins it: it only fetches offsets.
  ClientEvents events(events_->options());
  HandlePtr consumer = make_handle(RD_KAFKA_CONSUMER,
                                   make_conf(events_->options(), {{"group.id", group}}, events));
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (const auto& tp : partitions) {
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition);
  }
  rd_kafka_resp_err_t err = rd_kafka_committed(consumer.get(), list.get(), timeout_ms());
  if (err) throw_kafka_error(err, "cannot read committed offsets", events, {.detail = "group " + group});
  for (int i = 0; i < list->cnt; ++i) {
    partitions[static_cast<size_t>(i)].offset = list->elems[i].offset >= 0 ? list->elems[i].offset : -1;
  }
  rd_kafka_consumer_close(consumer.get());
  return partitions;
}

bool KafkaAdmin::create_embedded_topic(const std::string& topic, int32_t partitions) {
  // The embedded broker never answers CreateTopics: ask the process that runs
  // it, found from the bootstrap address.
  const ClientOptions& client = events_->options();
  auto property = client.properties.find("bootstrap.servers");
  const std::string& bootstrap =
      property != client.properties.end() ? property->second : client.brokers;
  std::optional<std::string> answer = request_topic(bootstrap, topic, partitions, client.timeout);
  if (!answer) {
    throw Error(Errc::not_found,
                "topic does not exist and the embedded broker does not accept topic requests",
                {.topic = topic,
                 .detail = fmt::format("no socket for {} in {}; pre-create it: goka-cli broker -t {}:{}",
                                       bootstrap, topic_request_directory().string(), topic, partitions)});
  }
  if (*answer == "exists") return false;
  if (answer->starts_with("error ")) {
    throw Error(Errc::config, "the embedded broker cannot create topic: " + answer->substr(6),
                {.topic = topic});
  }
  if (*answer != "ok") {
    throw Error(Errc::kafka, "unexpected answer to a topic request: " + *answer, {.topic = topic});
  }
  await_visible(topic);
  return true;
}

EventPtr KafkaAdmin::admin_result(rd_kafka_queue_t* queue, const char* what,
                                  const std::string& topic) {
  // librdkafka fails the request itself at its timeout; the extra second
  // only guards against an event that never comes.
  EventPtr event(rd_kafka_queue_poll(queue, timeout_ms() + 1000));
  if (!event) throw_kafka_error(RD_KAFKA_RESP_ERR__TIMED_OUT, what, *events_, {.topic = topic});
  if (rd_kafka_resp_err_t err = rd_kafka_event_error(event.get())) {
    Errc code = err == RD_KAFKA_RESP_ERR__TIMED_OUT ? Errc::timeout : Errc::kafka;
    throw Error(code, what, {.topic = topic, .detail = rd_kafka_event_error_string(event.get())});
  }
  return event;
}

namespace {

// The category of a per-topic error of CreateTopics or DeleteTopics.
Errc topic_errc(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART: return Errc::not_found;
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
    case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
    case RD_KAFKA_RESP_ERR_INVALID_CONFIG: return Errc::config;
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT: return Errc::timeout;
    default: return Errc::kafka;
  }
}

// Throws for the first failed topic of an admin result (none: returns);
// ignore: an error that is not a failure (TOPIC_ALREADY_EXISTS), reported
// as true.
bool topic_results(const rd_kafka_topic_result_t** results, size_t count, const char* what,
                   const std::string& topic, rd_kafka_resp_err_t ignore) {
  bool ignored = false;
  for (size_t i = 0; i < count; ++i) {
    rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
    if (!err) continue;
    if (err == ignore) {
      ignored = true;
      continue;
    }
    const char* why = rd_kafka_topic_result_error_string(results[i]);
    throw Error(topic_errc(err), what, {.topic = topic, .detail = why ? why : rd_kafka_err2str(err)});
  }
  return ignored;
}

}  // namespace

bool KafkaAdmin::create_topic(const std::string& topic, int32_t partitions,
                              const Properties& config) {
  if (embedded()) return create_embedded_topic(topic, partitions);
  char errstr[512];
  NewTopicPtr new_topic(
      rd_kafka_NewTopic_new(topic.c_str(), partitions, -1, errstr, sizeof errstr));
  if (!new_topic) throw Error(Errc::config, "cannot create topic", {.topic = topic, .detail = errstr});
  for (const auto& [key, value] : config) {
    rd_kafka_NewTopic_set_config(new_topic.get(), key.c_str(), value.c_str());
  }
  AdminOptionsPtr options(rd_kafka_AdminOptions_new(handle_.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS));
  rd_kafka_AdminOptions_set_request_timeout(options.get(), timeout_ms(), errstr, sizeof errstr);
  rd_kafka_AdminOptions_set_operation_timeout(options.get(), timeout_ms(), errstr, sizeof errstr);
  QueuePtr queue(rd_kafka_queue_new(handle_.get()));
  rd_kafka_NewTopic_t* topics[] = {new_topic.get()};
  rd_kafka_CreateTopics(handle_.get(), topics, 1, options.get(), queue.get());
  EventPtr event = admin_result(queue.get(), "cannot create topic", topic);
  const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(event.get());
  size_t count = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(result, &count);
  // Created by someone else, maybe a moment ago (another instance of a
  // group making its table): it is served as soon as one it made itself.
  bool existed = topic_results(results, count, "cannot create topic", topic,
                               RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS);
  await_visible(topic);
  return !existed;
}

void KafkaAdmin::delete_topic(const std::string& topic) {
  if (embedded()) {
    throw Error(Errc::runtime,
                "the embedded broker cannot delete topics (librdkafka's mock cluster has no "
                "topic deletion)",
                {.topic = topic, .detail = "restart the broker to start over"});
  }
  char errstr[512];
  std::unique_ptr<rd_kafka_DeleteTopic_t, decltype(&rd_kafka_DeleteTopic_destroy)> request(
      rd_kafka_DeleteTopic_new(topic.c_str()), &rd_kafka_DeleteTopic_destroy);
  AdminOptionsPtr options(rd_kafka_AdminOptions_new(handle_.get(), RD_KAFKA_ADMIN_OP_DELETETOPICS));
  rd_kafka_AdminOptions_set_request_timeout(options.get(), timeout_ms(), errstr, sizeof errstr);
  rd_kafka_AdminOptions_set_operation_timeout(options.get(), timeout_ms(), errstr, sizeof errstr);
  QueuePtr queue(rd_kafka_queue_new(handle_.get()));
  rd_kafka_DeleteTopic_t* topics[] = {request.get()};
  rd_kafka_DeleteTopics(handle_.get(), topics, 1, options.get(), queue.get());
  EventPtr event = admin_result(queue.get(), "cannot delete topic", topic);
  const rd_kafka_DeleteTopics_result_t* result = rd_kafka_event_DeleteTopics_result(event.get());
  size_t count = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_DeleteTopics_result_topics(result, &count);
  topic_results(results, count, "cannot delete topic", topic, RD_KAFKA_RESP_ERR_NO_ERROR);
  await_gone(topic);
}

void KafkaAdmin::await_gone(const std::string& topic) {
  auto deadline = std::chrono::steady_clock::now() + events_->options().timeout;
  auto listed = [&] {
    MetadataPtr md = metadata();
    for (int i = 0; i < md->topic_cnt; ++i) {
      if (topic == md->topics[i].topic && !md->topics[i].err) return true;
    }
    return false;
  };
  while (listed()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      throw_kafka_error(RD_KAFKA_RESP_ERR__TIMED_OUT, "deleted topic is still listed", *events_,
                        {.topic = topic});
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // retry backoff
  }
}

void KafkaAdmin::await_visible(const std::string& topic) {
  // CreateTopics answers once the controller has the topic; the broker that
  // answers metadata (and fetches, and produces) may learn of it a moment
  // later. Asking by name is harmless now: the topic exists.
  auto deadline = std::chrono::steady_clock::now() + events_->options().timeout;
  while (!has_leaders(*metadata(&topic))) {
    if (std::chrono::steady_clock::now() >= deadline) {
      throw_kafka_error(RD_KAFKA_RESP_ERR__TIMED_OUT, "created topic has no partition leaders yet",
                        *events_, {.topic = topic});
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // retry backoff
  }
}

}  // namespace goka::kafka
