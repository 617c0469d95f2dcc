#pragma once
// TopicManager: what a cluster knows about topics, and making sure the topics
// a processor needs exist.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "goka/client_options.hpp"
#include "goka/properties.hpp"

namespace goka {

namespace core {
class Backend;
}

struct Watermarks {
  int64_t low = 0;   // the oldest offset still in the partition
  int64_t high = 0;  // the offset the next record will get
};

struct TopicInfo {
  std::string name;
  int32_t partitions = 0;
  std::optional<std::string> cleanup_policy;  // when the broker tells it (see cleanup_policies)
};

// Thread-safe. Every call is bounded by options.timeout (Errc::timeout).
class TopicManager {
 public:
  explicit TopicManager(ClientOptions options);
  explicit TopicManager(std::shared_ptr<core::Backend> backend);
  ~TopicManager();

  // All topics of the cluster, sorted by name, internal ones ('__...') left
  // out, each with its cleanup policy where the broker tells it: one metadata
  // request, then one cleanup_policies() request for all of them.
  std::vector<TopicInfo> topics();
  // The cleanup.policy of each of topics ("delete", "compact" or
  // "compact,delete"), asked in ONE request. A topic missing from the result
  // has an unknown policy: it does not exist, the broker refused or did not
  // answer in time (logged once as a warning), or it cannot describe configs
  // at all. Never throws for any of that, and never waits on the embedded
  // broker, which never answers DescribeConfigs: there it returns {} at once.
  std::map<std::string, std::string> cleanup_policies(const std::vector<std::string>& topics);
  // Whether topic exists. Never creates it.
  bool exists(const std::string& topic);
  // Partition count. Throws Errc::not_found naming the topic when it is missing.
  int32_t partitions(const std::string& topic);
  Watermarks watermarks(const std::string& topic, int32_t partition);

  // Creates topic with partitions partitions and config (topic-level
  // properties such as cleanup.policy), and returns once the cluster serves
  // it; false when it exists already (left as it is). On the embedded broker
  // (EmbeddedBroker, `goka-cli broker`) through its topic requests; it keeps
  // no configs. Throws Errc::config for a name, count or config the cluster
  // refuses, Errc::not_found when the cluster cannot create topics (an
  // embedded broker that does not accept topic requests), Errc::timeout,
  // Errc::kafka.
  bool create_topic(const std::string& topic, int32_t partitions, const Properties& config = {});
  // Deletes topic; returns once the cluster no longer lists it. Throws
  // Errc::not_found when it does not exist, Errc::runtime on the embedded
  // broker (which cannot delete topics).
  void delete_topic(const std::string& topic);

  // Makes sure topic exists with partitions partitions. Creates it when it is
  // missing (a table with cleanup.policy=compact) and fails with Errc::config
  // when it exists with another count. A broker that cannot create topics (an
  // embedded broker without topic requests) gives Errc::not_found naming the
  // topic within the timeout.
  void ensure_stream(const std::string& topic, int32_t partitions);
  void ensure_table(const std::string& topic, int32_t partitions);

  // The offsets consumer group group committed (the next offset to read) in
  // every partition of topic, in partition order; -1 where it has none.
  std::vector<int64_t> committed(const std::string& group, const std::string& topic);

  // Throws Errc::config when the topics do not all have the same partition
  // count, naming each topic with its count; returns that count.
  int32_t check_copartitioned(const std::vector<std::string>& topics);

 private:
  std::shared_ptr<core::Backend> backend_;
};

}  // namespace goka
