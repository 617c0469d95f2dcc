#include "kafka/topic_requests.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string_view>
#include <thread>

#include "goka/error.hpp"

namespace goka::kafka {
namespace {

// A file descriptor, closed on destruction.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(Fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Fd& operator=(Fd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string errno_text() { return std::strerror(errno); }

sockaddr_un socket_address(const std::filesystem::path& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string text = path.string();
  if (text.size() >= sizeof address.sun_path) {
    throw Error(Errc::runtime, "socket path too long for a unix socket", {.detail = text});
  }
  std::memcpy(address.sun_path, text.c_str(), text.size() + 1);
  return address;
}

// Waits until fd is readable (or writable); false when ms passed first.
bool await_fd(int fd, short events, int ms) {
  pollfd p{fd, events, 0};
  int n;
  do {
    n = ::poll(&p, 1, ms);
  } while (n < 0 && errno == EINTR);
  return n > 0;
}

// One line from fd (without its '\n'), read within ms; std::nullopt when the
// peer closed or the time passed before a whole line came.
std::optional<std::string> read_line(int fd, int ms) {
  std::string line;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  char c = 0;
  while (line.size() < 4096) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !await_fd(fd, POLLIN, static_cast<int>(left.count()))) return std::nullopt;
    ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    if (c == '\n') return line;
    line += c;
  }
  return std::nullopt;
}

void write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::send(fd, text.data(), text.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the peer went away: nothing to tell it
    text.remove_prefix(static_cast<size_t>(n));
  }
}

// Kafka's rule for topic names: 1 to 249 of [a-zA-Z0-9._-], not "." or "..".
std::optional<std::string> invalid_topic_name(const std::string& name) {
  if (name.empty() || name.size() > 249) return "a topic name has 1 to 249 characters";
  if (name == "." || name == "..") return "a topic name cannot be \".\" or \"..\"";
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return "a topic name has only ASCII letters, digits, '.', '_' and '-'";
  }
  return std::nullopt;
}

// The answer to one request line.
std::string answer(const std::string& request, const CreateTopicHandler& create) {
  std::istringstream in(request);
  std::string verb, name;
  int32_t partitions = 0;
  if (!(in >> verb >> partitions) || verb != "create" || in.get() != ' ') {
    return "error unknown request (expected: create PARTITIONS NAME)";
  }
  std::getline(in, name);  // the rest of the line: a name with a blank is refused below
  if (partitions < 1) return fmt::format("error invalid partition count {}", partitions);
  if (auto why = invalid_topic_name(name)) return "error invalid topic name \"" + name + "\": " + *why;
  return create(name, partitions);
}

// Removes the sockets of brokers that are gone (killed, or a test process
// that ended with _Exit): nobody listens on them any more.
void remove_stale(const std::filesystem::path& dir) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    // Only PORT names: a server binding under a temporary name is not done yet.
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    sockaddr_un address{};
    try {
      address = socket_address(entry.path());
    } catch (const Error&) {
      continue;
    }
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) return;
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 &&
        (errno == ECONNREFUSED || errno == ENOENT)) {
      std::filesystem::remove(entry.path(), ec);
    }
  }
}

}  // namespace

std::filesystem::path topic_request_directory() {
  if (const char* runtime = std::getenv("XDG_RUNTIME_DIR"); runtime != nullptr && *runtime == '/') {
    return std::filesystem::path(runtime) / "goka-broker";
  }
  const char* tmp = std::getenv("TMPDIR");
  std::filesystem::path base = tmp != nullptr && *tmp == '/' ? tmp : "/tmp";
  return base / fmt::format("goka-broker-{}", ::getuid());
}

std::vector<int> loopback_ports(const std::string& bootstrap) {
  std::vector<int> out;
  std::string_view rest = bootstrap;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view entry = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    while (!entry.empty() && entry.front() == ' ') entry.remove_prefix(1);
    while (!entry.empty() && entry.back() == ' ') entry.remove_suffix(1);
    if (auto scheme = entry.find("://"); scheme != std::string_view::npos) entry.remove_prefix(scheme + 3);
    size_t colon = entry.rfind(':');
    if (colon == std::string_view::npos) continue;
    std::string_view host = entry.substr(0, colon), port_text = entry.substr(colon + 1);
    bool loopback = host.starts_with("127.") || host == "localhost" || host == "[::1]" || host == "::1";
    int port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (loopback && ec == std::errc() && end == port_text.data() + port_text.size() && port > 0) {
      out.push_back(port);
    }
  }
  return out;
}

