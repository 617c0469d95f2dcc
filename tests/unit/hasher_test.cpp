// Goka's partitioning, checked against every row of the shared interop vectors.

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "goka/hasher.hpp"

namespace {

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> fields;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, '\t')) fields.push_back(field);
  if (!line.empty() && line.back() == '\t') fields.emplace_back();
  return fields;
}

}  // namespace

TEST_CASE("partition_for matches every interop vector of Go Goka") {
  // A copy of shared/interop/partitions.tsv, so that any clone can run it.
  std::ifstream in(GOKA_SOURCE_DIR "/tests/data/partitions.tsv");
  REQUIRE(in.good());
  const int counts[] = {1, 3, 4, 8, 10, 12, 32, 64};
  std::string line;
  int rows = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto fields = split_tabs(line);
    REQUIRE(fields.size() >= 10);
    std::string key = from_hex(fields[0]);
    INFO("key hex " << fields[0]);
    CHECK(goka::fnv1a32(key) == std::stoul(fields[1], nullptr, 16));
    for (int i = 0; i < 8; ++i) {
      INFO("n=" << counts[i]);
      CHECK(goka::partition_for(key, counts[i]) == std::stoi(fields[2 + i]));
    }
    ++rows;
  }
  CHECK(rows >= 50);
}

TEST_CASE("partition_for is never negative and below n") {
  for (int i = 0; i < 2000; ++i) {
    std::string key = "k" + std::to_string(i * 7919);
    int32_t p = goka::partition_for(key, 7);
    CHECK((p >= 0 && p < 7));
  }
}
