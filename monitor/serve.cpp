#include "monitor/serve.hpp"

#include <fmt/format.h>
#include <httplib.h>

#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "cli/global_options.hpp"
#include "monitor/monitor_page.hpp"
#include "monitor/stats_history.hpp"
#include "goka/error.hpp"

namespace goka::cli {
namespace {

struct Endpoint {
  std::string host;
  int port = 0;
};

Endpoint parse_address(const std::string& address) {
  auto bad = [&](const char* why) {
    return Error(Errc::usage,
                 fmt::format("--serve \"{}\": {} (HOST:PORT, :PORT or PORT)", address, why));
  };
  Endpoint e{"127.0.0.1", 0};
  std::string_view port = address;
  if (auto colon = address.rfind(':'); colon != std::string::npos) {
    std::string_view host = std::string_view(address).substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
    if (host.find(':') != std::string_view::npos && address.front() != '[') {
      throw bad("write an IPv6 host in brackets");
    }
    if (!host.empty()) e.host = host;
    port = port.substr(colon + 1);
  }
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), e.port);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || e.port < 0 ||
      e.port > 65535) {
    throw bad("not a port");
  }
  return e;
}

void reply_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump() + "\n", "application/json");
}

void reply_error(httplib::Response& res, int status, const std::string& what) {
  reply_json(res, status, {{"error", what}});
}

}  // namespace

struct Server::State {
  ServeSource source;
  httplib::Server http;
  int port = 0;
  std::thread thread;
  StatsHistory history;
  std::thread sampler;

  // Whether the listening thread got as far as serving (stop() only stops
  // a server that is running) or ended without; whether the sampler stops.
  std::mutex mutex;
  std::condition_variable changed;
  bool running = false;   // guarded by mutex
  bool ended = false;     // guarded by mutex
  bool stopping = false;  // guarded by mutex

  void set(bool State::*flag) {
    std::lock_guard lock(mutex);
    this->*flag = true;
    changed.notify_all();
  }

  // Limits and threads of the HTTP server.
  void configure();
  // GET /, /stats, /history, /metrics, /tables/TABLE/KEY.
  void add_routes();
  void answer_table(const httplib::Request& req, httplib::Response& res);
  // 500 for an exception, a JSON body for every error status.
  void add_error_handlers();
  // Binds to endpoint; throws Errc::runtime when it cannot.
  void bind(const Endpoint& endpoint);
  // Serves and samples the history on threads of their own; returns once
  // the server runs (or failed to).
  void start();
  // One sample of the statistics a second for GET /history, until stopping.
  void sample();
};

void Server::State::configure() {
  // A few threads answer; an idle kept-alive connection (a monitor page
  // between refreshes) holds one for at most a second. The library takes
  // ownership of the queue it is given.
  // httplib makes the queue when listening starts, once is_running() holds:
  // from then on, stop() stops it.
  http.new_task_queue = [this] {
    auto* pool = new httplib::ThreadPool(4);
    set(&State::running);
    return pool;
  };
  http.set_keep_alive_timeout(1);
  // SO_REUSEADDR only: the library's default SO_REUSEPORT would let a second
  // process listen on the same port and take half of the requests.
  http.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  http.set_read_timeout(5, 0);
  http.set_write_timeout(5, 0);
  http.set_payload_max_length(64 * 1024);
}

void Server::State::add_routes() {
  http.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(kMonitorPage), "text/html; charset=utf-8");
  });
  http.Get("/stats", [this](const httplib::Request&, httplib::Response& res) {
    reply_json(res, 200, source.stats());
  });
  http.Get("/history", [this](const httplib::Request&, httplib::Response& res) {
    reply_json(res, 200, history.to_json());
  });
  http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(source.metrics(), "text/plain; version=0.0.4; charset=utf-8");
  });
  // The path arrives URL-decoded: a topic name has no '/', a key may.
  http.Get(R"(/tables/([^/]+)/(.*))", [this](const httplib::Request& req, httplib::Response& res) {
    answer_table(req, res);
  });
}

void Server::State::answer_table(const httplib::Request& req, httplib::Response& res) {
  const std::string table = req.matches[1];
  const std::string key = req.matches[2];
  try {
    if (std::optional<std::string> value = source.lookup(table, key)) {
      const ValueCodec codec = source.codec(table);
      // The value's JSON text as the codec gives it (a json value as written).
      std::string body;
      if (auto why = codec.append_decoded(body, *value))
        throw Error(Errc::decode, fmt::format("the value does not decode with codec {}: {}",
                                              codec.name(), *why));
      res.status = 200;
      res.set_content(body + "\n", "application/json");
    } else {
      reply_json(res, 404, {{"error", "key not found"}, {"table", table}, {"key", key}});
    }
  } catch (const Error& e) {
    int status = e.code() == Errc::not_found ? 404 : e.code() == Errc::usage ? 400 : 500;
    reply_json(res, status, {{"error", e.message()}, {"table", table}, {"key", key}});
  }
}

void Server::State::add_error_handlers() {
  http.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          reply_error(res, 500, e.what());
        } catch (...) {
          reply_error(res, 500, "unknown error");
        }
      });
  http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.body.empty()) {
      reply_error(res, res.status,
                  res.status == 404 ? fmt::format("no such resource: {}", req.path)
                                    : fmt::format("HTTP {}", res.status));
    }
  });
}

void Server::State::bind(const Endpoint& endpoint) {
  if (endpoint.port == 0) {
    port = http.bind_to_any_port(endpoint.host);
  } else {
    port = http.bind_to_port(endpoint.host, endpoint.port) ? endpoint.port : -1;
  }
  if (port <= 0) {
    throw Error(Errc::runtime, fmt::format("cannot listen on {}:{}", endpoint.host, endpoint.port),
                {.detail = "--serve"});
  }
}

void Server::State::start() {
  thread = std::thread([this] {
    http.listen_after_bind();
    set(&State::ended);
  });
  sampler = std::thread([this] { sample(); });
  std::unique_lock lock(mutex);
  changed.wait(lock, [this] { return running || ended; });
}

void Server::State::sample() {
  std::unique_lock lock(mutex);
  while (!stopping) {
    lock.unlock();
    try {
      auto now = std::chrono::system_clock::now().time_since_epoch();
      history.add(std::chrono::duration_cast<std::chrono::milliseconds>(now).count(),
                  source.stats());
    } catch (...) {
      // A sample the source cannot give now is left out; /stats says why.
    }
    lock.lock();
    changed.wait_for(lock, std::chrono::seconds(1), [this] { return stopping; });
  }
}

Server::Server(const std::string& address, ServeSource source, bool announce)
    : state_(std::make_unique<State>()) {
  const Endpoint endpoint = parse_address(address);
  State& s = *state_;
  s.source = std::move(source);
  s.configure();
  s.add_routes();
  s.add_error_handlers();
  s.bind(endpoint);
  s.start();
  // Said unless -q: the user needs the address (port 0 picks one).
  const bool v6 = endpoint.host.find(':') != std::string::npos;
  if (announce) {
    std::fprintf(stderr, "goka-cli: serving http://%s%s%s:%d/\n", v6 ? "[" : "",
                 endpoint.host.c_str(), v6 ? "]" : "", s.port);
  }
}

Server::~Server() {
  state_->set(&State::stopping);
  if (state_->sampler.joinable()) state_->sampler.join();
  state_->http.stop();
  if (state_->thread.joinable()) state_->thread.join();
}

int Server::port() const { return state_->port; }

}  // namespace goka::cli
