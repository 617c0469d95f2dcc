// goka-cli topics: the cluster's topics with their partition counts and
// cleanup policies ('-' where the broker does not tell it: the embedded
// broker never does, a real cluster that refuses or does not answer
// DescribeConfigs in time neither; the listing never fails for that).

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>

#include "cli/global_options.hpp"
#include "commands/commands.hpp"
#include "goka/topic_manager.hpp"

namespace goka::cli {
namespace {

struct TopicsOptions {
  bool json = false;
};

void run_topics(const TopicsOptions& opts, const GlobalOptions& global) {
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

}  // namespace

void register_topics(CLI::App& app, const GlobalOptions& global) {
  auto opts = std::make_shared<TopicsOptions>();
  CLI::App* sub = app.add_subcommand(
      "topics", "List topics: NAME<TAB>PARTITIONS<TAB>CLEANUP_POLICY ('-' when not known)");
  sub->add_flag("--json", opts->json, "One JSON object per topic instead");
  sub->callback([opts, &global] { run_topics(*opts, global); });
}

}  // namespace goka::cli
