#pragma once
// Each subcommand registers itself on the app; cli/main.cpp calls these and
// passes the global options (filled when the command line is parsed).

#include <CLI/CLI.hpp>
#include <string>

#include "cli/global_options.hpp"

namespace goka::cli {

void register_broker(CLI::App& app, const GlobalOptions& global);
void register_emit(CLI::App& app, const GlobalOptions& global);
void register_dump(CLI::App& app, const GlobalOptions& global);
void register_view(CLI::App& app, const GlobalOptions& global);
void register_recover(CLI::App& app, const GlobalOptions& global);
void register_run_group(CLI::App& app, const GlobalOptions& global);
void register_status(CLI::App& app, const GlobalOptions& global);
void register_reset(CLI::App& app, const GlobalOptions& global);
void register_partition(CLI::App& app, const GlobalOptions& global);
void register_topics(CLI::App& app, const GlobalOptions& global);
void register_completion(CLI::App& app);

// The completion script for shell (bash, zsh or fish) of app's tree.
std::string completion_script(const CLI::App& app, const std::string& shell);

}  // namespace goka::cli

namespace goka::cli {

// Thrown by a command to end with exit code code without an error line
// (its own output already said what happened), e.g. 3 when a key is missing.
struct ExitStatus {
  int code;
};

}  // namespace goka::cli
