#include "kafka/client.hpp"

#include <fmt/format.h>

#include "core/log.hpp"

namespace goka::kafka {
namespace {

// librdkafka's callbacks are C; these trampolines recover the ClientEvents
// from the opaque and never let an exception escape.
void log_trampoline(const rd_kafka_t* rk, int level, const char* facility, const char* buf) {
  try {
    auto* events = static_cast<ClientEvents*>(rd_kafka_opaque(rk));
    if (events == nullptr) return;
    // librdkafka reports every reconnect at error level; what matters reaches
    // the user through libgoka's own errors, so its lines are at most info.
    LogLevel ours = level <= 2 ? LogLevel::error : level <= 6 ? LogLevel::info : LogLevel::debug;
    std::string line = fmt::format("librdkafka {}: {}", facility, buf);
    // Errors reach the error callback only through rd_kafka_poll(), which not
    // every handle calls: keep the latest for the timeout message.
    if (level <= 3) events->remember_error(buf);
    events->log(ours, line);
  } catch (...) {
  }
}

void error_trampoline(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  try {
    (void)rk;
    auto* events = static_cast<ClientEvents*>(opaque);
    if (events == nullptr) return;
    events->record_error(fmt::format("{}: {}", rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)), reason));
  } catch (...) {
  }
}

}  // namespace

void ClientEvents::log(LogLevel level, const std::string& line) const {
  core::log(options_, level, line);
}

void ClientEvents::record_error(const std::string& text) {
  remember_error(text);
  log(LogLevel::debug, text);
}

void ClientEvents::remember_error(const std::string& text) {
  std::lock_guard lock(mutex_);
  last_error_ = text;
}

std::string ClientEvents::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

void set_conf(rd_kafka_conf_t* conf, const std::string& key, const std::string& value) {
  char errstr[512];
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof errstr) !=
      RD_KAFKA_CONF_OK) {
    throw Error(Errc::config, fmt::format("invalid librdkafka property {}={}", key, value),
                {.detail = errstr});
  }
}

ConfPtr make_conf(const ClientOptions& options, const Properties& defaults, ClientEvents& events) {
  ConfPtr conf(rd_kafka_conf_new());
  set_conf(conf.get(), "bootstrap.servers", options.brokers);
  // librdkafka backs off reconnecting up to 10 s: a broker back after a few
  // seconds would be noticed only that much later, by then a consumer group
  // member's session has expired and a processor's outputs have timed out.
  set_conf(conf.get(), "reconnect.backoff.max.ms", "1000");
  for (const auto& [key, value] : defaults) set_conf(conf.get(), key, value);
  for (const auto& [key, value] : options.properties) set_conf(conf.get(), key, value);
  rd_kafka_conf_set_opaque(conf.get(), &events);
  rd_kafka_conf_set_log_cb(conf.get(), log_trampoline);
  rd_kafka_conf_set_error_cb(conf.get(), error_trampoline);
  return conf;
}

HandlePtr make_handle(rd_kafka_type_t type, ConfPtr conf) {
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), errstr, sizeof errstr);
  if (rk == nullptr) throw Error(Errc::config, "cannot create Kafka client", {.detail = errstr});
  conf.release();  // rd_kafka_new took it over
  return HandlePtr(rk);
}

void throw_kafka_error(rd_kafka_resp_err_t err, const std::string& what,
                       const ClientEvents& events, ErrorContext context) {
  std::string reason = rd_kafka_err2str(err);
  if (err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT ||
      err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
    std::string last = events.last_error();
    auto seconds = static_cast<double>(events.options().timeout.count()) / 1000.0;
    context.detail = fmt::format("brokers {}, {}s{}", events.options().brokers, seconds,
                                 last.empty() ? "" : ": " + last);
    throw Error(Errc::timeout, what + ": the cluster did not answer in time", std::move(context));
  }
  if (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
      err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION) {
    throw Error(Errc::not_found, what + ": " + reason, std::move(context));
  }
  throw Error(Errc::kafka, what + ": " + reason, std::move(context));
}

}  // namespace goka::kafka
