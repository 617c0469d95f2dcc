#pragma once
// Each subcommand registers itself on the app; cli/main.cpp calls these.

#include <CLI/CLI.hpp>
#include <string>

namespace goka::cli {

void register_broker(CLI::App& app);
void register_emit(CLI::App& app);
void register_dump(CLI::App& app);
void register_view(CLI::App& app);
void register_recover(CLI::App& app);
void register_run_group(CLI::App& app);
void register_status(CLI::App& app);
void register_partition(CLI::App& app);
void register_topics(CLI::App& app);
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
