#pragma once
// GroupAdmin: operating a consumer group (a processor group) from outside
// it, as `kafka-consumer-groups --reset-offsets` does: its members, moving
// its committed offsets, looking offsets up by time, and emptying a topic
// (its group table). The embedded broker (librdkafka's mock cluster) cannot
// describe groups, look offsets up by time, delete records or delete topics:
// those calls fail there with Errc::kafka saying so, never by a timeout.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "goka/client_options.hpp"

namespace goka {

struct GroupMember {
  std::string member_id;
  std::string client_id;
  std::string host;
};

// One partition's offset: the next offset the group reads.
struct PartitionOffset {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
};

// How empty_topic() emptied a topic.
enum class EmptiedBy {
  nothing,          // it held no records
  deleted_records,  // DeleteRecords up to each partition's high watermark
  recreated,        // deleted and created again with its partitions and configuration
};

// Not thread-safe: one thread at a time. Every call is bounded by
// options.timeout (Errc::timeout).
class GroupAdmin {
 public:
  explicit GroupAdmin(ClientOptions options);
  ~GroupAdmin();
  GroupAdmin(const GroupAdmin&) = delete;
  GroupAdmin& operator=(const GroupAdmin&) = delete;

  // Whether the cluster is the embedded broker.
  bool embedded();

  // The active members of group (DescribeGroups); empty when it has none or
  // does not exist. Errc::kafka on the embedded broker.
  std::vector<GroupMember> members(const std::string& group);

  // Commits offsets as group's committed offsets. REQUIRES: the group has
  // no members; a cluster refuses the commit otherwise (Errc::kafka naming
  // the group and the first refused topic/partition).
  void commit(const std::string& group, const std::vector<PartitionOffset>& offsets);

  // The earliest offset of topic/partition whose timestamp is >= ms, or the
  // high watermark when no record is that late. Errc::kafka on the
  // embedded broker, which cannot look offsets up by time.
  int64_t offset_for_time(const std::string& topic, int32_t partition, int64_t ms);

  // Removes every record of topic, so that it reads empty: DeleteRecords up
  // to each partition's high watermark (offsets go on from there), or, for a
  // topic that refuses it (a compacted one: Kafka deletes records only where
  // cleanup.policy includes delete), deletes the topic and creates it again
  // with its partition count and the configuration set on it (offsets start
  // at 0 again). Errc::kafka on the embedded broker; Errc::not_found when
  // topic does not exist.
  EmptiedBy empty_topic(const std::string& topic);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace goka
