#pragma once
// Goka's click count, the processor the integration tests run: the group
// table holds the number of messages per key (int64 codec).

#include <optional>
#include <string>

#include "goka/codec.hpp"
#include "goka/context.hpp"
#include "goka/graph.hpp"

namespace goka::test {

inline GroupGraph click_count(const std::string& group, const std::string& input) {
  return GroupGraph(group, {goka::input(input,
                                        [](Context& ctx, const std::optional<std::string>&) {
                                          Int64Codec codec;
                                          auto current = ctx.value();
                                          int64_t n = current ? codec.decode(*current) : 0;
                                          ctx.set_value(codec.encode(n + 1));
                                        }),
                            persist()});
}

}  // namespace goka::test
