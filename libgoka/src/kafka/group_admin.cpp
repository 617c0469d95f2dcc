// GroupAdmin on librdkafka's admin API (DescribeConsumerGroups,
// DeleteRecords, DescribeConfigs, DeleteTopics, CreateTopics) and a consumer
// of the group that never joins it (commits).

#include "goka/group_admin.hpp"

#include <fmt/format.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string_view>
#include <thread>

#include "goka/error.hpp"
#include "goka/properties.hpp"
#include "goka/topic_manager.hpp"
#include "kafka/client.hpp"

namespace goka {

using kafka::AdminOptionsPtr;
using kafka::EventPtr;
using kafka::PartitionListPtr;
using kafka::QueuePtr;

struct GroupAdmin::State {
  explicit State(ClientOptions options) : events(std::move(options)) {
    handle = kafka::make_handle(RD_KAFKA_PRODUCER, kafka::make_conf(events.options(), {}, events));
  }
  int timeout_ms() const { return static_cast<int>(events.options().timeout.count()); }

  // Runs one admin request (start sends it to the queue with the options)
  // and returns its result event; throws for a timeout or a request error.
  EventPtr request(rd_kafka_admin_op_t op, const std::string& what, const ErrorContext& context,
                   const std::function<void(rd_kafka_AdminOptions_t*, rd_kafka_queue_t*)>& start) {
    char errstr[512];
    AdminOptionsPtr options(rd_kafka_AdminOptions_new(handle.get(), op));
    rd_kafka_AdminOptions_set_request_timeout(options.get(), timeout_ms(), errstr, sizeof errstr);
    rd_kafka_AdminOptions_set_operation_timeout(options.get(), timeout_ms(), errstr,
                                                sizeof errstr);
    QueuePtr queue(rd_kafka_queue_new(handle.get()));
    start(options.get(), queue.get());
    // librdkafka fails the request at its timeout; the extra second guards
    // against an event that never comes.
    EventPtr event(rd_kafka_queue_poll(queue.get(), timeout_ms() + 1000));
    if (!event) kafka::throw_kafka_error(RD_KAFKA_RESP_ERR__TIMED_OUT, what, events, context);
    if (rd_kafka_resp_err_t err = rd_kafka_event_error(event.get())) {
      const char* why = rd_kafka_event_error_string(event.get());
      ErrorContext with = context;
      with.detail = why ? why : rd_kafka_err2str(err);
      throw Error(err == RD_KAFKA_RESP_ERR__TIMED_OUT ? Errc::timeout : Errc::kafka, what,
                  std::move(with));
    }
    return event;
  }

  // The partition count of topic from the metadata of every topic (asking
  // for it by name could make the cluster create it); nullopt when missing.
  std::optional<int32_t> partitions(const std::string& topic) {
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_resp_err_t err = rd_kafka_metadata(handle.get(), 1, nullptr, &md, timeout_ms());
    if (err) kafka::throw_kafka_error(err, "cannot get metadata", events, {.topic = topic});
    kafka::MetadataPtr owned(md);
    for (int i = 0; i < md->topic_cnt; ++i) {
      if (topic == md->topics[i].topic && !md->topics[i].err) return md->topics[i].partition_cnt;
    }
    return std::nullopt;
  }

  Watermarks watermarks(const std::string& topic, int32_t partition) {
    Watermarks w;
    rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
        handle.get(), topic.c_str(), partition, &w.low, &w.high, timeout_ms());
    if (err) {
      kafka::throw_kafka_error(err, "cannot get watermarks", events,
                               {.topic = topic, .partition = partition});
    }
    return w;
  }

  // Fails with Errc::kafka when the cluster is the embedded broker, which
  // cannot do what.
  void require_real_cluster(bool is_embedded, const std::string& what, const ErrorContext& context) {
    if (is_embedded) {
      throw Error(Errc::kafka,
                  fmt::format("the embedded broker cannot {}; this needs a real Kafka cluster",
                              what),
                  context);
    }
  }