struct TopicRequestServer::State {
  std::vector<std::filesystem::path> paths;  // the socket first, then its links
  Fd listener;
  Fd wake_read, wake_write;
  CreateTopicHandler create;
  std::thread thread;

  void serve() {
    while (true) {
      pollfd fds[2] = {{listener.get(), POLLIN, 0}, {wake_read.get(), POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[1].revents != 0) return;  // stopping
      if ((fds[0].revents & POLLIN) == 0) continue;
      Fd client(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (client.get() < 0) continue;
      // One short request per connection; a client that says nothing is
      // dropped after a second.
      if (auto request = read_line(client.get(), 1000)) {
        write_all(client.get(), answer(*request, create) + "\n");
      }
    }
  }
};

TopicRequestServer::TopicRequestServer(const std::vector<int>& ports, CreateTopicHandler create)
    : state_(std::make_unique<State>()) {
  if (ports.empty()) throw Error(Errc::runtime, "no broker port to serve topic requests for");
  State& s = *state_;
  s.create = std::move(create);
  std::filesystem::path dir = topic_request_directory();
  // Only this user may reach the sockets.
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    throw Error(Errc::runtime, "cannot make the topic request directory: " + errno_text(),
                {.detail = dir.string()});
  }
  remove_stale(dir);
  for (int port : ports) s.paths.push_back(dir / std::to_string(port));
  // Bound and listening under a temporary name, then renamed: a socket
  // under a PORT name always answers (see remove_stale).
  const std::filesystem::path pending = dir / fmt::format("{}.{}", ports.front(), ::getpid());
  sockaddr_un address = socket_address(pending);
  s.listener = Fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (s.listener.get() < 0) throw Error(Errc::runtime, "cannot make a unix socket: " + errno_text());
  std::error_code ec;
  std::filesystem::remove(pending, ec);
  if (::bind(s.listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(s.listener.get(), 16) != 0) {
    throw Error(Errc::runtime, "cannot listen for topic requests: " + errno_text(),
                {.detail = pending.string()});
  }
  // What is there under our ports was left by brokers that are gone: the
  // ports are ours now.
  std::filesystem::rename(pending, s.paths.front());
  for (size_t i = 1; i < s.paths.size(); ++i) {
    std::filesystem::remove(s.paths[i], ec);
    std::filesystem::create_symlink(s.paths.front().filename(), s.paths[i]);
  }
  int wake[2];
  if (::pipe2(wake, O_CLOEXEC) != 0) throw Error(Errc::runtime, "cannot make a pipe: " + errno_text());
  s.wake_read = Fd(wake[0]);
  s.wake_write = Fd(wake[1]);
  s.thread = std::thread([&s] { s.serve(); });
}

TopicRequestServer::~TopicRequestServer() {
  State& s = *state_;
  if (s.thread.joinable()) {
    char byte = 0;
    while (::write(s.wake_write.get(), &byte, 1) < 0 && errno == EINTR) {
    }
    s.thread.join();
  }
  std::error_code ignored;
  for (const auto& path : s.paths) std::filesystem::remove(path, ignored);
}

const std::filesystem::path& TopicRequestServer::path() const { return state_->paths.front(); }

std::optional<std::string> request_topic(const std::string& bootstrap, const std::string& name,
                                         int32_t partitions, std::chrono::milliseconds timeout) {
  const std::filesystem::path dir = topic_request_directory();
  for (int port : loopback_ports(bootstrap)) {
    const std::filesystem::path path = dir / std::to_string(port);
    sockaddr_un address{};
    try {
      address = socket_address(path);
    } catch (const Error&) {
      continue;
    }
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) continue;
    // No such socket, or one left by a broker that is gone: ask the next.
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) continue;
    write_all(fd.get(), fmt::format("create {} {}\n", partitions, name));
    if (auto line = read_line(fd.get(), static_cast<int>(timeout.count()))) return line;
    throw Error(Errc::timeout, "the embedded broker did not answer a topic request",
                {.topic = name, .detail = path.string()});
  }
  return std::nullopt;
}

}  // namespace goka::kafka
