#include "handlers/exec_handler.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <utility>

#include "cli/unique_fd.hpp"
#include "goka/error.hpp"

extern char** environ;

namespace goka::cli {
namespace {

// A pipe: read end and write end.
struct Pipe {
  UniqueFd read, write;
};

// Throws Errc::runtime naming what failed; nothing stays open.
Pipe make_pipe() {
  int fds[2];
  if (pipe(fds) != 0) {
    throw Error(Errc::runtime, "cannot create pipes for --exec", {.detail = std::strerror(errno)});
  }
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// Takes fd over into a FILE* (mode "r" or "w"); fd is closed if that fails.
FILE* open_stream(UniqueFd& fd, const char* mode) {
  FILE* stream = fdopen(fd.get(), mode);
  if (stream != nullptr) fd.release();
  return stream;
}

}  // namespace

ExecHandler::ExecHandler(const std::string& command) : command_(command) {
  Pipe in = make_pipe();   // our writes, its stdin
  Pipe out = make_pipe();  // its stdout, our reads
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.read.get(), STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out.write.get(), STDOUT_FILENO);
  for (int fd : {in.read.get(), in.write.get(), out.read.get(), out.write.get()}) {
    posix_spawn_file_actions_addclose(&actions, fd);
  }
  // goka-cli blocks SIGINT/SIGTERM and ignores SIGPIPE; the handler gets the
  // defaults back.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  int rc = posix_spawn(&pid_, "/bin/sh", &actions, &attr, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  in.read.reset();  // the handler's ends
  out.write.reset();
  if (rc != 0) {
    pid_ = -1;
    throw Error(Errc::runtime, "cannot start the --exec handler",
                {.detail = fmt::format("{}: {}", command, std::strerror(rc))});
  }
  to_ = open_stream(in.write, "w");
  from_ = open_stream(out.read, "r");
  if (to_ == nullptr || from_ == nullptr) {
    const int error = errno;
    stop();
    throw Error(Errc::runtime, "cannot open the pipes of the --exec handler",
                {.detail = fmt::format("{}: {}", command, std::strerror(error))});
  }
}

ExecHandler::~ExecHandler() { stop(); }

void ExecHandler::stop() {
  if (to_ != nullptr) fclose(to_);
  to_ = nullptr;
  if (pid_ > 0) {
    int status = 0;
    for (int i = 0; i < 20 && waitpid(pid_, &status, WNOHANG) == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // its time to exit
      if (i == 19) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
      }
    }
    pid_ = -1;
  }
  if (from_ != nullptr) fclose(from_);
  from_ = nullptr;
}

void ExecHandler::died(const std::string& what) {
  int status = 0;
  std::string how;
  if (pid_ > 0 && waitpid(pid_, &status, WNOHANG) == pid_) {
    how = WIFEXITED(status) ? fmt::format(", exit status {}", WEXITSTATUS(status))
                            : fmt::format(", killed by signal {}", WTERMSIG(status));
    pid_ = -1;
  }
  throw Error(Errc::runtime, "the --exec handler " + what + how, {.detail = command_});
}

nlohmann::json ExecHandler::call(const nlohmann::json& request, const Lookup& lookup) {
  std::lock_guard lock(mutex_);
  auto send = [this](const nlohmann::json& message) {
    std::string line = message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    line += '\n';
    if (std::fwrite(line.data(), 1, line.size(), to_) != line.size() || std::fflush(to_) != 0) {
      died("stopped reading its input");
    }
  };
  send(request);
  for (;;) {
    char* buffer = nullptr;
    size_t capacity = 0;
    ssize_t n = getline(&buffer, &capacity, from_);
    std::string line = n > 0 ? std::string(buffer, static_cast<size_t>(n)) : std::string();
    free(buffer);  // allocated by getline()
    if (n <= 0) died("closed its output without answering");
    nlohmann::json response = nlohmann::json::parse(line, nullptr, false);
    if (response.is_discarded() || !response.is_object()) {
      if (line.size() > 200) line = line.substr(0, 200) + "...";
      throw Error(Errc::runtime, "the --exec handler answered garbage", {.detail = line});
    }
    if (!response.contains("lookup")) return response;
    const auto& ask = response["lookup"];
    if (!ask.is_object() || !ask.value("table", nlohmann::json()).is_string() ||
        !ask.value("key", nlohmann::json()).is_string()) {
      throw Error(Errc::runtime, "the --exec handler sent a malformed lookup",
                  {.detail = response.dump()});
    }
    send({{"lookup_result", lookup(ask["table"].get<std::string>(), ask["key"].get<std::string>())}});
  }
}

}  // namespace goka::cli
