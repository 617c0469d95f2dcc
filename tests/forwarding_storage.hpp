#pragma once
// A Storage that forwards every call to an in-memory storage: the base of the
// tests' storages that watch or break some of its calls.

#include <memory>

#include "goka/storage.hpp"

namespace goka::test {

class ForwardingStorage : public Storage {
 public:
  bool has(std::string_view key) const override { return inner_->has(key); }
  std::optional<std::string> get(std::string_view key) const override { return inner_->get(key); }
  void set(std::string_view key, std::string_view value) override { inner_->set(key, value); }
  void erase(std::string_view key) override { inner_->erase(key); }
  std::optional<int64_t> get_offset() const override { return inner_->get_offset(); }
  void set_offset(int64_t offset) override { inner_->set_offset(offset); }
  void apply(const WriteBatch& batch) override { inner_->apply(batch); }
  void mark_recovered() override { inner_->mark_recovered(); }
  bool recovered() const override { return inner_->recovered(); }
  std::unique_ptr<Iterator> range_iterator(std::string_view from,
                                           std::optional<std::string_view> to) const override {
    return inner_->range_iterator(from, to);
  }
  void close() override { inner_->close(); }

 private:
  std::unique_ptr<Storage> inner_ = make_memory_storage();
};

}  // namespace goka::test
