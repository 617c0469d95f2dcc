// Storage and WriteBatch members shared by every implementation.

#include "goka/storage.hpp"

#include <charconv>
#include <system_error>
#include <utility>

#include "storage/storage_util.hpp"

namespace goka {
namespace storage {

std::string format_offset(int64_t offset) {
  char buffer[24];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, offset);
  return std::string(buffer, result.ptr);
}

std::optional<int64_t> parse_offset(std::string_view text) noexcept {
  if (!text.empty() && text.front() == '+') {
    text.remove_prefix(1);
    if (!text.empty() && text.front() == '-') return std::nullopt;
  }
  if (text.empty()) return std::nullopt;
  int64_t value = 0;
  auto result = std::from_chars(text.data(), text.data() + text.size(), value, 10);
  if (result.ec != std::errc{} || result.ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<int64_t> decode_offset(const std::optional<std::string>& text,
                                     const ErrorContext& context) {
  if (!text) return std::nullopt;
  if (auto offset = parse_offset(*text)) return offset;
  ErrorContext where = context;
  std::string value = "value \"" + *text + "\"";
  where.detail = where.detail ? *where.detail + ", " + value : value;
  throw Error(Errc::decode, "stored offset is not a decimal integer", where);
}

std::optional<std::string> prefix_limit(std::string_view prefix) {
  std::string limit(prefix);
  while (!limit.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(limit.back());
    if (last != 0xff) {
      ++last;
      return limit;
    }
    limit.pop_back();
  }
  return std::nullopt;
}

void check_writable_key(std::string_view key, const ErrorContext& context) {
  if (key == kOffsetKey) {
    throw Error(Errc::usage,
                "the key \"__offset\" is reserved for the storage offset; use set_offset()",
                context);
  }
}

Error closed_error(const ErrorContext& context) {
  return Error(Errc::usage, "storage is closed", context);
}

}  // namespace storage

namespace {
// Bookkeeping bytes counted per op besides key and value.
constexpr std::size_t kOpOverhead = sizeof(WriteBatch::Op);
}  // namespace

void WriteBatch::put(std::string_view key, std::string_view value) {
  storage::check_writable_key(key);
  Op& op = ops_.emplace_back();  // built in place: no temporary to move
  try {
    op.key.assign(key);
    op.value.emplace(value);
  } catch (...) {
    ops_.pop_back();  // no half-built op (it would erase)
    throw;
  }
  bytes_ += key.size() + value.size() + kOpOverhead;
}

void WriteBatch::erase(std::string_view key) {
  storage::check_writable_key(key);
  ops_.push_back(Op{std::string(key), std::nullopt});
  bytes_ += key.size() + kOpOverhead;
}

void WriteBatch::clear() noexcept {
  ops_.clear();  // frees every key and value; keeps the small array of ops
  offset_.reset();
  bytes_ = 0;
}

std::unique_ptr<Iterator> Storage::prefix_iterator(std::string_view prefix) const {
  auto limit = storage::prefix_limit(prefix);
  if (!limit) return range_iterator(prefix, std::nullopt);
  return range_iterator(prefix, std::string_view(*limit));
}

}  // namespace goka
