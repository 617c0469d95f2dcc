#pragma once
// TableRecovery: recovers the group table and the joined tables of the
// partitions assigned to a Processor into their slots' storages, then keeps
// the joined tables following until it is destroyed (internal).
//
//   TableRecovery recovery(graph, client, backend, slots);  // starts reading
//   // in the run loop:
//   recovery.check();                        // throws a view's error
//   if (recovery.recovered()) { ...start processing... }
//
// The group table is read to the high watermark seen at start (the group
// alone writes it); each joined table is read to its end and then followed,
// so joins see other groups' writes. A joined table's view that fails later
// fails check() too: the processor must not go on with a stale table.
//
// Ownership: the views write into the slots' storages through references
// (StorageRef) that share them, so the storages live as long as the views.
// Destroying the TableRecovery stops and joins every view.
//
// Thread-safety: one thread (the Processor's run thread).

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "core/backend.hpp"
#include "core/partition_slot.hpp"
#include "goka/client_options.hpp"
#include "goka/graph.hpp"
#include "goka/view.hpp"

namespace goka::core {

class TableRecovery {
 public:
  // Starts reading the tables of slots (partition -> slot; every slot must
  // outlive nothing here: the storages are shared). REQUIRES: slots not
  // empty. Throws what a View's constructor throws (e.g. a missing table).
  TableRecovery(const GroupGraph& graph, const ClientOptions& client,
                const std::shared_ptr<Backend>& backend,
                const std::map<int32_t, PartitionSlot*>& slots);
  ~TableRecovery();
  TableRecovery(const TableRecovery&) = delete;
  TableRecovery& operator=(const TableRecovery&) = delete;

  // Throws the error that stopped a view: the group table's during its
  // recovery, a joined table's at any time.
  void check() const;
  // Whether every table of every partition is recovered.
  bool recovered() const;
  // Per partition, the group table's high watermark where recovery found it
  // (empty without a group table). REQUIRES: recovered().
  std::map<int32_t, int64_t> table_high_watermarks() const;

 private:
  std::unique_ptr<View> table_;
  std::map<std::string, std::unique_ptr<View>> joins_;
};

}  // namespace goka::core
