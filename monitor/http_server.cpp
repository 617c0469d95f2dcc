#include "monitor/http_server.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "goka/error.hpp"
#include "monitor/http_connection.hpp"
#include "cli/unique_fd.hpp"

namespace goka::cli {
namespace {

constexpr int kWorkers = 4;
constexpr int kBacklog = 64;
// Accepted connections waiting for a thread; more are closed at once.
constexpr size_t kMaxWaiting = 256;

// A socket listening on host:port (see HttpServer()).
UniqueFd listen_on(const std::string& host, int port) {
  auto failed = [&](const std::string& why) {
    return Error(Errc::runtime, fmt::format("cannot listen on {}:{}: {}", host, port, why));
  };
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    throw failed(rc == EAI_SYSTEM ? std::strerror(errno) : ::gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> addresses(found, ::freeaddrinfo);
  std::string why = "no address";
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    UniqueFd fd(::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                         a->ai_protocol));
    if (fd.get() < 0) {
      why = std::strerror(errno);
      continue;
    }
    // SO_REUSEADDR only: SO_REUSEPORT would let a second process listen on
    // the same port and take half of the requests.
    int yes = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (::bind(fd.get(), a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd.get(), kBacklog) == 0) {
      return fd;
    }
    why = std::strerror(errno);
  }
  throw failed(why);
}

int bound_port(int fd) {
  sockaddr_storage address{};
  socklen_t size = sizeof address;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
    throw Error(Errc::runtime, fmt::format("cannot read the port listened on: {}",
                                           std::strerror(errno)));
  }
  if (address.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
}

}  // namespace

// Threads: the acceptor and the workers touch only this State, which joins
// them before any member is destroyed. context is written before they
// start and only read by them; waiting and stopping are under mutex.
struct HttpServer::State {
  ConnectionContext context;
  UniqueFd listener;
  int port = 0;
  // The read end turns readable (for good: it is never read) once the server
  // stops; the acceptor and every connection poll it.
  UniqueFd wake_read;
  UniqueFd wake_write;

  std::mutex mutex;
  std::condition_variable changed;
  std::deque<UniqueFd> waiting;  // accepted, for a worker; guarded by mutex
  bool stopping = false;         // guarded by mutex

  std::thread acceptor;
  std::vector<std::thread> workers;

  ~State() { stop(); }
  // Starts the threads; listener is listening.
  void start();
  // Accepts connections into waiting, until stopping.
  void accept_loop();
  // Serves connections from waiting, until stopping.
  void work();
  // Waits a little, or until stopping (after accept() ran out of resources).
  void back_off() const;
  // Wakes every thread and joins them.
  void stop();
};

void HttpServer::State::start() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    throw Error(Errc::runtime, fmt::format("cannot make a pipe: {}", std::strerror(errno)));
  }
  wake_read = UniqueFd(fds[0]);
  wake_write = UniqueFd(fds[1]);
  context.wake_fd = wake_read.get();
  context.others_waiting = [this] {
    std::lock_guard lock(mutex);
    return !waiting.empty();
  };
  try {
    workers.reserve(kWorkers);
    acceptor = std::thread([this] { accept_loop(); });
    for (int i = 0; i < kWorkers; ++i) workers.emplace_back([this] { work(); });
  } catch (const std::system_error& e) {
    throw Error(Errc::runtime, fmt::format("cannot start the server's threads: {}", e.what()));
  }
}

void HttpServer::State::accept_loop() {
  for (;;) {
    pollfd fds[2] = {{listener.get(), POLLIN, 0}, {wake_read.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno != EINTR) back_off();
      continue;
    }
    if (fds[1].revents != 0) return;
    if (fds[0].revents == 0) continue;
    UniqueFd connection(
        ::accept4(listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (connection.get() < 0) {
      // Out of descriptors or memory, the listener stays readable: wait
      // rather than spin. Else (a client gone already, say) go on.
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) back_off();
      continue;
    }
    // Answers go out whole in one send(); no need to wait for an ACK.
    int yes = 1;
    ::setsockopt(connection.get(), IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    std::unique_lock lock(mutex);
    if (waiting.size() >= kMaxWaiting) continue;  // closes it
    waiting.push_back(std::move(connection));
    lock.unlock();
    changed.notify_one();
  }
}

void HttpServer::State::work() {
  for (;;) {
    UniqueFd connection;
    {
      std::unique_lock lock(mutex);
      changed.wait(lock, [this] { return stopping || !waiting.empty(); });
      if (stopping) return;
      connection = std::move(waiting.front());
      waiting.pop_front();
    }
    serve_connection(connection.get(), context);
  }
}

void HttpServer::State::back_off() const {
  pollfd wake{wake_read.get(), POLLIN, 0};
  ::poll(&wake, 1, 100);
}

void HttpServer::State::stop() {
  {
    std::lock_guard lock(mutex);
    stopping = true;
  }
  changed.notify_all();
  if (wake_write.get() >= 0) {
    const char byte = 1;
    while (::write(wake_write.get(), &byte, 1) < 0 && errno == EINTR) {
    }
  }
  if (acceptor.joinable()) acceptor.join();
  for (std::thread& worker : workers) worker.join();
}

HttpServer::HttpServer(const std::string& host, int port, Handler handler, ErrorPage error_page)
    : state_(std::make_unique<State>()) {
  if (port < 0 || port > 65535) {
    throw Error(Errc::usage, fmt::format("not a port: {}", port));
  }
  state_->context.handle = std::move(handler);
  state_->context.error_page = std::move(error_page);
  state_->listener = listen_on(host, port);
  state_->port = bound_port(state_->listener.get());
  state_->start();
}

HttpServer::~HttpServer() = default;

int HttpServer::port() const { return state_->port; }

}  // namespace goka::cli
