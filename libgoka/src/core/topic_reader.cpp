#include "goka/topic_reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "core/backend.hpp"
#include "core/partition_selection.hpp"

namespace goka {

struct TopicReader::State {
  std::string topic;
  bool stop_at_end = true;
  std::unique_ptr<core::PartitionReader> reader;
  std::vector<std::pair<int32_t, int64_t>> end_offsets;
  std::map<int32_t, int64_t> remaining_end;  // partitions still short of their end
  // Partitions read from the beginning because the broker could not look up
  // an offset by time (the embedded broker cannot): their records are
  // dropped until the first one at or after this time.
  std::map<int32_t, int64_t> skip_until_time;
};

TopicReader::TopicReader(std::string topic, TopicReaderOptions options, ClientOptions client)
    : TopicReader(std::move(topic), std::move(options), core::kafka_backend(std::move(client))) {}

TopicReader::TopicReader(std::string topic, TopicReaderOptions options,
                         std::shared_ptr<core::Backend> backend)
    : state_(std::make_unique<State>()) {
  core::Admin& admin = backend->admin();
  std::vector<int32_t> partitions =
      core::select_partitions(admin, topic, options.partitions).partitions;
  state_->topic = topic;
  state_->stop_at_end = options.stop_at_end;
  state_->reader = backend->reader(topic);
  for (int32_t p : partitions) {
    Watermarks w = admin.watermarks(topic, p);
    const StartOffset& start = options.start;
    int64_t offset = w.low;
    switch (start.kind) {
      case StartOffset::Kind::beginning: offset = w.low; break;
      case StartOffset::Kind::end: offset = w.high; break;
      case StartOffset::Kind::offset: offset = std::clamp(start.value, w.low, w.high); break;
      case StartOffset::Kind::tail: offset = std::max(w.low, w.high - start.value); break;
      case StartOffset::Kind::timestamp:
        offset = admin.offset_for_time(topic, p, start.value);
        if (offset < 0) {
          offset = w.low;
          state_->skip_until_time[p] = start.value;
        }
        break;
    }
    state_->end_offsets.emplace_back(p, w.high);
    if (offset < w.high || !options.stop_at_end) state_->remaining_end[p] = w.high;
    if (offset < w.high || !options.stop_at_end) state_->reader->start(p, offset);
  }
}

TopicReader::~TopicReader() = default;

bool TopicReader::poll(std::vector<Record>& out, std::chrono::milliseconds wait) {
  if (state_->stop_at_end && state_->remaining_end.empty()) return false;
  size_t first = out.size();
  state_->reader->poll(out, wait);
  if (!state_->skip_until_time.empty()) {
    auto keep = std::remove_if(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(),
                               [this](const Record& r) {
                                 auto it = state_->skip_until_time.find(r.partition);
                                 if (it == state_->skip_until_time.end()) return false;
                                 if (r.timestamp < it->second) return true;
                                 state_->skip_until_time.erase(it);
                                 return false;
                               });
    out.erase(keep, out.end());
  }
  if (!state_->stop_at_end) return true;
  // Drop what lies past the end seen at start; stop partitions that reached it.
  auto keep = std::remove_if(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(),
                             [this](const Record& r) {
                               auto it = state_->remaining_end.find(r.partition);
                               return it == state_->remaining_end.end() || r.offset >= it->second;
                             });
  out.erase(keep, out.end());
  for (auto it = state_->remaining_end.begin(); it != state_->remaining_end.end();) {
    auto [partition, end] = *it;
    bool last_seen = std::any_of(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(),
                                 [&](const Record& r) {
                                   return r.partition == partition && r.offset + 1 >= end;
                                 });
    if (last_seen || state_->reader->position(partition) >= end) {
      // Not stopped in the reader: reassigning would drop what it prefetched
      // for the other partitions; records past the end are filtered above.
      it = state_->remaining_end.erase(it);
    } else {
      ++it;
    }
  }
  return !state_->remaining_end.empty();
}

const std::vector<std::pair<int32_t, int64_t>>& TopicReader::end_offsets() const {
  return state_->end_offsets;
}

}  // namespace goka
