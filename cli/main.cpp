// goka-cli: wires the subcommands up and maps every failure to one error line
// and an exit code (CLI.md).

#include <fmt/format.h>
#include <malloc.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cli/global_options.hpp"
#include "cli/signals.hpp"
#include "commands/commands.hpp"
#include "goka/error.hpp"

#ifdef GOKA_JEMALLOC
// goka-cli allocates with jemalloc (CMakeLists.txt links it). Under glibc's
// malloc, librdkafka's broker thread allocates every fetched message and the
// reading thread frees it, and the two fight over the broker thread's heap
// lock (futex waits and wake-ups): jemalloc takes 40% off the CPU of a view's
// recovery of 1M records. One arena, and pages given back after 1 s, keep the
// memory within a few MB of glibc's. MALLOC_CONF adds to these settings.
extern "C" const char* malloc_conf;
const char* malloc_conf = "narenas:1,dirty_decay_ms:1000,muzzy_decay_ms:0";
#endif

namespace {

int exit_code(goka::Errc code) {
  switch (code) {
    case goka::Errc::usage:
    case goka::Errc::config: return 2;
    case goka::Errc::not_found: return 3;
    case goka::Errc::timeout: return 4;
    case goka::Errc::interrupted: return 130;
    default: return 1;
  }
}

int fail(const std::string& what) {
  std::fflush(stdout);
  std::fprintf(stderr, "goka-cli: error: %s\n", what.c_str());
  return 1;
}

// Without jemalloc: blocks of 128 KB and more (librdkafka's fetch and produce
// buffers) are mapped and given back when freed. glibc otherwise raises that
// threshold to the largest block freed (up to 32 MB), and the buffers then
// stay in the heaps of the threads that freed them: a count of 1M records
// held 31 MB instead of 28 (Go Goka 29-30), at ~5% more CPU (sys).
// GLIBC_TUNABLES setting mmap_threshold wins.
void map_large_blocks() {
#ifndef GOKA_JEMALLOC
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables != nullptr && std::strstr(tunables, "mmap_threshold") != nullptr) return;
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
}

}  // namespace

int main(int argc, char** argv) {
  map_large_blocks();
  goka::cli::install_signal_handling();
  CLI::App app{"goka-cli: Goka stream processing on Kafka from the shell", "goka-cli"};
  app.require_subcommand(1);
  app.fallthrough();
  app.set_version_flag("--version", "goka-cli 0.1.0");
  app.footer("Exit codes: 0 ok, 1 Kafka or runtime failure, 2 usage or configuration, "
             "3 not found, 4 timed out, 130 interrupted.");
  goka::cli::GlobalOptions global;
  goka::cli::add_global_options(app, global);
  goka::cli::register_broker(app, global);
  goka::cli::register_emit(app, global);
  goka::cli::register_dump(app, global);
  goka::cli::register_view(app, global);
  goka::cli::register_recover(app, global);
  goka::cli::register_run_group(app, global);
  goka::cli::register_status(app, global);
  goka::cli::register_reset(app, global);
  goka::cli::register_partition(app, global);
  goka::cli::register_topics(app, global);
  goka::cli::register_completion(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fail(fmt::format("{} (run goka-cli --help)", e.what()));
    return 2;
  } catch (const goka::cli::ExitStatus& status) {
    std::fflush(stdout);
    return status.code;
  } catch (const goka::Error& e) {
    fail(e.what());
    return exit_code(e.code());
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  if (std::fflush(stdout) != 0 && errno != EPIPE) return fail("cannot write to stdout");
  return 0;
}
