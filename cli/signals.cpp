#include "cli/signals.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace goka::cli {
namespace {

std::atomic<bool> g_interrupted{false};
std::mutex g_mutex;
std::condition_variable g_signalled;

}  // namespace

void install_signal_handling() {
  // Writing to a closed pipe (dump | head) is an EPIPE error, not a death.
  signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // inherited by every later thread
  std::thread([set] {
    for (;;) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) continue;
      if (g_interrupted.exchange(true)) _exit(130);  // the second one: give up at once
      std::lock_guard lock(g_mutex);
      g_signalled.notify_all();
    }
  }).detach();
}

bool interrupted() { return g_interrupted.load(std::memory_order_relaxed); }

bool wait_for_interrupt(std::chrono::milliseconds timeout) {
  std::unique_lock lock(g_mutex);
  return g_signalled.wait_for(lock, timeout, [] { return interrupted(); });
}

}  // namespace goka::cli
