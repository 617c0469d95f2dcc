#include "core/partition_processor.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <exception>
#include <utility>

#include "goka/context.hpp"
#include "goka/hasher.hpp"

namespace goka::core {
namespace {

// Thrown by Context::fail(). Deliberately not a std::exception, so that
// callbacks catching std::exception do not swallow it by accident.
struct FailSignal {};

}  // namespace

// The Context of one message: lives on process()'s stack during the callback.
class PartitionProcessor::MessageContext final : public Context {
 public:
  MessageContext(PartitionProcessor& pp, const Record& record, CommitTracker::Message* message)
      : pp_(pp), record_(record), key_(record.key.value_or("")), message_(message) {}

  // The failure recorded by a call of this context (even if the callback
  // caught the exception), if any.
  const std::optional<Error>& failure() const { return failure_; }

  ErrorContext error_context(std::optional<std::string> detail = std::nullopt) const {
    return ErrorContext{record_.topic, pp_.partition_, record_.offset, std::move(detail)};
  }

  const std::string& topic() const override { return record_.topic; }
  const std::string& key() const override { return key_; }
  int32_t partition() const override { return pp_.partition_; }
  int64_t offset() const override { return record_.offset; }
  int64_t timestamp() const override { return record_.timestamp; }
  const Headers& headers() const override { return record_.headers; }
  const std::string& group() const override { return pp_.graph_.group(); }

  std::optional<std::string> value() const override {
    require_table("value");
    if (auto it = pp_.overlay_.find(key_); it != pp_.overlay_.end()) return it->second;
    if (pp_.has_sealed_.load(std::memory_order_acquire)) {
      // A key not sealed keeps its stored value while apply_sealed() runs.
      std::lock_guard lock(pp_.storage_mutex_);
      if (auto it = pp_.sealed_.find(key_); it != pp_.sealed_.end()) return it->second;
    }
    return pp_.table_->get(key_);
  }

  void set_value(std::string_view value) override {
    require_table("set_value");
    pp_.write(key_, value);
    produce(*pp_.table_topic_, pp_.partition_, key_, std::string(value), {});
  }

  void delete_value() override {
    require_table("delete_value");
    pp_.write(key_, std::nullopt);
    produce(*pp_.table_topic_, pp_.partition_, key_, std::nullopt, {});
  }

  std::optional<std::string> join(const std::string& table) const override {
    auto it = pp_.joins_.find(table);
    if (it == pp_.joins_.end()) {
      fail_with(Errc::usage, fmt::format("join of table '{}', which group '{}' does not join",
                                         table, pp_.graph_.group()));
    }
    return it->second->get(key_);
  }

  std::optional<std::string> lookup(const std::string& table, std::string_view key) const override {
    if (!pp_.lookups_.contains(table)) {
      fail_with(Errc::usage,
                fmt::format("lookup in table '{}', which group '{}' does not declare as lookup",
                            table, pp_.graph_.group()));
    }
    return pp_.lookup_(table, key);
  }

  void emit(const std::string& topic, std::string_view key, std::optional<std::string_view> value,
            const Headers& headers) override {
    if (!pp_.outputs_.contains(topic)) {
      fail_with(Errc::usage, fmt::format("emit to topic '{}', which is not an output of group '{}'",
                                         topic, pp_.graph_.group()));
    }
    int32_t partition = partition_for(key, pp_.partitions_of(topic));
    produce(topic, partition, std::string(key), to_string(value), headers);
  }

  void loopback(std::string_view key, std::optional<std::string_view> value) override {
    if (!pp_.loop_topic_) {
      fail_with(Errc::usage,
                fmt::format("loopback in group '{}', which has no loop edge", pp_.graph_.group()));
    }
    const std::string& topic = *pp_.loop_topic_;
    int32_t partition = partition_for(key, pp_.partitions_of(topic));
    produce(topic, partition, std::string(key), to_string(value), {});
  }

  [[noreturn]] void fail(const std::string& reason) override {
    if (!failure_) failure_ = Error(Errc::runtime, reason, error_context());
    throw FailSignal{};
  }

  CommitCompletion defer_commit() override { return pp_.tracker_.defer(message_); }

 private:
  static std::optional<std::string> to_string(std::optional<std::string_view> value) {
    if (!value) return std::nullopt;
    return std::string(*value);
  }

