#pragma once
// The built-in callbacks of `goka-cli run-group --op`, on JSON values:
// count, sum (of the value or of --field), min, max, latest, first, append
// (bounded by --max-items) and delete.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
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

  // The integer path: apply() without JSON documents, for count and for
  // sum, min and max of the value itself (no field).
  bool has_integer_path() const;
  // Whether the integer path reads the message's value (sum, min, max).
  bool integer_path_reads_value() const;
  enum class IntegerStep { set, keep, generic };
  // apply() for an integer state (std::nullopt: none) and, when
  // integer_path_reads_value(), an integer value: set (state now holds the
  // new state, the one apply() gives), keep (the state stays), or generic
  // (an int64 overflow: use apply()). Never throws.
  // REQUIRES: has_integer_path().
  IntegerStep apply_integer(std::optional<int64_t>& state, int64_t value) const;
};

// The int64 that bytes spell the way the json and int64 codecs write one
// ("42", "-7", "0": no sign '+', no leading zero, no "-0"), or std::nullopt.
// These bytes decode to that integer with either codec, and it encodes back
// to them.
std::optional<int64_t> canonical_int64(std::string_view bytes) noexcept;

}  // namespace goka::cli
