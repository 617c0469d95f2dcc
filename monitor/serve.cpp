#include "monitor/serve.hpp"

#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>

#include "cli/global_options.hpp"
#include "monitor/http_server.hpp"
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

// A JSON answer. Text that is not UTF-8 (a key, say) is replaced, not thrown on.
HttpResponse json_response(int status, const nlohmann::json& body) {
  return {status, "application/json",
          body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"};
}

HttpResponse error_response(int status, const std::string& what) {
  return json_response(status, {{"error", what}});
}

// TABLE and KEY of a path "/tables/TABLE/KEY" (the path decoded already: a
// topic name has no '/', a key may).
std::optional<std::pair<std::string, std::string>> table_key(std::string_view path) {
  constexpr std::string_view kPrefix = "/tables/";
  if (!path.starts_with(kPrefix)) return std::nullopt;
  path.remove_prefix(kPrefix.size());
  const size_t slash = path.find('/');
  if (slash == 0 || slash == std::string_view::npos) return std::nullopt;
  return std::pair{std::string(path.substr(0, slash)), std::string(path.substr(slash + 1))};
}

}  // namespace

struct Server::State {
  ServeSource source;
  StatsHistory history;
  std::thread sampler;
  // Whether the sampler stops.
  std::mutex mutex;
  std::condition_variable changed;
  bool stopping = false;  // guarded by mutex
  // Last: its threads answer from the members above; ~State stops them first.
  std::unique_ptr<HttpServer> http;

  // Stops the server, then the sampler.
  ~State();
  // GET /, /stats, /history, /metrics, /tables/TABLE/KEY; else 404.
  HttpResponse answer(const HttpRequest& request);
  HttpResponse answer_table(const std::string& table, const std::string& key);
  // Listens on endpoint; throws Errc::runtime when it cannot.
  void listen(const Endpoint& endpoint);
  // One sample of the statistics a second for GET /history, until stopping.
  void sample();
};

HttpResponse Server::State::answer(const HttpRequest& request) {
  const std::string& path = request.path;
  if (path == "/") return {200, "text/html; charset=utf-8", std::string(kMonitorPage)};
  if (path == "/stats") return json_response(200, source.stats());
  if (path == "/history") return json_response(200, history.to_json());
  if (path == "/metrics") {
    return {200, "text/plain; version=0.0.4; charset=utf-8", source.metrics()};
  }
  if (auto tk = table_key(path)) return answer_table(tk->first, tk->second);
  return error_response(404, fmt::format("no such resource: {}", path));
}

HttpResponse Server::State::answer_table(const std::string& table, const std::string& key) {
  try {
    if (std::optional<std::string> value = source.lookup(table, key)) {
      const ValueCodec codec = source.codec(table);
      // The value's JSON text as the codec gives it (a json value as written).
      std::string body;
      if (auto why = codec.append_decoded(body, *value))
        throw Error(Errc::decode, fmt::format("the value does not decode with codec {}: {}",
                                              codec.name(), *why));
      return {200, "application/json", body + "\n"};
    }
    return json_response(404, {{"error", "key not found"}, {"table", table}, {"key", key}});
  } catch (const Error& e) {
    int status = e.code() == Errc::not_found ? 404 : e.code() == Errc::usage ? 400 : 500;
    return json_response(status, {{"error", e.message()}, {"table", table}, {"key", key}});
  }
}

void Server::State::listen(const Endpoint& endpoint) {
  try {
    http = std::make_unique<HttpServer>(
        endpoint.host, endpoint.port, [this](const HttpRequest& r) { return answer(r); },
        error_response);
  } catch (const Error& e) {
    throw Error(e.code(), e.message(), {.detail = "--serve"});
  }
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

Server::State::~State() {
  http.reset();
  {
    std::lock_guard lock(mutex);
    stopping = true;
  }
  changed.notify_all();
  if (sampler.joinable()) sampler.join();
}

Server::Server(const std::string& address, ServeSource source, bool announce)
    : state_(std::make_unique<State>()) {
  const Endpoint endpoint = parse_address(address);
  State& s = *state_;
  s.source = std::move(source);
  s.listen(endpoint);
  s.sampler = std::thread([&s] { s.sample(); });
  // Said unless -q: the user needs the address (port 0 picks one).
  const bool v6 = endpoint.host.find(':') != std::string::npos;
  if (announce) {
    std::fprintf(stderr, "goka-cli: serving http://%s%s%s:%d/\n", v6 ? "[" : "",
                 endpoint.host.c_str(), v6 ? "]" : "", s.http->port());
  }
}

Server::~Server() = default;

int Server::port() const { return state_->http->port(); }

}  // namespace goka::cli
