#pragma once
// The one place where a subcommand gets its value-codec options: `--codec`
// (and run-group's `--table-codec`) accept exactly the names
// ValueCodec::from_name() accepts, show them in --help and give them to the
// generated completions, and hand the command a ready ValueCodec.
//
// A new kind of codec is added to ValueCodec (its name in all_names(),
// from_name() and the conversions) and, when it needs flags of its own (a
// schema file, a search path), here: add_codec_option() can add them to sub
// once and build the codec from all of them when parsing completes. The
// subcommands only call add_codec_option() and use the ValueCodec.

#include <CLI/CLI.hpp>
#include <string>

#include "cli/value_codec.hpp"

namespace goka::cli {

// Adds the option flag (e.g. "--codec") to sub. When the command line is
// parsed, codec is set to the codec named there; its value before that is
// the default (shown in --help). A name that ValueCodec::from_name() rejects
// is a usage error (exit 2) at parse time, with from_name's message. The
// first call on sub also adds the protobuf flags (--proto, --proto-path,
// --descriptor-set, ...; cli/proto_options.hpp) that a proto:NAME codec is
// built with, together with the -F/-X goka.proto.* keys. codec
// must outlive sub's parsing (a subcommand's options struct). Returns the
// option for further settings.
CLI::Option* add_codec_option(CLI::App* sub, ValueCodec& codec, const std::string& flag = "--codec",
                              const std::string& description = "Value codec");

}  // namespace goka::cli
