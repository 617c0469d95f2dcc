#pragma once
// SIGINT and SIGTERM for goka-cli: blocked in every thread and turned into a
// flag that commands poll. A second signal ends the process at once (130).

#include <chrono>

namespace goka::cli {

// Call first in main(), before any thread starts.
void install_signal_handling();

// True once SIGINT or SIGTERM arrived.
bool interrupted();

// Waits until a signal arrives or timeout passes; returns interrupted().
bool wait_for_interrupt(std::chrono::milliseconds timeout);

}  // namespace goka::cli
