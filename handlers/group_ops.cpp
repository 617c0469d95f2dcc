#include "handlers/group_ops.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

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
