#pragma once
// The built-in callbacks of `goka-cli run-group --op`, on JSON values:
// count, sum (of the value or of --field), min, max, latest, first, append
// (bounded by --max-items) and delete.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "handlers/decision.hpp"

namespace goka::cli {

struct GroupOp {
  std::string name;       // one of names()
  std::string field;      // sum/min/max: a field of an object value instead of the value
  size_t max_items = 0;   // append: keep at most this many (0: no bound)

  // Every op's name, in the order --help lists them: the one list of them.
  static const std::vector<std::string>& all();
  // "count|sum|min|max|latest|first|append|delete", from all().
  static const std::string& names();

  // The new state of a key from its state (null when none) and a message's
  // value. Throws goka::Error(Errc::decode) when the value does not suit the
  // op (sum of a string, ...).
  Decision apply(const nlohmann::json& state, const nlohmann::json& value) const;
};

}  // namespace goka::cli
