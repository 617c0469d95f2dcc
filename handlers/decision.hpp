#pragma once
// What a run-group callback decides for one message: the built-in ops and
// the --exec handler protocol both answer with a Decision.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace goka::cli {

struct Decision {
  enum class Action { keep, set, remove };
  Action action = Action::keep;
  nlohmann::json state;  // with Action::set
  struct Emit {
    std::string topic;
    std::string key;
    nlohmann::json value;
  };
  std::vector<Emit> emits;  // topic empty: every declared output (--op)
  struct Loopback {
    std::string key;
    nlohmann::json value;
  };
  std::vector<Loopback> loopbacks;
  std::optional<std::string> fail;
};

// Reads the --exec protocol's response object (CLI.md): {"state":V},
// {"delete":true}, {} and optional "emit", "loopback", "fail". Throws
// goka::Error(Errc::runtime) naming what is malformed.
Decision parse_decision(const nlohmann::json& response);

}  // namespace goka::cli
