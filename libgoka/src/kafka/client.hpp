#pragma once
// Creating librdkafka handles from ClientOptions: configuration, log and
// error callbacks routed to libgoka, errors turned into goka::Error.

#include <librdkafka/rdkafka.h>

#include <mutex>
#include <string>

#include "goka/client_options.hpp"
#include "goka/error.hpp"
#include "kafka/handles.hpp"

namespace goka::kafka {

// What the callbacks of one handle share with its owner. Lives as long as the
// handle (the handle's opaque points to it).
class ClientEvents {
 public:
  explicit ClientEvents(ClientOptions options) : options_(std::move(options)) {}
  const ClientOptions& options() const { return options_; }

  void log(LogLevel level, const std::string& line) const;
  // Called from librdkafka's threads for errors such as "connection refused".
  void record_error(const std::string& text);
  // Keeps text as the last error without logging it.
  void remember_error(const std::string& text);
  // The most recent error librdkafka reported, or "".
  std::string last_error() const;

  // The object owning the handle, for callbacks that need it.
  void* owner = nullptr;

 private:
  ClientOptions options_;
  mutable std::mutex mutex_;
  std::string last_error_;
};

// Sets one property on conf; throws Errc::config naming the property.
void set_conf(rd_kafka_conf_t* conf, const std::string& key, const std::string& value);

// A new conf with bootstrap.servers and libgoka's defaults for every client
// (reconnect.backoff.max.ms=1000), then defaults, then options.properties
// (which win), with log and error callbacks pointing to events. events must
// outlive the handle created from the conf.
ConfPtr make_conf(const ClientOptions& options, const Properties& defaults, ClientEvents& events);

// Creates a handle of type from conf (which it takes over).
HandlePtr make_handle(rd_kafka_type_t type, ConfPtr conf);

// Turns a librdkafka error into a goka::Error: timeouts and transport
// failures become Errc::timeout with events' last error as detail.
[[noreturn]] void throw_kafka_error(rd_kafka_resp_err_t err, const std::string& what,
                                    const ClientEvents& events, ErrorContext context = {});

}  // namespace goka::kafka
