#include "goka/error.hpp"

#include <fmt/format.h>

namespace goka {
namespace {

std::string describe(const ErrorContext& context) {
  std::string text;
  auto add = [&text](const std::string& part) {
    if (!text.empty()) text += ", ";
    text += part;
  };
  if (context.topic) add(fmt::format("topic={}", *context.topic));
  if (context.partition) add(fmt::format("partition={}", *context.partition));
  if (context.offset) add(fmt::format("offset={}", *context.offset));
  if (context.detail) add(*context.detail);
  return text;
}

std::string compose(const std::string& message, const ErrorContext& context) {
  std::string text = describe(context);
  return text.empty() ? message : fmt::format("{} ({})", message, text);
}

}  // namespace

Error::Error(Errc code, std::string message, ErrorContext context)
    : std::runtime_error(compose(message, context)),
      code_(code),
      message_(std::move(message)),
      context_(std::move(context)) {}

std::string Error::context_text() const { return describe(context_); }

}  // namespace goka