  // Properties set on topic itself (DescribeConfigs, source dynamic topic
  // config), to create it again with them.
  Properties topic_config(const std::string& topic);
  void delete_topic(const std::string& topic);
  void create_topic(const std::string& topic, int32_t partitions, const Properties& config);
  // Polls (every 100 ms, up to the timeout) until done() is true.
  void await(const std::string& what, const std::string& topic, const std::function<bool()>& done);

  kafka::ClientEvents events;
  kafka::HandlePtr handle;
  int embedded = -1;  // -1: not known yet
};

GroupAdmin::GroupAdmin(ClientOptions options)
    : state_(std::make_unique<State>(std::move(options))) {}
GroupAdmin::~GroupAdmin() = default;

bool GroupAdmin::embedded() {
  if (state_->embedded >= 0) return state_->embedded == 1;
  char* id = rd_kafka_clusterid(state_->handle.get(), state_->timeout_ms());
  if (id == nullptr) {
    kafka::throw_kafka_error(RD_KAFKA_RESP_ERR__TIMED_OUT, "cannot learn the cluster id",
                             state_->events);
  }
  state_->embedded = std::string_view(id).starts_with("mockCluster") ? 1 : 0;
  rd_kafka_mem_free(state_->handle.get(), id);
  return state_->embedded == 1;
}

std::vector<GroupMember> GroupAdmin::members(const std::string& group) {
  const ErrorContext context{.detail = "group " + group};
  state_->require_real_cluster(embedded(), "describe consumer groups (DescribeGroups)", context);
  EventPtr event = state_->request(
      RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS, "cannot describe the consumer group", context,
      [&](rd_kafka_AdminOptions_t* options, rd_kafka_queue_t* queue) {
        const char* groups[] = {group.c_str()};
        rd_kafka_DescribeConsumerGroups(state_->handle.get(), groups, 1, options, queue);
      });
  size_t count = 0;
  const rd_kafka_ConsumerGroupDescription_t** described = rd_kafka_DescribeConsumerGroups_result_groups(
      rd_kafka_event_DescribeConsumerGroups_result(event.get()), &count);
  std::vector<GroupMember> out;
  for (size_t i = 0; i < count; ++i) {
    if (const rd_kafka_error_t* error = rd_kafka_ConsumerGroupDescription_error(described[i])) {
      if (rd_kafka_error_code(error) == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) continue;
      throw Error(Errc::kafka, "cannot describe the consumer group",
                  {.detail = fmt::format("group {}: {}", group, rd_kafka_error_string(error))});
    }
    for (size_t m = 0, n = rd_kafka_ConsumerGroupDescription_member_count(described[i]); m < n;
         ++m) {
      const rd_kafka_MemberDescription_t* member =
          rd_kafka_ConsumerGroupDescription_member(described[i], m);
      auto text = [](const char* s) { return std::string(s ? s : ""); };
      out.push_back({text(rd_kafka_MemberDescription_consumer_id(member)),
                     text(rd_kafka_MemberDescription_client_id(member)),
                     text(rd_kafka_MemberDescription_host(member))});
    }
  }
  return out;
}

void GroupAdmin::commit(const std::string& group, const std::vector<PartitionOffset>& offsets) {
  if (offsets.empty()) return;
  // A consumer of the group that never joins it: its commits carry no
  // member, which a cluster accepts only while the group has none.
  kafka::ClientEvents events(state_->events.options());
  kafka::HandlePtr consumer = kafka::make_handle(
      RD_KAFKA_CONSUMER,
      kafka::make_conf(events.options(), {{"group.id", group}, {"enable.auto.commit", "false"}},
                       events));
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  for (const PartitionOffset& o : offsets) {
    rd_kafka_topic_partition_list_add(list.get(), o.topic.c_str(), o.partition)->offset = o.offset;
  }
  rd_kafka_resp_err_t err = rd_kafka_commit(consumer.get(), list.get(), 0);
  ErrorContext context{.detail = "group " + group};
  for (int i = 0; !err && i < list->cnt; ++i) {
    if (list->elems[i].err) {
      err = list->elems[i].err;
      context.topic = list->elems[i].topic;
      context.partition = list->elems[i].partition;
    }
  }
  rd_kafka_consumer_close(consumer.get());
  if (err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID || err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
      err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS) {
    throw Error(Errc::kafka,
                fmt::format("the cluster refused the offsets: group {} has active members ({})",
                            group, rd_kafka_err2str(err)),
                std::move(context));
  }
  if (err) kafka::throw_kafka_error(err, "cannot commit offsets", events, std::move(context));
}

