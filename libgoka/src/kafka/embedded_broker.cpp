#include "goka/embedded_broker.hpp"

// rdkafka_mock.h needs rdkafka.h first.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <fmt/format.h>

#include <mutex>

#include "goka/error.hpp"
#include "kafka/handles.hpp"
#include "kafka/topic_requests.hpp"

namespace goka {
namespace {

struct ClusterDeleter {
  void operator()(rd_kafka_mock_cluster_t* p) const { rd_kafka_mock_cluster_destroy(p); }
};
using ClusterPtr = std::unique_ptr<rd_kafka_mock_cluster_t, ClusterDeleter>;

}  // namespace

struct EmbeddedBroker::State {
  std::mutex mutex;
  kafka::HandlePtr handle;  // the mock cluster's bookkeeping client
  ClusterPtr cluster;       // destroyed before handle
  std::string bootstrap;
  int brokers = 0;
  // Topic requests of clients; destroyed before the cluster, never under
  // mutex (its thread takes mutex).
  std::unique_ptr<kafka::TopicRequestServer> requests;
  std::string request_error;

  rd_kafka_mock_cluster_t* live() {
    if (!cluster) throw Error(Errc::usage, "the embedded broker is stopped");
    return cluster.get();
  }
};

EmbeddedBroker::EmbeddedBroker(EmbeddedBrokerOptions options) : state_(std::make_unique<State>()) {
  if (options.brokers < 1) throw Error(Errc::config, "an embedded cluster needs at least 1 broker");
  char errstr[512];
  kafka::ConfPtr conf(rd_kafka_conf_new());
  // The bookkeeping client itself never connects anywhere; keep it quiet.
  rd_kafka_conf_set(conf.get(), "log_level", "0", errstr, sizeof errstr);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof errstr);
  if (rk == nullptr) throw Error(Errc::runtime, "cannot start the embedded broker", {.detail = errstr});
  conf.release();
  state_->handle.reset(rk);
  state_->cluster.reset(rd_kafka_mock_cluster_new(rk, options.brokers));
  if (!state_->cluster) throw Error(Errc::runtime, "cannot start the embedded broker");
  state_->bootstrap = rd_kafka_mock_cluster_bootstraps(state_->cluster.get());
  state_->brokers = options.brokers;
  for (const auto& [name, partitions] : options.topics) create_topic(name, partitions);
  if (options.accept_topic_requests) {
    try {
      state_->requests = std::make_unique<kafka::TopicRequestServer>(
          kafka::loopback_ports(state_->bootstrap),
          [this](const std::string& name, int32_t partitions) { return on_topic_request(name, partitions); });
    } catch (const std::exception& e) {  // goka::Error, or a filesystem_error
      state_->request_error = e.what();
    }
  }
}

EmbeddedBroker::~EmbeddedBroker() { stop(); }

const std::string& EmbeddedBroker::bootstrap_servers() const { return state_->bootstrap; }

void EmbeddedBroker::create_topic(const std::string& name, int32_t partitions) {
  if (name.empty() || partitions < 1) {
    throw Error(Errc::config, fmt::format("invalid topic {}:{}", name, partitions));
  }
  std::lock_guard lock(state_->mutex);
  rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(state_->live(), name.c_str(), partitions,
                                                       std::min(state_->brokers, 3));
  if (err) {
    throw Error(Errc::config, fmt::format("cannot create topic: {}", rd_kafka_err2str(err)),
                {.topic = name});
  }
}

std::string EmbeddedBroker::topic_request_socket() const {
  return state_->requests ? state_->requests->path().string() : std::string();
}

std::string EmbeddedBroker::topic_request_error() const { return state_->request_error; }

std::string EmbeddedBroker::on_topic_request(const std::string& name, int32_t partitions) {
  std::lock_guard lock(state_->mutex);
  if (!state_->cluster) return "error the embedded broker is stopping";
  rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(state_->cluster.get(), name.c_str(),
                                                       partitions, std::min(state_->brokers, 3));
  if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) return "exists";
  if (err) return std::string("error ") + rd_kafka_err2str(err);
  return "ok";
}

void EmbeddedBroker::set_broker_down(int32_t broker_id, bool down) {
  std::lock_guard lock(state_->mutex);
  rd_kafka_resp_err_t err = down ? rd_kafka_mock_broker_set_down(state_->live(), broker_id)
                                 : rd_kafka_mock_broker_set_up(state_->live(), broker_id);
  if (err) throw Error(Errc::usage, fmt::format("no broker {}", broker_id));
}

void EmbeddedBroker::set_round_trip_time(int32_t broker_id, int rtt_ms) {
  std::lock_guard lock(state_->mutex);
  if (rd_kafka_mock_broker_set_rtt(state_->live(), broker_id, rtt_ms)) {
    throw Error(Errc::usage, fmt::format("no broker {}", broker_id));
  }
}

void EmbeddedBroker::fail_requests(int16_t api_key, int count, int error_code) {
  std::lock_guard lock(state_->mutex);
  if (count < 1) {
    rd_kafka_mock_clear_request_errors(state_->live(), api_key);
    return;
  }
  std::vector<rd_kafka_resp_err_t> errors(static_cast<size_t>(count),
                                          static_cast<rd_kafka_resp_err_t>(error_code));
  rd_kafka_mock_push_request_errors_array(state_->live(), api_key, errors.size(), errors.data());
}

void EmbeddedBroker::stop() {
  std::unique_ptr<kafka::TopicRequestServer> requests;
  {
    std::lock_guard lock(state_->mutex);
    requests = std::move(state_->requests);
  }
  requests.reset();  // waits for a request being answered
  std::lock_guard lock(state_->mutex);
  state_->cluster.reset();
  state_->handle.reset();
}

}  // namespace goka
