#pragma once
// How libgoka's Kafka clients connect: shared by Emitter, TopicManager,
// TopicReader, View and Processor.

#include <chrono>
#include <functional>
#include <string>

#include "goka/properties.hpp"

namespace goka {

// Log levels, syslog order: lower is more severe.
enum class LogLevel { error = 3, warning = 4, info = 6, debug = 7 };

// Receives every log line of libgoka and of librdkafka. Called from any thread;
// must be thread-safe and must not throw.
using LogHandler = std::function<void(LogLevel level, const std::string& line)>;

struct ClientOptions {
  // Bootstrap servers, "host:port,host:port".
  std::string brokers = "localhost:9092";
  // Extra librdkafka properties (TLS, SASL, timeouts, ...); they override
  // libgoka's own defaults.
  Properties properties;
  // Bound on waiting for the cluster (metadata, watermarks, flush): an
  // unreachable broker becomes Errc::timeout after this long, never a hang.
  std::chrono::milliseconds timeout{10000};
  // Where log lines go; empty: warnings and errors to stderr.
  LogHandler log;
  // Lines less severe than this are dropped before reaching log.
  LogLevel log_level = LogLevel::warning;
};

}  // namespace goka
