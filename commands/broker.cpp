// goka-cli broker: the embedded broker (librdkafka's mock cluster) for
// development and CI, with an optional fault-injection control on stdin.

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "cli/global_options.hpp"
#include "cli/signals.hpp"
#include "cli/topic_spec.hpp"
#include "commands/commands.hpp"
#include "goka/embedded_broker.hpp"
#include "goka/error.hpp"

namespace goka::cli {
namespace {

struct BrokerOptions {
  std::vector<std::string> topics;  // NAME:PARTITIONS
  int brokers = 1;
  std::string address_file;
  bool control = false;
};

void write_address_file(const std::string& path, const std::string& address) {
  // Written whole, then renamed, so a script waiting for it never reads half.
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << address << '\n';
    if (!out) throw Error(Errc::runtime, "cannot write the address file", {.detail = path});
  }
  std::filesystem::rename(tmp, path);
}

// One control command: down ID | up ID | rtt ID MS | fail API_KEY COUNT ERROR
// | topic NAME:PARTITIONS. Answers "ok" or "error: ..." on stdout.
void control(EmbeddedBroker& broker, const std::string& line) {
  std::istringstream in(line);
  std::string verb;
  in >> verb;
  if (verb.empty() || verb[0] == '#') return;
  try {
    if (verb == "down" || verb == "up") {
      int id = 0;
      if (!(in >> id)) throw Error(Errc::usage, "usage: " + verb + " BROKER_ID");
      broker.set_broker_down(id, verb == "down");
    } else if (verb == "rtt") {
      int id = 0, ms = 0;
      if (!(in >> id >> ms)) throw Error(Errc::usage, "usage: rtt BROKER_ID MILLISECONDS");
      broker.set_round_trip_time(id, ms);
    } else if (verb == "fail") {
      int api = 0, count = 0, code = 0;
      if (!(in >> api >> count >> code)) throw Error(Errc::usage, "usage: fail API_KEY COUNT ERROR_CODE");
      broker.fail_requests(static_cast<int16_t>(api), count, code);
    } else if (verb == "topic") {
      std::string spec;
      in >> spec;
      auto [name, partitions] = parse_topic_spec(spec, "topic");
      broker.create_topic(name, partitions);
    } else {
      throw Error(Errc::usage, fmt::format("unknown control command \"{}\"", verb));
    }
    std::fputs("ok\n", stdout);
  } catch (const Error& e) {
    std::fprintf(stdout, "error: %s\n", e.what());
  }
  std::fflush(stdout);
}

void run_broker(const BrokerOptions& opts) {
  EmbeddedBrokerOptions options;
  options.brokers = opts.brokers;
  for (const auto& spec : opts.topics) options.topics.push_back(parse_topic_spec(spec, "--topic"));
  EmbeddedBroker broker(options);
  std::fprintf(stdout, "%s\n", broker.bootstrap_servers().c_str());
  std::fflush(stdout);
  if (!opts.address_file.empty()) write_address_file(opts.address_file, broker.bootstrap_servers());
  log(LogLevel::warning,
      "the embedded broker keeps everything in memory, about 5 MB per partition (older records "
      "are dropped); it is for development and tests");
  if (broker.topic_request_socket().empty()) {
    log(LogLevel::warning,
        fmt::format("clients cannot create topics (pre-create them with -t NAME:PARTITIONS): {}",
                    broker.topic_request_error()));
  } else {
    log(LogLevel::info, "topic requests (topics create, run-group's tables) on " +
                            broker.topic_request_socket());
  }
  if (opts.control) {
    // stdin is read on its own thread so that a signal still stops the broker.
    std::thread([&broker] {
      std::string line;
      while (std::getline(std::cin, line)) control(broker, line);
    }).detach();
  }
  while (!wait_for_interrupt(std::chrono::seconds(1))) {
  }
  if (!opts.address_file.empty()) std::filesystem::remove(opts.address_file);
  broker.stop();  // removes its topic request socket
  std::_Exit(0);  // the control thread may sit in getline; nothing else to clean up
}

}  // namespace

void register_broker(CLI::App& app, const GlobalOptions& /*global: none used*/) {
  auto opts = std::make_shared<BrokerOptions>();
  CLI::App* sub = app.add_subcommand(
      "broker",
      "Run an embedded Kafka-protocol broker in memory (prints its address first)");
  sub->footer(
      "Clients of this machine and user create topics on it as on a real cluster\n"
      "(goka-cli topics create, run-group's GROUP-table and GROUP-loop): they find it\n"
      "from GOKA_BROKERS alone, through a unix socket named after its port in\n"
      "$XDG_RUNTIME_DIR/goka-broker/ (else ${TMPDIR:-/tmp}/goka-broker-UID/).\n"
      "Other topics a client names are auto-created with 4 partitions. Topics\n"
      "cannot be deleted, and topic configs (cleanup.policy, ...) are not kept.");
  sub->add_option("-t,--topic", opts->topics, "Pre-create topic NAME:PARTITIONS (repeatable)")
      ->type_name("NAME:PARTITIONS")
      ->allow_extra_args(false);
  sub->add_option("--brokers-count", opts->brokers, "Number of brokers in the cluster")
      ->capture_default_str()
      ->check(CLI::Range(1, 16));
  sub->add_option("--address-file", opts->address_file,
                  "Also write the bootstrap address to this file (removed on exit)")
      ->type_name("PATH");
  sub->add_flag("--control", opts->control,
                "Read fault commands on stdin: down ID, up ID, rtt ID MS, "
                "fail API_KEY COUNT ERROR_CODE, topic NAME:PARTITIONS");
  sub->callback([opts] { run_broker(*opts); });
}

}  // namespace goka::cli