  // Records the failure of this message (the first one counts) and throws it.
  [[noreturn]] void fail_with(Errc code, std::string message) const {
    Error error(code, std::move(message), error_context());
    if (!failure_) failure_ = error;
    throw error;
  }

  void require_table(const char* call) const {
    if (pp_.table_ == nullptr) {
      fail_with(Errc::usage, fmt::format("{}() in group '{}', which has no persist edge", call,
                                         pp_.graph_.group()));
    }
  }

  // Produces one output of this message, tracked by the commit tracker.
  void produce(const std::string& topic, int32_t partition, std::optional<std::string> key,
               const std::optional<std::string>& value, const Headers& headers) {
    pp_.tracker_.expect(message_);
    try {
      pp_.producer_->produce(topic, partition, key, value, headers, 0, message_);
    } catch (const Error& e) {
      CommitTracker::deliver(Delivery{topic, partition, -1, e}, message_);
      throw;
    } catch (const std::exception& e) {
      CommitTracker::deliver(Delivery{topic, partition, -1, Error(Errc::kafka, e.what())},
                             message_);
      throw;
    }
  }

  PartitionProcessor& pp_;
  const Record& record_;
  const std::string key_;
  CommitTracker::Message* const message_;
  mutable std::optional<Error> failure_;
};

PartitionProcessor::PartitionProcessor(PartitionProcessorConfig config)
    : graph_(*config.graph),
      partition_(config.partition),
      table_(config.table),
      joins_(std::move(config.joins)),
      lookup_(std::move(config.lookup)),
      producer_(config.producer),
      partition_count_(std::move(config.partition_count)),
      table_topic_(config.graph->table_topic()),
      loop_topic_(config.graph->loop_topic()),
      batch_writes_(config.batch_writes),
      tracker_(config.partition,
               [this](const Delivery& delivery) { return on_delivery(delivery); }) {
  const std::string& group = graph_.group();
  auto missing = [&](const std::string& what) {
    throw Error(Errc::usage, fmt::format("partition processor of group '{}': {}", group, what),
                {.partition = partition_});
  };
  if (producer_ == nullptr) missing("no producer");
  if (table_topic_.has_value() != (table_ != nullptr)) {
    missing(table_ ? "a table storage but no persist edge" : "no storage for the group table");
  }
  for (const std::string& table : graph_.joins()) {
    auto it = joins_.find(table);
    if (it == joins_.end() || it->second == nullptr) {
      missing(fmt::format("no storage for joined table '{}'", table));
    }
  }
  for (std::string& table : graph_.lookups()) lookups_.insert(std::move(table));
  if (!lookups_.empty() && !lookup_) missing("no lookup function for its lookup tables");
  for (std::string& topic : graph_.outputs()) outputs_.insert(std::move(topic));
  if ((!outputs_.empty() || loop_topic_) && !partition_count_) {
    missing("no partition count function for its outputs");
  }
  for (auto& [topic, callback] : graph_.inputs()) callbacks_.emplace(topic, callback);
  if (loop_topic_) callbacks_.emplace(*loop_topic_, *graph_.loop());
  if (table_ != nullptr) table_offset_ = stored_offset_ = table_->get_offset().value_or(-1);
}

PartitionProcessor::~PartitionProcessor() = default;

std::optional<Error> PartitionProcessor::on_delivery(const Delivery& delivery) {
  if (!table_topic_ || delivery.topic != *table_topic_ || delivery.partition != partition_) {
    return std::nullopt;
  }
  try {
    std::lock_guard lock(storage_mutex_);
    if (delivery.offset > table_offset_) {
      table_offset_ = delivery.offset;
      if (!batch_writes_) {
        table_->set_offset(delivery.offset);
        stored_offset_ = delivery.offset;
      }
    }
    return std::nullopt;
  } catch (const Error& e) {
    return e;
  } catch (const std::exception& e) {
    return Error(Errc::runtime, e.what());
  }
}

void PartitionProcessor::write(const std::string& key, std::optional<std::string_view> value) {
  if (batch_writes_) {
    overlay_.insert_or_assign(key, value ? std::optional<std::string>(*value) : std::nullopt);
    return;
  }
  std::lock_guard lock(storage_mutex_);
  if (value) {
    table_->set(key, *value);
  } else {
    table_->erase(key);
  }
}

void PartitionProcessor::flush() {
  if (table_ == nullptr) return;
  std::lock_guard lock(storage_mutex_);
  if (overlay_.empty() && stored_offset_ >= table_offset_) return;
  WriteBatch batch;
  for (const auto& [key, value] : overlay_) {
    if (value) {
      batch.put(key, *value);
    } else {
      batch.erase(key);
    }
  }
  if (table_offset_ > stored_offset_) batch.set_offset(table_offset_);
  table_->apply(batch);
  overlay_.clear();
  stored_offset_ = table_offset_;
}

void PartitionProcessor::seal_overlay() {
  if (overlay_.empty()) return;
  std::lock_guard lock(storage_mutex_);
  if (sealed_.empty()) {
    sealed_.swap(overlay_);
  } else {
    for (auto& [key, value] : overlay_) sealed_.insert_or_assign(key, std::move(value));
    overlay_.clear();
  }
  has_sealed_.store(true, std::memory_order_release);
}

void PartitionProcessor::apply_sealed(int64_t table_offset) {
  if (table_ == nullptr) return;
  std::lock_guard lock(storage_mutex_);
  if (sealed_.empty() && stored_offset_ >= table_offset) return;
  WriteBatch batch;
  for (const auto& [key, value] : sealed_) {
    if (value) {
      batch.put(key, *value);
    } else {
      batch.erase(key);
    }
  }
  if (table_offset > stored_offset_) batch.set_offset(table_offset);
  table_->apply(batch);
  sealed_.clear();
  has_sealed_.store(false, std::memory_order_release);
  stored_offset_ = std::max(stored_offset_, table_offset);
}

int64_t PartitionProcessor::table_offset() const {
  std::lock_guard lock(storage_mutex_);
  return table_offset_;
}

int32_t PartitionProcessor::partitions_of(const std::string& topic) {
  if (auto it = partition_counts_.find(topic); it != partition_counts_.end()) return it->second;
  int32_t count = partition_count_(topic);
  if (count < 1) {
    throw Error(Errc::not_found, fmt::format("topic '{}' has no partitions", topic),
                {.topic = topic});
  }
  partition_counts_.emplace(topic, count);
  return count;
}

void PartitionProcessor::process(const Record& record) {
  if (auto error = tracker_.error()) throw *error;
  ErrorContext where{record.topic, record.partition, record.offset, std::nullopt};
  if (record.partition != partition_) {
    where.detail = fmt::format("processor of partition {}", partition_);
    throw Error(Errc::usage, "record of another partition", where);
  }
  auto callback = callbacks_.find(record.topic);
  if (callback == callbacks_.end()) {
    throw Error(Errc::usage,
                fmt::format("group '{}' does not consume topic '{}'", graph_.group(), record.topic),
                where);
  }
  CommitTracker::Message* message = tracker_.begin(record.topic, record.offset);

  std::optional<std::string> value = record.value;
  if (!value) {
    switch (graph_.nil_handling()) {
      case NilHandling::ignore:
        tracker_.seal(message);
        return;
      case NilHandling::process:
        break;
      case NilHandling::decode:
        value.emplace();
        break;
    }
  }

  MessageContext context(*this, record, message);
  std::optional<Error> failure;
  try {
    callback->second(context, value);
  } catch (const FailSignal&) {
  } catch (const Error& e) {
    std::string inner = e.context_text();
    failure = Error(
        e.code(), e.message(),
        context.error_context(inner.empty() ? std::nullopt : std::optional<std::string>(inner)));
  } catch (const std::exception& e) {
    failure =
        Error(Errc::runtime, fmt::format("callback failed: {}", e.what()), context.error_context());
  } catch (...) {
    failure =
        Error(Errc::runtime, "callback failed with an unknown exception", context.error_context());
  }
  // A failure recorded by the context wins: it is the cause, even when the
  // callback caught it and threw something else (or nothing).
  if (context.failure()) failure = context.failure();
  if (failure) {
    tracker_.fail(message, std::move(*failure));
  } else {
    tracker_.seal(message);
  }
  if (auto error = tracker_.error()) throw *error;
}

}  // namespace goka::core
