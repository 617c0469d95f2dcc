#include "handlers/group_callback.hpp"

#include <array>
#include <charconv>
#include <nlohmann/json.hpp>

#include "goka/error.hpp"
#include "handlers/decision.hpp"
#include "handlers/exec_handler.hpp"

namespace goka::cli {
namespace {

// Where a message's errors point.
ErrorContext where(const Context& ctx) {
  return {.topic = ctx.topic(), .partition = ctx.partition(), .offset = ctx.offset()};
}

// Whether codec reads and writes an int64 as its decimal text.
bool decimal_int64(ValueCodec codec) {
  return codec.kind() == ValueCodec::Kind::json || codec.kind() == ValueCodec::Kind::int64;
}

// The lookups of an --exec handler, as JSON values.
ExecHandler::Lookup lookup(Context& ctx) {
  return [&ctx](const std::string& table, const std::string& key) {
    auto v = ctx.lookup(table, key);
    return v ? ValueCodec().decode(*v) : nlohmann::json();
  };
}

}  // namespace

GroupCallback::GroupCallback(GroupCallbackOptions opts) : opts_(std::move(opts)) {
  if (!opts_.exec.empty()) handler_ = std::make_unique<ExecHandler>(opts_.exec);
  needs_value_ = handler_ || (opts_.op.name != "count" && opts_.op.name != "delete");
  integer_path_ = !handler_ && opts_.op.has_integer_path() && decimal_int64(opts_.table_codec) &&
                  (!opts_.op.integer_path_reads_value() || decimal_int64(opts_.codec));
}

GroupCallback::~GroupCallback() = default;

void GroupCallback::operator()(Context& ctx, const std::optional<std::string>& message) {
  std::optional<std::string> current = ctx.value();
  if (integer_path_ && integer_path(ctx, message, current)) return;
  generic_path(ctx, message, current);
}

void GroupCallback::check_decodes(Context& ctx, const std::string& message) const {
  if (auto why = opts_.codec.check(message)) {
    throw Error(Errc::decode, "input value does not decode: " + *why, where(ctx));
  }
}

// False (nothing done) when the generic path must take the message.
bool GroupCallback::integer_path(Context& ctx, const std::optional<std::string>& message,
                                 const std::optional<std::string>& current) {
  int64_t value = 0;
  if (opts_.op.integer_path_reads_value()) {
    std::optional<int64_t> n = message ? canonical_int64(*message) : std::nullopt;
    if (!n) return false;
    value = *n;
  }
  std::optional<int64_t> state;
  if (current && !(state = canonical_int64(*current))) return false;
  // count checks the value as the generic path does, before the state.
  if (message && !needs_value_) check_decodes(ctx, *message);
  switch (opts_.op.apply_integer(state, value)) {
    case GroupOp::IntegerStep::generic:
      return false;
    case GroupOp::IntegerStep::keep:
      return true;
    case GroupOp::IntegerStep::set:
      break;
  }
  std::array<char, 24> text;
  auto [end, ec] = std::to_chars(text.data(), text.data() + text.size(), *state);
  (void)ec;  // 24 bytes hold every int64
  set_state(ctx, std::string_view(text.data(), static_cast<size_t>(end - text.data())));
  return true;
}

void GroupCallback::generic_path(Context& ctx, const std::optional<std::string>& message,
                                 const std::optional<std::string>& current) {
  nlohmann::json value, state;
  if (message && !needs_value_) {
    check_decodes(ctx, *message);
  } else {
    try {
      value = message ? opts_.codec.decode(*message) : nlohmann::json();
    } catch (const Error& e) {
      throw Error(Errc::decode, "input value does not decode: " + e.message(), where(ctx));
    }
  }
  if (current) {
    try {
      state = opts_.table_codec.decode(*current);
    } catch (const Error& e) {
      throw Error(Errc::decode, "table value does not decode: " + e.message(), where(ctx));
    }
  }
  Decision d;
  try {
    d = handler_ ? parse_decision(handler_->call(request(ctx, value, state), lookup(ctx)))
                 : opts_.op.apply(state, value);
  } catch (const Error& e) {
    throw Error(e.code(),
                e.message() + (e.context_text().empty() ? "" : " (" + e.context_text() + ")"),
                where(ctx));
  }
  if (d.fail) ctx.fail(*d.fail);
  apply(ctx, d);
}

nlohmann::json GroupCallback::request(Context& ctx, const nlohmann::json& value,
                                      const nlohmann::json& state) {
  nlohmann::json headers = nlohmann::json::object();
  for (const auto& [name, v] : ctx.headers()) headers[name] = v;
  nlohmann::json joins = nlohmann::json::object();
  for (const auto& table : opts_.joins) {
    auto v = ctx.join(table);
    joins[table] = v ? ValueCodec().decode(*v) : nlohmann::json();
  }
  return {{"topic", ctx.topic()},   {"partition", ctx.partition()},
          {"offset", ctx.offset()}, {"timestamp", ctx.timestamp()},
          {"key", ctx.key()},       {"value", value},
          {"headers", headers},     {"state", state},
          {"joins", joins}};
}

// The new state to the table and, with --op, to every output.
void GroupCallback::set_state(Context& ctx, std::string_view bytes) {
  ctx.set_value(bytes);
  if (handler_) return;
  for (const auto& topic : opts_.outputs) ctx.emit(topic, ctx.key(), bytes);
}

void GroupCallback::apply(Context& ctx, const Decision& d) {
  if (d.action == Decision::Action::set) {
    set_state(ctx, opts_.table_codec.encode(d.state));
  } else if (d.action == Decision::Action::remove) {
    ctx.delete_value();
    if (!handler_) {
      for (const auto& topic : opts_.outputs) ctx.emit(topic, ctx.key(), std::nullopt);
    }
  }
  for (const auto& e : d.emits) {
    std::string bytes = opts_.codec.encode(e.value);
    ctx.emit(e.topic, e.key,
             e.value.is_null() ? std::nullopt : std::optional<std::string_view>(bytes));
  }
  for (const auto& l : d.loopbacks) {
    std::string bytes = opts_.codec.encode(l.value);
    ctx.loopback(l.key,
                 l.value.is_null() ? std::nullopt : std::optional<std::string_view>(bytes));
  }
}

}  // namespace goka::cli
