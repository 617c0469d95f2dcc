#pragma once
// StorageRef: a Storage that forwards to one shared with its owner, so that a
// View can recover a storage the processor goes on using. close() closes
// only the reference, never the shared storage.

#include <memory>

#include "goka/storage.hpp"

namespace goka::core {

class StorageRef final : public Storage {
 public:
  explicit StorageRef(std::shared_ptr<Storage> target) : target_(std::move(target)) {}

  bool has(std::string_view key) const override { return target_->has(key); }
  std::optional<std::string> get(std::string_view key) const override { return target_->get(key); }
  void set(std::string_view key, std::string_view value) override { target_->set(key, value); }
  void erase(std::string_view key) override { target_->erase(key); }
  std::optional<int64_t> get_offset() const override { return target_->get_offset(); }
  void set_offset(int64_t offset) override { target_->set_offset(offset); }
  void apply(const WriteBatch& batch) override { target_->apply(batch); }
  void mark_recovered() override { target_->mark_recovered(); }
  bool recovered() const override { return target_->recovered(); }
  std::unique_ptr<Iterator> range_iterator(std::string_view from,
                                           std::optional<std::string_view> to) const override {
    return target_->range_iterator(from, to);
  }
  void close() override {}

 private:
  std::shared_ptr<Storage> target_;
};

}  // namespace goka::core
