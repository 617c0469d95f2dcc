#include "tables/dump_storage.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>

#include "cli/global_options.hpp"
#include "cli/value_codec.hpp"
#include "tables/table_support.hpp"
#include "goka/error.hpp"
#include "goka/storage.hpp"

namespace goka::cli {
namespace {

namespace fs = std::filesystem;

// The partition of a storage directory named "<topic>.<partition>", or
// std::nullopt for another name.
std::optional<std::pair<std::string, int32_t>> parse_storage_name(std::string_view name) {
  const auto dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == name.size()) return std::nullopt;
  const std::string_view digits = name.substr(dot + 1);
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  int32_t partition = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), partition);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return std::make_pair(std::string(name.substr(0, dot)), partition);
}

// Topic -> its partitions (ascending) of the LevelDB storages under dir.
std::map<std::string, std::vector<int32_t>> find_storages(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Error(Errc::not_found, "no such directory", {.detail = dir.string()});
  std::map<std::string, std::vector<int32_t>> found;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    if (!entry.is_directory(ec) || !fs::exists(entry.path() / "CURRENT", ec)) continue;
    if (auto parsed = parse_storage_name(entry.path().filename().string()))
      found[parsed->first].push_back(parsed->second);
  }
  for (auto& [topic, partitions] : found) std::sort(partitions.begin(), partitions.end());
  return found;
}

}  // namespace

void run_dump_storage(const DumpStorageOptions& options) {
  const ValueCodec codec = options.codec;
  std::map<std::string, std::vector<int32_t>> storages = find_storages(options.dir);
  if (!options.topic.empty()) {
    auto it = storages.find(options.topic);
    std::map<std::string, std::vector<int32_t>> only;
    if (it != storages.end()) only.insert(*it);
    storages = std::move(only);
  }
  if (!options.partitions.empty()) {
    for (auto& [topic, partitions] : storages) {
      std::erase_if(partitions, [&](int32_t p) {
        return std::find(options.partitions.begin(), options.partitions.end(), p) ==
               options.partitions.end();
      });
    }
    std::erase_if(storages, [](const auto& entry) { return entry.second.empty(); });
  }
  if (storages.empty()) {
    throw Error(Errc::not_found,
                options.topic.empty() ? "no local storage found"
                                      : fmt::format("no local storage of {} found", options.topic),
                {.detail = options.dir});
  }

  LevelDbOptions leveldb;
  leveldb.create_if_missing = false;
  StdoutWriter out;
  int64_t left = options.count;
  for (const auto& [topic, partitions] : storages) {
    if (left == 0) break;
    std::vector<std::unique_ptr<Storage>> opened;
    std::vector<std::unique_ptr<Iterator>> parts;
    for (int32_t p : partitions) {
      opened.push_back(open_leveldb_storage(options.dir, topic, p, leveldb));
      if (!options.quiet) {
        const std::optional<std::string> offset = opened.back()->get(kOffsetKey);
        std::fprintf(stderr, "goka-cli: dump: %s.%d __offset=%s\n", topic.c_str(), p,
                     offset ? offset->c_str() : "none");
      }
      parts.push_back(opened.back()->iterator());
    }
    std::unique_ptr<Iterator> rows = merge_iterators(std::move(parts));
    std::optional<std::string_view> topic_field;
    if (options.topic.empty()) topic_field = topic;
    const int64_t written = write_rows(*rows, codec, out, left, topic_field);
    if (left > 0) left -= written;
  }
  out.flush();
}

}  // namespace goka::cli
