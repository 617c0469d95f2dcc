#include "core/output_gate.hpp"

#include <utility>

namespace goka::core {

void OutputGate::pass(const Held& held) {
  try {
    producer_.produce(held.topic, held.partition, held.key, held.value, held.headers,
                      held.timestamp, held.tag);
  } catch (const Error& e) {
    handler_.on_delivery(Delivery{held.topic, held.partition, -1, e}, held.tag);
  } catch (const std::exception& e) {
    handler_.on_delivery(Delivery{held.topic, held.partition, -1, Error(Errc::kafka, e.what())},
                         held.tag);
  }
}

void OutputGate::produce(int64_t epoch, const std::string& topic, int32_t partition,
                         const std::optional<std::string>& key,
                         const std::optional<std::string>& value, const Headers& headers,
                         int64_t timestamp, void* tag) {
  std::lock_guard lock(mutex_);
  if (open_ == epoch) {
    // Thrown to the caller, who reports it (Producer's contract).
    producer_.produce(topic, partition, key, value, headers, timestamp, tag);
    return;
  }
  held_.push_back(Held{epoch, topic, partition, key, value, headers, timestamp, tag});
}

void OutputGate::open(int64_t epoch) {
  std::lock_guard lock(mutex_);
  open_ = epoch;
  std::vector<Held> later;
  for (Held& held : held_) {
    if (held.epoch == epoch) {
      pass(held);
    } else {
      later.push_back(std::move(held));
    }
  }
  held_ = std::move(later);
}

void OutputGate::close() {
  std::lock_guard lock(mutex_);
  open_.reset();
}

std::size_t OutputGate::held() const {
  std::lock_guard lock(mutex_);
  return held_.size();
}

void OutputGate::fail_held(const Error& error) {
  std::vector<Held> dropped;
  {
    std::lock_guard lock(mutex_);
    dropped.swap(held_);
  }
  for (const Held& held : dropped) {
    handler_.on_delivery(Delivery{held.topic, held.partition, -1, error}, held.tag);
  }
}

}  // namespace goka::core
