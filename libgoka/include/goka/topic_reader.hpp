#pragma once
// TopicReader: reads chosen partitions of one topic from chosen offsets,
// without a consumer group (what `goka-cli dump` and table recovery use).

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "goka/client_options.hpp"
#include "goka/record.hpp"

namespace goka {

namespace core {
class Backend;
class PartitionReader;
}

// Where to start reading a partition.
struct StartOffset {
  enum class Kind { beginning, end, offset, tail, timestamp };
  Kind kind = Kind::beginning;
  int64_t value = 0;  // the offset, the count from the end, or ms since the epoch

  static StartOffset beginning() { return {Kind::beginning, 0}; }
  static StartOffset end() { return {Kind::end, 0}; }
  static StartOffset at(int64_t offset) { return {Kind::offset, offset}; }
  static StartOffset tail(int64_t count) { return {Kind::tail, count}; }
  static StartOffset at_time(int64_t ms) { return {Kind::timestamp, ms}; }
};

struct TopicReaderOptions {
  std::vector<int32_t> partitions;  // empty: all partitions of the topic
  StartOffset start = StartOffset::beginning();
  // true: stop at the high watermarks seen when the reader was created;
  // false: keep reading new records.
  bool stop_at_end = true;
};

// Not thread-safe: one thread calls poll().
class TopicReader {
 public:
  // Throws Errc::not_found when topic does not exist (it is never created),
  // Errc::usage for a partition the topic does not have, Errc::timeout when
  // the cluster does not answer.
  TopicReader(std::string topic, TopicReaderOptions options, ClientOptions client);
  TopicReader(std::string topic, TopicReaderOptions options,
              std::shared_ptr<core::Backend> backend);
  ~TopicReader();

  // Appends the records that arrived within wait (maybe none) to out, in
  // offset order per partition. Returns false once every partition has
  // reached its end (stop_at_end), true otherwise. Throws Errc::kafka on a
  // broker error that does not go away by itself.
  bool poll(std::vector<Record>& out, std::chrono::milliseconds wait);

  // The high watermark per partition seen at start, in partition order.
  const std::vector<std::pair<int32_t, int64_t>>& end_offsets() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace goka
