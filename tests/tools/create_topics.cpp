// goka-test-create-topics BROKERS NAME:PARTITIONS...: creates topics on a real
// cluster for the shell tests (tests/cli/lib.sh on the real-Kafka tier), the
// way libgoka does: a NAME ending in "-table" compacted, as Goka's group
// tables are. Exits 1 with the error on stderr.

#include <cstdio>
#include <exception>
#include <string>

#include "goka/topic_manager.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: goka-test-create-topics BROKERS NAME:PARTITIONS...\n");
    return 2;
  }
  try {
    goka::ClientOptions options;
    options.brokers = argv[1];
    goka::TopicManager topics(options);
    for (int i = 2; i < argc; ++i) {
      std::string spec = argv[i];
      auto colon = spec.rfind(':');
      if (colon == std::string::npos) throw std::invalid_argument("not NAME:PARTITIONS: " + spec);
      std::string name = spec.substr(0, colon);
      int32_t partitions = std::stoi(spec.substr(colon + 1));
      bool table = name.size() > 6 && name.compare(name.size() - 6, 6, "-table") == 0;
      if (table) {
        topics.ensure_table(name, partitions);
      } else {
        topics.ensure_stream(name, partitions);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "goka-test-create-topics: %s\n", e.what());
    return 1;
  }
  return 0;
}
