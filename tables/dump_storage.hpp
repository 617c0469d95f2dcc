#pragma once
// `goka-cli dump --storage DIR [TOPIC]`: the rows of the local LevelDB
// storages under DIR (`<topic>.<partition>` directories, written by
// `recover`, `view --storage`, a processor or Go Goka).

#include <cstdint>
#include <string>
#include <vector>

#include "cli/value_codec.hpp"

namespace goka::cli {

struct DumpStorageOptions {
  std::string dir;
  std::string topic;                // empty: every topic found under dir
  std::vector<int32_t> partitions;  // empty: all
  int64_t count = -1;               // rows at most; -1: no limit
  ValueCodec codec;
  bool quiet = false;               // -q: no `__offset` lines
};

// Prints each topic's rows merged in key order: `{"key":..,"value":..}`
// lines with options.topic, `{"topic":..,"key":..,"value":..}` lines (topics
// in name order) without it. Writes each partition's `__offset` to stderr
// unless quiet. Throws goka::Error: Errc::not_found when dir holds no storage
// (of the topic), Errc::runtime for a storage in use or corrupt.
void run_dump_storage(const DumpStorageOptions& options);

}  // namespace goka::cli
