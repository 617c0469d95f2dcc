#include "handlers/decision.hpp"

#include "goka/error.hpp"

namespace goka::cli {
namespace {

[[noreturn]] void malformed(const std::string& what, const nlohmann::json& response) {
  std::string shown = response.dump();
  if (shown.size() > 200) shown = shown.substr(0, 200) + "...";
  throw Error(Errc::runtime, "handler answered garbage: " + what, {.detail = shown});
}

std::string key_of(const nlohmann::json& item, const nlohmann::json& response) {
  if (!item.is_object() || !item.contains("key") || !item["key"].is_string()) {
    malformed("an emit or loopback needs a string \"key\"", response);
  }
  return item["key"].get<std::string>();
}

}  // namespace

Decision parse_decision(const nlohmann::json& response) {
  if (!response.is_object()) malformed("not a JSON object", response);
  Decision d;
  if (response.contains("fail")) {
    d.fail = response["fail"].is_string() ? response["fail"].get<std::string>() : response["fail"].dump();
    return d;
  }
  bool remove = response.contains("delete") && response["delete"] == true;
  if (remove && response.contains("state")) malformed("both \"state\" and \"delete\"", response);
  if (remove) {
    d.action = Decision::Action::remove;
  } else if (response.contains("state")) {
    d.action = response["state"].is_null() ? Decision::Action::remove : Decision::Action::set;
    d.state = response["state"];
  }
  if (response.contains("emit")) {
    if (!response["emit"].is_array()) malformed("\"emit\" is not an array", response);
    for (const auto& item : response["emit"]) {
      std::string key = key_of(item, response);
      if (!item.contains("topic") || !item["topic"].is_string()) {
        malformed("an emit needs a string \"topic\"", response);
      }
      d.emits.push_back({item["topic"].get<std::string>(), key, item.value("value", nlohmann::json())});
    }
  }
  if (response.contains("loopback")) {
    if (!response["loopback"].is_array()) malformed("\"loopback\" is not an array", response);
    for (const auto& item : response["loopback"]) {
      d.loopbacks.push_back({key_of(item, response), item.value("value", nlohmann::json())});
    }
  }
  return d;
}

}  // namespace goka::cli
