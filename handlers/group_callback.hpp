#pragma once
// GroupCallback: the callback of `goka-cli run-group`. Runs one message
// through the built-in op (--op) or the handler process (--exec), on JSON
// values, and applies the decision to the Context: the new state to the
// group table and, with --op, to every output.
//
// count, and sum, min and max of integer values without --field, take an
// integer path when the table codec is json or int64 (and, for sum, min and
// max, the input codec too): the state is read from the table's bytes and
// written as decimal text, with no JSON document; it writes exactly the
// bytes the generic path writes, and leaves every other case (fractions,
// overflow, bytes that do not decode) to the generic path and its errors.
//
// Thread-safe: one GroupCallback serves every callback thread.

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/value_codec.hpp"
#include "goka/context.hpp"
#include "handlers/group_ops.hpp"

namespace goka::cli {

class ExecHandler;
struct Decision;

struct GroupCallbackOptions {
  GroupOp op;                        // --op, --field, --max-items (name empty with --exec)
  std::string exec;                  // --exec CMD (empty with --op)
  std::vector<std::string> outputs;  // -o: with --op, every new state goes there
  std::vector<std::string> joins;    // --join: given to the handler
  ValueCodec codec;                  // --codec
  ValueCodec table_codec;            // --table-codec
};

class GroupCallback {
 public:
  // Starts the handler process with --exec (goka::Error(Errc::runtime) when
  // it cannot).
  explicit GroupCallback(GroupCallbackOptions opts);
  ~GroupCallback();
  GroupCallback(const GroupCallback&) = delete;
  GroupCallback& operator=(const GroupCallback&) = delete;

  // Processes one message. Throws goka::Error(Errc::decode) naming the
  // message's topic, partition and offset when its value or the key's table
  // value does not decode or does not suit the op.
  void operator()(Context& ctx, const std::optional<std::string>& message);

 private:
  bool integer_path(Context& ctx, const std::optional<std::string>& message,
                    const std::optional<std::string>& current);
  void generic_path(Context& ctx, const std::optional<std::string>& message,
                    const std::optional<std::string>& current);
  void check_decodes(Context& ctx, const std::string& message) const;
  void set_state(Context& ctx, std::string_view bytes);
  nlohmann::json request(Context& ctx, const nlohmann::json& value, const nlohmann::json& state);
  void apply(Context& ctx, const Decision& d);

  const GroupCallbackOptions opts_;
  std::unique_ptr<ExecHandler> handler_;
  bool needs_value_;   // the generic path decodes the input value into a document
  bool integer_path_;  // the integer path applies (op and codecs)
};

}  // namespace goka::cli
