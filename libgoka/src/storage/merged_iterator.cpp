// merge_iterators(): a k-way merge of sorted iterators with a binary heap.

#include <algorithm>
#include <cstddef>
#include <optional>
#include <utility>

#include "goka/storage.hpp"

namespace goka {
namespace {

class MergedIterator final : public Iterator {
 public:
  explicit MergedIterator(std::vector<std::unique_ptr<Iterator>> parts) {
    for (auto& part : parts) {
      if (part) parts_.push_back(std::move(part));
    }
    heap_.reserve(parts_.size());
  }

  bool next() override {
    if (!started_) {
      started_ = true;
      for (std::size_t i = 0; i < parts_.size(); ++i) {
        if (parts_[i]->next()) push(i);
      }
    } else if (current_) {
      // Only now advance the part yielded last: its key() and value() had to
      // stay valid until this call.
      if (parts_[*current_]->next()) push(*current_);
    }
    current_.reset();
    if (heap_.empty()) return false;
    std::pop_heap(heap_.begin(), heap_.end(), after_);
    current_ = heap_.back();
    heap_.pop_back();
    return true;
  }

  std::string_view key() const override { return parts_[*current_]->key(); }
  std::string_view value() const override { return parts_[*current_]->value(); }

 private:
  // Orders the heap so that its front is the smallest key, lowest index first.
  struct After {
    const std::vector<std::unique_ptr<Iterator>>* parts;
    bool operator()(std::size_t a, std::size_t b) const {
      auto key_a = (*parts)[a]->key();
      auto key_b = (*parts)[b]->key();
      if (key_a != key_b) return key_a > key_b;
      return a > b;
    }
  };

  void push(std::size_t index) {
    heap_.push_back(index);
    std::push_heap(heap_.begin(), heap_.end(), after_);
  }

  std::vector<std::unique_ptr<Iterator>> parts_;
  std::vector<std::size_t> heap_;  // indexes of parts positioned on a pair
  std::optional<std::size_t> current_;
  bool started_ = false;
  After after_{&parts_};
};

}  // namespace

std::unique_ptr<Iterator> merge_iterators(std::vector<std::unique_ptr<Iterator>> parts) {
  return std::make_unique<MergedIterator>(std::move(parts));
}

}  // namespace goka
