#include "cli/proto_options.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "goka/error.hpp"

namespace goka::cli {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> out;
  while (!text.empty()) {
    auto end = text.find(separator);
    std::string_view part = text.substr(0, end);
    if (!part.empty()) out.emplace_back(part);
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return out;
}

bool config_flag(const Properties& config, const std::string& key) {
  auto it = config.find(key);
  if (it == config.end()) return false;
  if (it->second == "true" || it->second == "1") return true;
  if (it->second == "false" || it->second == "0") return false;
  throw Error(Errc::config, fmt::format("{} must be true or false, not \"{}\"", key, it->second));
}

std::vector<std::string> config_list(const Properties& config, const std::string& key,
                                     char separator) {
  auto it = config.find(key);
  return it == config.end() ? std::vector<std::string>{} : split(it->second, separator);
}

void append(std::vector<std::string>& to, const std::vector<std::string>& more) {
  for (const auto& item : more)
    if (std::find(to.begin(), to.end(), item) == to.end()) to.push_back(item);
}

// Every .proto file under the import paths, by its name below them; a name
// under two paths is the first path's, as imports resolve it.
std::vector<std::string> proto_files_under(const std::vector<std::string>& import_paths) {
  std::map<std::string, std::string> by_name;
  for (const auto& dir : import_paths) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
      throw Error(Errc::not_found, fmt::format("import path {} is not a directory", dir));
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      if (!it->is_regular_file() || it->path().extension() != ".proto") continue;
      by_name.emplace(fs::relative(it->path(), dir).generic_string(), it->path().string());
    }
  }
  std::vector<std::string> files;
  for (auto& [name, path] : by_name) files.push_back(path);
  return files;
}

}  // namespace

void add_proto_options(CLI::App& app, ProtoOptions& o) {
  app.add_option("--proto", o.files, ".proto file of the message types (repeatable)")
      ->type_name("FILE")
      ->allow_extra_args(false);
  app.add_option("--proto-path", o.import_paths,
                 "Import path of .proto files (repeatable; also $GOKA_PROTO_PATH, DIR:DIR)")
      ->type_name("DIR")
      ->allow_extra_args(false);
  app.add_option("--descriptor-set", o.descriptor_sets,
                 "protoc --descriptor_set_out file (--include_imports), instead of --proto")
      ->type_name("FILE")
      ->allow_extra_args(false);
  auto* original = app.add_flag("--proto-original-names", o.original_names,
                                "Print field names as in the .proto (customer_id)");
  app.add_flag("--proto-json-names", o.json_names,
               "Print the JSON names of fields (customerId; the default)")
      ->excludes(original);
  app.add_flag("--proto-defaults", o.print_defaults,
               "Print fields that hold their default value (0, \"\", [], ...)");
}

ProtoOptions effective_proto_options(const ProtoOptions& flags, const Properties& config) {
  const std::string p(proto_property_prefix);
  ProtoOptions out = flags;
  if (flags.files.empty() && flags.descriptor_sets.empty()) {
    out.files = config_list(config, p + "files", ',');
    out.descriptor_sets = config_list(config, p + "descriptor.sets", ',');
  }
  // Directories of the file or the environment that are not there are
  // skipped, as in $PATH; a --proto-path flag must name one.
  std::vector<std::string> shared = config_list(config, p + "path", ':');
  if (const char* env = std::getenv("GOKA_PROTO_PATH")) append(shared, split(env, ':'));
  std::error_code ec;
  std::erase_if(shared, [&ec](const std::string& dir) { return !fs::is_directory(dir, ec); });
  append(out.import_paths, shared);
  if (!flags.original_names && !flags.json_names)
    out.original_names = config_flag(config, p + "original.names");
  if (!flags.print_defaults) out.print_defaults = config_flag(config, p + "print.defaults");
  for (const auto& [key, value] : config) {
    static const std::set<std::string> known = {"files", "descriptor.sets", "path",
                                                "original.names", "print.defaults"};
    if (key.starts_with(p) && !known.contains(key.substr(p.size())))
      throw Error(Errc::config, fmt::format("unknown property {}: the protobuf ones are "
                                            "{}files, {}path, {}descriptor.sets, "
                                            "{}original.names and {}print.defaults",
                                            key, p, p, p, p, p));
  }
  return out;
}

std::shared_ptr<const ProtoCodec> make_proto_codec(std::string_view message_name,
                                                   const ProtoOptions& o) {
  if (!o.files.empty() && !o.descriptor_sets.empty())
    throw Error(Errc::usage, "give .proto files (--proto) or descriptor sets (--descriptor-set), "
                             "not both");
  std::shared_ptr<const ProtoSchema> schema;
  if (!o.descriptor_sets.empty()) {
    schema = ProtoSchema::from_descriptor_sets(o.descriptor_sets);
  } else if (!o.files.empty()) {
    schema = ProtoSchema::from_proto_files(o.files, o.import_paths);
  } else if (!o.import_paths.empty()) {
    auto files = proto_files_under(o.import_paths);
    if (files.empty())
      throw Error(Errc::not_found, fmt::format("no .proto files under {}",
                                               fmt::join(o.import_paths, ", ")));
    schema = ProtoSchema::from_proto_files(files, o.import_paths);
  } else {
    throw Error(Errc::usage,
                fmt::format("--codec proto:{} needs its schema: --proto FILE (with --proto-path "
                            "DIR for imports), --descriptor-set FILE, or .proto files under "
                            "--proto-path or $GOKA_PROTO_PATH",
                            message_name));
  }
  ProtoJsonOptions json{.original_names = o.original_names, .print_defaults = o.print_defaults};
  return std::make_shared<const ProtoCodec>(schema, message_name, json);
}

}  // namespace goka::cli
