#pragma once
// Where `--codec proto:<full.MessageName>` finds its message types, and how
// it writes JSON: the options --proto, --proto-path, --descriptor-set,
// --proto-original-names / --proto-json-names and --proto-defaults of every
// subcommand with a codec option (cli/codec_option.hpp adds them), with
// defaults a team sets once:
//
//   -F FILE (or -X)   goka.proto.files=a.proto,b.proto   goka.proto.path=DIR:DIR
//                     goka.proto.descriptor.sets=FILE,FILE
//                     goka.proto.original.names=true      goka.proto.print.defaults=true
//   GOKA_PROTO_PATH   import paths, DIR:DIR (after --proto-path and goka.proto.path)
//
// Flags win over the file: files and descriptor sets come from the flags when
// any is given, else from the file. Import paths of the file and of
// GOKA_PROTO_PATH that are not directories are skipped (as in $PATH). With
// import paths but neither files nor descriptor sets, every .proto file
// under the import paths is loaded.

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "goka/properties.hpp"
#include "goka/proto_codec.hpp"

namespace goka::cli {

struct ProtoOptions {
  std::vector<std::string> files;            // --proto FILE, repeatable
  std::vector<std::string> import_paths;     // --proto-path DIR, repeatable
  std::vector<std::string> descriptor_sets;  // --descriptor-set FILE, repeatable
  bool original_names = false;               // --proto-original-names
  bool json_names = false;                   // --proto-json-names (the default; wins over the file)
  bool print_defaults = false;               // --proto-defaults
};

// The prefix of the -F/-X keys above; client_options() keeps them from librdkafka.
inline constexpr std::string_view proto_property_prefix = "goka.proto.";

// Adds the flags to app (a subcommand's option group, see cli/codec_option.cpp).
void add_proto_options(CLI::App& app, ProtoOptions& options);

// The options in effect: flags, then the goka.proto.* keys of config (the -F
// file with -X on top), then $GOKA_PROTO_PATH, as described above.
ProtoOptions effective_proto_options(const ProtoOptions& flags, const Properties& config);

// Loads the schema of options (already effective) and returns the codec of
// message_name. Throws goka::Error: usage when there is no schema or both
// .proto files and descriptor sets are given, not_found / config from
// loading (goka/proto_codec.hpp), not_found for an unknown message (listing
// the ones the schema defines).
std::shared_ptr<const ProtoCodec> make_proto_codec(std::string_view message_name,
                                                   const ProtoOptions& options);

}  // namespace goka::cli
