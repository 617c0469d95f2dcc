#include "goka/topic_manager.hpp"

#include <fmt/format.h>

#include "core/backend.hpp"

namespace goka {

TopicManager::TopicManager(ClientOptions options)
    : backend_(core::kafka_backend(std::move(options))) {}
TopicManager::TopicManager(std::shared_ptr<core::Backend> backend) : backend_(std::move(backend)) {}
TopicManager::~TopicManager() = default;

std::vector<TopicInfo> TopicManager::topics() {
  std::vector<TopicInfo> out = backend_->admin().topics();
  std::vector<std::string> names;
  for (const TopicInfo& info : out) names.push_back(info.name);
  std::map<std::string, std::string> policies = cleanup_policies(names);
  for (TopicInfo& info : out) {
    if (auto it = policies.find(info.name); it != policies.end()) info.cleanup_policy = it->second;
  }
  return out;
}

std::map<std::string, std::string> TopicManager::cleanup_policies(
    const std::vector<std::string>& topics) {
  if (topics.empty()) return {};
  return backend_->admin().cleanup_policies(topics);
}

bool TopicManager::exists(const std::string& topic) {
  return backend_->admin().partitions(topic).has_value();
}

int32_t TopicManager::partitions(const std::string& topic) {
  std::optional<int32_t> count = backend_->admin().partitions(topic);
  if (!count) throw Error(Errc::not_found, "topic does not exist", {.topic = topic});
  return *count;
}

Watermarks TopicManager::watermarks(const std::string& topic, int32_t partition) {
  return backend_->admin().watermarks(topic, partition);
}

std::vector<int64_t> TopicManager::committed(const std::string& group, const std::string& topic) {
  std::vector<core::TopicPartition> partitions;
  for (int32_t p = 0, n = TopicManager::partitions(topic); p < n; ++p) partitions.push_back({topic, p, -1});
  std::vector<int64_t> out;
  for (const auto& tp : backend_->admin().committed(group, std::move(partitions))) out.push_back(tp.offset);
  return out;
}

namespace {

void ensure(core::Admin& admin, const std::string& topic, int32_t partitions,
            const Properties& config) {
  if (partitions < 1) {
    throw Error(Errc::usage, fmt::format("invalid partition count {}", partitions),
                {.topic = topic});
  }
  std::optional<int32_t> count = admin.partitions(topic);
  if (!count) {
    if (admin.create_topic(topic, partitions, config)) return;
    // Created meanwhile by someone else (another instance of the group).
    count = admin.partitions(topic);
    if (!count) throw Error(Errc::kafka, "topic exists but has no partitions yet", {.topic = topic});
  }
  if (*count != partitions) {
    throw Error(Errc::config,
                fmt::format("topic has {} partitions, {} expected", *count, partitions),
                {.topic = topic});
  }
}

}  // namespace

bool TopicManager::create_topic(const std::string& topic, int32_t partitions,
                                const Properties& config) {
  if (partitions < 1) {
    throw Error(Errc::usage, fmt::format("invalid partition count {}", partitions),
                {.topic = topic});
  }
  return backend_->admin().create_topic(topic, partitions, config);
}

void TopicManager::delete_topic(const std::string& topic) { backend_->admin().delete_topic(topic); }

void TopicManager::ensure_stream(const std::string& topic, int32_t partitions) {
  ensure(backend_->admin(), topic, partitions, {});
}

void TopicManager::ensure_table(const std::string& topic, int32_t partitions) {
  ensure(backend_->admin(), topic, partitions, {{"cleanup.policy", "compact"}});
}

int32_t TopicManager::check_copartitioned(const std::vector<std::string>& topics) {
  if (topics.empty()) throw Error(Errc::usage, "no topics to check for co-partitioning");
  std::vector<std::pair<std::string, int32_t>> counts;
  bool equal = true;
  for (const auto& topic : topics) {
    counts.emplace_back(topic, partitions(topic));
    equal = equal && counts.back().second == counts.front().second;
  }
  if (!equal) {
    std::string list;
    for (const auto& [topic, count] : counts) {
      list += fmt::format("{}{} has {}", list.empty() ? "" : ", ", topic, count);
    }
    throw Error(Errc::config, "topics are not co-partitioned", {.detail = list});
  }
  return counts.front().second;
}

}  // namespace goka
