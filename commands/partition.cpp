// goka-cli partition: the partition Goka assigns to a key.

#include <fmt/format.h>

#include <cstdio>

#include "cli/global_options.hpp"
#include "commands/commands.hpp"
#include "goka/error.hpp"
#include "goka/hasher.hpp"
#include "goka/topic_manager.hpp"

namespace goka::cli {
namespace {

struct PartitionOptions {
  std::vector<std::string> keys;
  int32_t partitions = 0;
  std::string topic;
};

void run_partition(const PartitionOptions& opts, const GlobalOptions& global) {
  int32_t count = opts.partitions;
  if (!opts.topic.empty()) {
    count = TopicManager(client_options(global)).partitions(opts.topic);
  } else if (count < 1) {
    throw Error(Errc::usage, "give the partition count with -n N or a topic with -t TOPIC");
  }
  for (const auto& key : opts.keys) std::printf("%d\n", partition_for(key, count));
}

}  // namespace

void register_partition(CLI::App& app, const GlobalOptions& global) {
  auto opts = std::make_shared<PartitionOptions>();
  CLI::App* sub = app.add_subcommand(
      "partition", "Print the partition Goka assigns to each KEY (one line per key)");
  sub->add_option("KEY", opts->keys, "Keys (raw bytes of the argument)")->required();
  auto* n = sub->add_option("-n,--partitions", opts->partitions, "Number of partitions")
                ->check(CLI::PositiveNumber);
  sub->add_option("-t,--topic", opts->topic, "Take the partition count from this topic")
      ->type_name("TOPIC")
      ->excludes(n);
  sub->callback([opts, &global] { run_partition(*opts, global); });
}

}  // namespace goka::cli
