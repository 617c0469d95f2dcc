// goka-cli topics [create NAME:PARTITIONS | delete NAME]: without an action,
// the cluster's topics with their partition counts and cleanup policies ('-'
// where the broker does not tell it: the embedded broker never does, a real
// cluster that refuses or does not answer DescribeConfigs in time neither; the
// listing never fails for that). create and delete: CreateTopics and
// DeleteTopics on a real cluster; on the embedded broker, create goes through
// its topic requests and delete is refused (it cannot delete topics).

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>

#include "cli/global_options.hpp"
#include "cli/topic_spec.hpp"
#include "commands/commands.hpp"
#include "goka/error.hpp"
#include "goka/topic_manager.hpp"

namespace goka::cli {
namespace {

struct TopicsOptions {
  bool json = false;
  std::string action;  // "", "create" or "delete"
  std::string target;  // create: NAME:PARTITIONS; delete: NAME
  bool compact = false;
  std::vector<std::string> configs;  // KEY=VALUE
  bool if_not_exists = false;
};

void list_topics(const TopicsOptions& opts, const GlobalOptions& global) {
  for (const TopicInfo& topic : TopicManager(client_options(global)).topics()) {
    if (opts.json) {
      nlohmann::json line = {{"topic", topic.name}, {"partitions", topic.partitions}};
      line["cleanup_policy"] = topic.cleanup_policy ? nlohmann::json(*topic.cleanup_policy) : nullptr;
      std::printf("%s\n", line.dump().c_str());
    } else {
      std::printf("%s\t%d\t%s\n", topic.name.c_str(), topic.partitions,
                  topic.cleanup_policy.value_or("-").c_str());
    }
  }
}

// The topic configs of --compact and --config KEY=VALUE.
Properties topic_config(const TopicsOptions& opts) {
  Properties config;
  for (const auto& kv : opts.configs) set_property(config, kv);
  if (opts.compact) {
    auto [it, added] = config.emplace("cleanup.policy", "compact");
    if (!added && it->second.find("compact") == std::string::npos) {
      throw Error(Errc::usage, fmt::format("--compact contradicts --config cleanup.policy={}", it->second));
    }
  }
  return config;
}

void create_topic(const TopicsOptions& opts, const GlobalOptions& global) {
  auto [name, partitions] = parse_topic_spec(opts.target, "topics create");
  Properties config = topic_config(opts);
  TopicManager topics(client_options(global));
  if (!topics.create_topic(name, partitions, config)) {
    int32_t existing = topics.partitions(name);
    if (!opts.if_not_exists) {
      throw Error(Errc::kafka, fmt::format("topic already exists, with {} partitions", existing),
                  {.topic = name, .detail = "--if-not-exists accepts that"});
    }
    if (existing != partitions) {
      throw Error(Errc::config,
                  fmt::format("topic exists with {} partitions, not {}", existing, partitions),
                  {.topic = name});
    }
    note(fmt::format("topic {} exists already, with {} partitions", name, partitions));
    return;
  }
  note(fmt::format("created topic {} with {} partitions", name, partitions));
  if (config.empty()) return;
  // Only a broker that describes configs can confirm them; the embedded one
  // keeps none.
  if (!topics.cleanup_policies({name}).contains(name)) {
    log(LogLevel::warning,
        fmt::format("the broker does not tell topic {}'s configs (the embedded broker keeps "
                    "none): not confirmed",
                    name));
  }
}

void run_topics(const TopicsOptions& opts, const GlobalOptions& global) {
  if (opts.action.empty()) {
    if (opts.compact || !opts.configs.empty() || opts.if_not_exists || !opts.target.empty()) {
      throw Error(Errc::usage, "--compact, --config and --if-not-exists go with topics create");
    }
    list_topics(opts, global);
    return;
  }
  if (opts.target.empty()) {
    throw Error(Errc::usage, opts.action == "create" ? "usage: topics create NAME:PARTITIONS"
                                                     : "usage: topics delete NAME");
  }
  if (opts.action == "create") {
    create_topic(opts, global);
    return;
  }
  if (opts.compact || !opts.configs.empty() || opts.if_not_exists) {
    throw Error(Errc::usage, "--compact, --config and --if-not-exists go with topics create");
  }
  TopicManager(client_options(global)).delete_topic(opts.target);
  note("deleted topic " + opts.target);
}

}  // namespace

void register_topics(CLI::App& app, const GlobalOptions& global) {
  auto opts = std::make_shared<TopicsOptions>();
  CLI::App* sub = app.add_subcommand(
      "topics",
      "List topics: NAME<TAB>PARTITIONS<TAB>CLEANUP_POLICY ('-' when not known); "
      "topics create NAME:PARTITIONS, topics delete NAME");
  sub->add_option("ACTION", opts->action, "create or delete (none: list)")
      ->check(CLI::IsMember({"create", "delete"}));
  sub->add_option("NAME", opts->target, "create: NAME:PARTITIONS; delete: NAME");
  sub->add_flag("--json", opts->json, "One JSON object per topic instead");
  sub->add_flag("--compact", opts->compact, "create: cleanup.policy=compact (as a Goka table)");
  sub->add_option("--config", opts->configs, "create: a topic config KEY=VALUE (repeatable)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  sub->add_flag("--if-not-exists", opts->if_not_exists,
                "create: succeed when the topic exists with that partition count");
  sub->footer(
      "create and delete use CreateTopics and DeleteTopics and return once the cluster\n"
      "serves (or no longer lists) the topic. An existing topic is an error (exit 1)\n"
      "unless --if-not-exists; deleting a missing topic exits 3. On the embedded broker\n"
      "(goka-cli broker) create works through the broker's own topic requests, keeps no\n"
      "configs, and delete fails (exit 1): it cannot delete topics.");
  sub->callback([opts, &global] { run_topics(*opts, global); });
}

}  // namespace goka::cli
