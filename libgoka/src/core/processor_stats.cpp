#include "core/processor_stats.hpp"

#include <algorithm>

namespace goka::core {
namespace {

template <class Map>
std::optional<int64_t> find(const Map& map, const std::string& key) {
  auto it = map.find(key);
  if (it == map.end()) return std::nullopt;
  return it->second;
}

}  // namespace

std::optional<int64_t> input_lag(int64_t high, std::optional<int64_t> low,
                                 std::optional<int64_t> committed,
                                 std::optional<int64_t> next_handed_over, StartPolicy start) {
  std::optional<int64_t> from = committed ? committed : next_handed_over;
  if (!from) {
    if (start == StartPolicy::latest) return 0;  // it starts at the end
    if (!low) return std::nullopt;
    from = low;
  }
  if (low) from = std::max(*from, *low);
  return std::max<int64_t>(0, high - *from);
}

ProcessorPartitionStats slot_stats(const PartitionSlot& slot, const GroupConsumer& consumer,
                                   const std::vector<std::string>& consumed, StartPolicy start,
                                   std::chrono::steady_clock::time_point now) {
  ProcessorPartitionStats st;
  st.partition = slot.number;
  st.state = slot.state;
  st.processed = slot.processed.load(std::memory_order_relaxed);
  st.bytes = slot.bytes.load(std::memory_order_relaxed);
  st.dropped = slot.dropped.load(std::memory_order_relaxed);
  double seconds = std::chrono::duration<double>(now - slot.assigned_at).count();
  st.rate = seconds > 0 ? static_cast<double>(st.processed) / seconds : 0;
  st.committed = slot.committed;
  for (const auto& topic : consumed) {
    auto high = consumer.fetched_high_watermark(topic, slot.number);
    if (!high) continue;
    st.high_watermark[topic] = *high;
    auto lag = input_lag(*high, consumer.fetched_low_watermark(topic, slot.number),
                         find(slot.committed, topic), find(slot.next, topic), start);
    if (lag) st.lag[topic] = *lag;
  }
  if (slot.table && slot.processor) {
    st.table_offset = slot.processor->table_offset();
    // The group alone writes its table: its end is past the newest
    // acknowledged write, or where recovery found it.
    st.table_high_watermark = std::max(slot.table_recovered_high, st.table_offset + 1);
  }
  return st;
}

}  // namespace goka::core
