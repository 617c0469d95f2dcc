#pragma once
// The one place where a subcommand gets its value-codec options: `--codec`
// (and run-group's `--table-codec`) accept exactly the names
// ValueCodec::from_name() accepts, show them in --help and give them to the
// generated completions. A new kind of codec is added to ValueCodec (its
// names and from_name) and, when it needs flags of its own (a schema file, a
// search path), here; the subcommands only call add_codec_option().

#include <CLI/CLI.hpp>
#include <string>

namespace goka::cli {

// Adds the option flag (e.g. "--codec") to sub, storing the codec name in
// name (whose current value is the shown default). A name that
// ValueCodec::from_name() rejects is a usage error (exit 2) at parse time,
// with from_name's message. Returns the option for further settings.
CLI::Option* add_codec_option(CLI::App* sub, std::string& name, const std::string& flag = "--codec",
                              const std::string& description = "Value codec");

}  // namespace goka::cli