int64_t GroupAdmin::offset_for_time(const std::string& topic, int32_t partition, int64_t ms) {
  const ErrorContext context{.topic = topic, .partition = partition};
  state_->require_real_cluster(embedded(), "look up offsets by time", context);
  PartitionListPtr list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition)->offset = ms;
  rd_kafka_resp_err_t err =
      rd_kafka_offsets_for_times(state_->handle.get(), list.get(), state_->timeout_ms());
  if (!err) err = list->elems[0].err;
  if (err) kafka::throw_kafka_error(err, "cannot look up offset by time", state_->events, context);
  const int64_t offset = list->elems[0].offset;
  return offset >= 0 ? offset : state_->watermarks(topic, partition).high;  // none that late
}

EmptiedBy GroupAdmin::empty_topic(const std::string& topic) {
  const ErrorContext context{.topic = topic};
  state_->require_real_cluster(embedded(), "delete records or topics", context);
  std::optional<int32_t> partitions = state_->partitions(topic);
  if (!partitions) throw Error(Errc::not_found, "topic does not exist", context);
  PartitionListPtr list(rd_kafka_topic_partition_list_new(*partitions));
  for (int32_t p = 0; p < *partitions; ++p) {
    const Watermarks w = state_->watermarks(topic, p);
    if (w.high > w.low) rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset = w.high;
  }
  if (list->cnt == 0) return EmptiedBy::nothing;
  EventPtr event = state_->request(
      RD_KAFKA_ADMIN_OP_DELETERECORDS, "cannot delete records", context,
      [&](rd_kafka_AdminOptions_t* options, rd_kafka_queue_t* queue) {
        kafka::DeleteRecordsPtr request(rd_kafka_DeleteRecords_new(list.get()));
        rd_kafka_DeleteRecords_t* requests[] = {request.get()};
        rd_kafka_DeleteRecords(state_->handle.get(), requests, 1, options, queue);
      });
  const rd_kafka_topic_partition_list_t* result =
      rd_kafka_DeleteRecords_result_offsets(rd_kafka_event_DeleteRecords_result(event.get()));
  bool refused = false;
  for (int i = 0; result != nullptr && i < result->cnt; ++i) {
    const rd_kafka_resp_err_t err = result->elems[i].err;
    if (err == RD_KAFKA_RESP_ERR_POLICY_VIOLATION) {
      refused = true;  // a compacted topic
    } else if (err) {
      kafka::throw_kafka_error(err, "cannot delete records", state_->events,
                               {.topic = topic, .partition = result->elems[i].partition});
    }
  }
  if (!refused) return EmptiedBy::deleted_records;
  const Properties config = state_->topic_config(topic);
  state_->delete_topic(topic);
  state_->create_topic(topic, *partitions, config);
  return EmptiedBy::recreated;
}

