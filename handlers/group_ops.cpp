#include "handlers/group_ops.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <charconv>
#include <limits>

#include "goka/error.hpp"

namespace goka::cli {
namespace {

const nlohmann::json& number_of(const GroupOp& op, const nlohmann::json& value) {
  const nlohmann::json* v = &value;
  if (!op.field.empty()) {
    if (!value.is_object() || !value.contains(op.field)) {
      throw Error(Errc::decode, fmt::format("{}: the value has no field \"{}\"", op.name, op.field));
    }
    v = &value[op.field];
  }
  if (!v->is_number()) {
    throw Error(Errc::decode, fmt::format("{}: not a number: {}", op.name, v->dump()));
  }
  return *v;
}

nlohmann::json add(const nlohmann::json& a, const nlohmann::json& b) {
  if (a.is_number_integer() && b.is_number_integer()) return a.get<int64_t>() + b.get<int64_t>();
  return a.get<double>() + b.get<double>();
}

}  // namespace

const std::vector<std::string>& GroupOp::all() {
  static const std::vector<std::string> ops = {"count",  "sum",   "min",    "max",
                                               "latest", "first", "append", "delete"};
  return ops;
}

const std::string& GroupOp::names() {
  static const std::string joined = fmt::format("{}", fmt::join(all(), "|"));
  return joined;
}

Decision GroupOp::apply(const nlohmann::json& state, const nlohmann::json& value) const {
  Decision d;
  d.action = Decision::Action::set;
  if (name == "count") {
    d.state = state.is_number_integer() ? state.get<int64_t>() + 1 : 1;
  } else if (name == "sum") {
    const nlohmann::json& n = number_of(*this, value);
    d.state = state.is_number() ? add(state, n) : n;
  } else if (name == "min" || name == "max") {
    const nlohmann::json& n = number_of(*this, value);
    bool replace = !state.is_number() ||
                   (name == "min" ? n.get<double>() < state.get<double>()
                                  : n.get<double>() > state.get<double>());
    if (!replace) return Decision{};
    d.state = n;
  } else if (name == "latest") {
    d.state = value;
  } else if (name == "first") {
    if (!state.is_null()) return Decision{};
    d.state = value;
  } else if (name == "append") {
    d.state = state.is_array() ? state : nlohmann::json::array();
    d.state.push_back(value);
    if (max_items > 0 && d.state.size() > max_items) {
      d.state.erase(d.state.begin(), d.state.begin() + static_cast<std::ptrdiff_t>(d.state.size() - max_items));
    }
  } else if (name == "delete") {
    d.action = Decision::Action::remove;
  } else {
    throw Error(Errc::usage, fmt::format("unknown --op \"{}\": {}", name, names()));
  }
  return d;
}

}  // namespace goka::cli

namespace goka::cli {

bool GroupOp::has_integer_path() const {
  return name == "count" || (field.empty() && integer_path_reads_value());
}

bool GroupOp::integer_path_reads_value() const {
  return name == "sum" || name == "min" || name == "max";
}

GroupOp::IntegerStep GroupOp::apply_integer(std::optional<int64_t>& state, int64_t value) const {
  if (name == "count") {
    if (!state) {
      state = 1;
    } else if (*state == std::numeric_limits<int64_t>::max()) {
      return IntegerStep::generic;
    } else {
      ++*state;
    }
    return IntegerStep::set;
  }
  if (name == "sum") {
    int64_t sum = 0;
    if (state && __builtin_add_overflow(*state, value, &sum)) return IntegerStep::generic;
    state = state ? sum : value;
    return IntegerStep::set;
  }
  // min and max compare as apply() does: as doubles.
  if (state) {
    auto n = static_cast<double>(value), s = static_cast<double>(*state);
    if (name == "min" ? !(n < s) : !(n > s)) return IntegerStep::keep;
  }
  state = value;
  return IntegerStep::set;
}

std::optional<int64_t> canonical_int64(std::string_view bytes) noexcept {
  std::string_view digits = bytes.substr(!bytes.empty() && bytes[0] == '-' ? 1 : 0);
  if (digits.empty() || digits[0] < '0' || digits[0] > '9') return std::nullopt;
  if (digits[0] == '0' && bytes.size() != 1) return std::nullopt;  // "007", "-0"
  int64_t value = 0;
  auto [end, ec] = std::from_chars(bytes.data(), bytes.data() + bytes.size(), value);
  if (ec != std::errc() || end != bytes.data() + bytes.size()) return std::nullopt;
  return value;
}

}  // namespace goka::cli
