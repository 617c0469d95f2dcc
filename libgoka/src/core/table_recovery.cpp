#include "core/table_recovery.hpp"

#include <vector>

#include "core/log.hpp"
#include "core/storage_ref.hpp"

namespace goka::core {

TableRecovery::TableRecovery(const GroupGraph& graph, const ClientOptions& client,
                             const std::shared_ptr<Backend>& backend,
                             const std::map<int32_t, PartitionSlot*>& slots) {
  // A storage builder handing out references to the slots' storages of topic.
  auto refs = [&slots, &graph](const std::string& topic) -> StorageBuilder {
    std::map<int32_t, std::shared_ptr<Storage>> targets;
    for (const auto& [p, slot] : slots) {
      targets[p] = topic == graph.table_topic() ? slot->table : slot->joins.at(topic);
    }
    return [targets](const std::string&, int32_t p) -> std::unique_ptr<Storage> {
      return std::make_unique<StorageRef>(targets.at(p));
    };
  };
  ViewOptions options;
  options.client = with_group(client, graph.group());
  for (const auto& [p, slot] : slots) options.partitions.push_back(p);
  if (auto table = graph.table_topic()) {
    options.storage = refs(*table);
    options.follow = false;  // the processor alone writes its table
    table_ = std::make_unique<View>(*table, options, backend);
    table_->start();
  }
  for (const auto& join : graph.joins()) {
    options.storage = refs(join);
    options.follow = true;  // joined tables keep following
    auto view = std::make_unique<View>(join, options, backend);
    view->start();
    joins_[join] = std::move(view);
  }
}

TableRecovery::~TableRecovery() {
  // Stop every view first, so that they end together.
  if (table_) table_->stop();
  for (auto& [join, view] : joins_) view->stop();
}

void TableRecovery::check() const {
  if (table_) {
    if (auto e = table_->error()) throw *e;
  }
  for (const auto& [join, view] : joins_) {
    if (auto e = view->error()) throw *e;
  }
}

bool TableRecovery::recovered() const {
  if (table_ && !table_->recovered()) return false;
  for (const auto& [join, view] : joins_) {
    if (!view->recovered()) return false;
  }
  return true;
}

std::map<int32_t, int64_t> TableRecovery::table_high_watermarks() const {
  std::map<int32_t, int64_t> out;
  if (!table_) return out;
  for (const PartitionStats& s : table_->stats().partitions) out[s.partition] = s.high_watermark;
  return out;
}

}  // namespace goka::core