Properties GroupAdmin::State::topic_config(const std::string& topic) {
  kafka::ConfigResourcePtr resource(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str()));
  EventPtr event = request(RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, "cannot describe the topic's config",
                           {.topic = topic},
                           [&](rd_kafka_AdminOptions_t* options, rd_kafka_queue_t* queue) {
                             rd_kafka_ConfigResource_t* resources[] = {resource.get()};
                             rd_kafka_DescribeConfigs(handle.get(), resources, 1, options, queue);
                           });
  size_t count = 0;
  const rd_kafka_ConfigResource_t** described = rd_kafka_DescribeConfigs_result_resources(
      rd_kafka_event_DescribeConfigs_result(event.get()), &count);
  Properties config;
  for (size_t i = 0; i < count; ++i) {
    if (rd_kafka_resp_err_t err = rd_kafka_ConfigResource_error(described[i])) {
      kafka::throw_kafka_error(err, "cannot describe the topic's config", events, {.topic = topic});
    }
    size_t entries = 0;
    const rd_kafka_ConfigEntry_t** configs = rd_kafka_ConfigResource_configs(described[i], &entries);
    for (size_t j = 0; j < entries; ++j) {
      const char* value = rd_kafka_ConfigEntry_value(configs[j]);
      if (value != nullptr &&
          rd_kafka_ConfigEntry_source(configs[j]) == RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG) {
        config[rd_kafka_ConfigEntry_name(configs[j])] = value;
      }
    }
  }
  return config;
}

void GroupAdmin::State::delete_topic(const std::string& topic) {
  EventPtr event = request(RD_KAFKA_ADMIN_OP_DELETETOPICS, "cannot delete topic", {.topic = topic},
                           [&](rd_kafka_AdminOptions_t* options, rd_kafka_queue_t* queue) {
                             kafka::DeleteTopicPtr del(rd_kafka_DeleteTopic_new(topic.c_str()));
                             rd_kafka_DeleteTopic_t* topics[] = {del.get()};
                             rd_kafka_DeleteTopics(handle.get(), topics, 1, options, queue);
                           });
  size_t count = 0;
  const rd_kafka_topic_result_t** results =
      rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(event.get()), &count);
  for (size_t i = 0; i < count; ++i) {
    if (rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i])) {
      kafka::throw_kafka_error(err, "cannot delete topic", events, {.topic = topic});
    }
  }
  await("deleted topic is still listed", topic, [&] { return !partitions(topic); });
}

void GroupAdmin::State::create_topic(const std::string& topic, int32_t count,
                                     const Properties& config) {
  // Right after a deletion the cluster may still say the topic exists.
  await("cannot create the topic again", topic, [&] {
    char errstr[512];
    kafka::NewTopicPtr new_topic(rd_kafka_NewTopic_new(topic.c_str(), count, -1, errstr, sizeof errstr));
    if (!new_topic) throw Error(Errc::config, "cannot create topic", {.topic = topic, .detail = errstr});
    for (const auto& [key, value] : config) {
      rd_kafka_NewTopic_set_config(new_topic.get(), key.c_str(), value.c_str());
    }
    EventPtr event = request(RD_KAFKA_ADMIN_OP_CREATETOPICS, "cannot create topic", {.topic = topic},
                             [&](rd_kafka_AdminOptions_t* options, rd_kafka_queue_t* queue) {
                               rd_kafka_NewTopic_t* topics[] = {new_topic.get()};
                               rd_kafka_CreateTopics(handle.get(), topics, 1, options, queue);
                             });
    size_t n = 0;
    const rd_kafka_topic_result_t** results =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event.get()), &n);
    for (size_t i = 0; i < n; ++i) {
      rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
      if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) return false;  // deletion not done yet
      if (err) kafka::throw_kafka_error(err, "cannot create topic", events, {.topic = topic});
    }
    return true;
  });
  // Until every partition has a leader, producers and readers fail on it.
  await("created topic has no partition leaders yet", topic, [&] {
    std::optional<int32_t> known = partitions(topic);
    if (!known) return false;
    for (int32_t p = 0; p < *known; ++p) {
      Watermarks w;
      if (rd_kafka_query_watermark_offsets(handle.get(), topic.c_str(), p, &w.low, &w.high,
                                           timeout_ms())) {
        return false;
      }
    }
    return true;
  });
}

void GroupAdmin::State::await(const std::string& what, const std::string& topic,
                              const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + events.options().timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      kafka::throw_kafka_error(RD_KAFKA_RESP_ERR__TIMED_OUT, what, events, {.topic = topic});
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // retry backoff
  }
}

}  // namespace goka
