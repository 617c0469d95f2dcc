// The --serve HTTP server over a real socket, with a source of our own: what
// each route answers, and that bad requests get a 4xx while it keeps serving.
// And the Prometheus text of view statistics.

#include "monitor/serve.hpp"

#include <httplib.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "cli/global_options.hpp"
#include "monitor/stats_report.hpp"
#include "goka/error.hpp"

namespace {

struct FakeSource {
  std::mutex mutex;
  std::vector<std::pair<std::string, std::string>> asked;  // table, key

  goka::cli::ServeSource source() {
    goka::cli::ServeSource s;
    s.stats = [] { return nlohmann::json{{"kind", "view"}, {"table", "t"}}; };
    s.metrics = [] { return std::string("goka_x 1\n"); };
    s.lookup = [this](const std::string& table,
                      const std::string& key) -> std::optional<std::string> {
      {
        std::lock_guard lock(mutex);
        asked.emplace_back(table, key);
      }
      if (table != "t") throw goka::Error(goka::Errc::not_found, "no table " + table);
      if (key == "bad") return std::string("{not json");
      if (key == "boom") throw std::runtime_error("boom");
      if (key == "missing") return std::nullopt;
      return nlohmann::json{{"key", key}}.dump();
    };
    s.codec = [](const std::string&) { return goka::cli::ValueCodec(); };
    return s;
  }
};

}  // namespace

TEST_CASE("serve: every route answers, on loopback by default") {
  FakeSource fake;
  goka::cli::Server server("0", fake.source());
  REQUIRE(server.port() > 0);
  httplib::Client client("127.0.0.1", server.port());

  auto page = client.Get("/");
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(page->get_header_value("Content-Type").starts_with("text/html"));
  CHECK(page->body.find("/stats") != std::string::npos);  // the page polls it

  auto stats = client.Get("/stats");
  REQUIRE(stats);
  CHECK(stats->status == 200);
  CHECK(nlohmann::json::parse(stats->body) == nlohmann::json{{"kind", "view"}, {"table", "t"}});

  auto metrics = client.Get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->status == 200);
  CHECK(metrics->get_header_value("Content-Type").starts_with("text/plain; version=0.0.4"));
  CHECK(metrics->body == "goka_x 1\n");

  // Keys are URL-decoded and may hold '/'.
  auto value = client.Get("/tables/t/a%2Fb%20c");
  REQUIRE(value);
  CHECK(value->status == 200);
  CHECK(nlohmann::json::parse(value->body) == nlohmann::json{{"key", "a/b c"}});
  std::lock_guard lock(fake.mutex);
  REQUIRE(fake.asked.size() == 1);
  CHECK(fake.asked[0] == std::pair<std::string, std::string>("t", "a/b c"));
}

TEST_CASE("serve: missing keys and tables are 404, failures 500, bad requests 4xx") {
  FakeSource fake;
  goka::cli::Server server("127.0.0.1:0", fake.source());
  httplib::Client client("127.0.0.1", server.port());

  auto status = [&](const std::string& path) {
    auto res = client.Get(path);
    REQUIRE(res);
    INFO(path << " -> " << res->body);
    CHECK(nlohmann::json::parse(res->body).contains("error"));
    return res->status;
  };
  CHECK(status("/tables/t/missing") == 404);
  CHECK(status("/tables/other/k") == 404);
  CHECK(status("/tables/t") == 404);
  CHECK(status("/nothing/here") == 404);
  CHECK(status("/tables/t/bad") == 500);
  CHECK(status("/tables/t/boom") == 500);

  auto post = client.Post("/stats", "x", "text/plain");
  REQUIRE(post);
  CHECK(post->status >= 400);
  CHECK(post->status < 500);

  // A request that is not HTTP: the server answers 400 or hangs up, and serves on.
  {
    httplib::Client raw("127.0.0.1", server.port());
    auto res = raw.Get("/\x01\x02 HTTP/9", httplib::Headers{{"X", std::string(10000, 'x')}});
    if (res) CHECK(res->status >= 400);
  }
  auto again = client.Get("/stats");
  REQUIRE(again);
  CHECK(again->status == 200);
}

TEST_CASE("serve: a bad address is a usage error, a port in use a runtime error") {
  FakeSource fake;
  for (const char* bad : {"", "host:", "x", "1:2:3", "127.0.0.1:70000", "127.0.0.1:-1"}) {
    INFO(bad);
    try {
      goka::cli::Server server(bad, fake.source());
      FAIL("listened");
    } catch (const goka::Error& e) {
      CHECK(e.code() == goka::Errc::usage);
    }
  }
  goka::cli::Server first("127.0.0.1:0", fake.source());
  try {
    goka::cli::Server second("127.0.0.1:" + std::to_string(first.port()), fake.source());
    FAIL("listened twice");
  } catch (const goka::Error& e) {
    CHECK(e.code() == goka::Errc::runtime);
    CHECK_THAT(e.what(), Catch::Contains(std::to_string(first.port())));
  }
}

TEST_CASE("serve: a server stopped right after it started does stop") {
  // The server's threads must be serving before the destructor's stop() can
  // stop them; a server destroyed at once is the tightest case. A hang is a
  // failure here, not a stuck test run: the servers live on a thread of
  // their own.
  auto fake = std::make_shared<FakeSource>();
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> finished = done->get_future();
  std::thread([done, fake] {
    for (int i = 0; i < 50; ++i) goka::cli::Server server("127.0.0.1:0", fake->source(), false);
    done->set_value();
  }).detach();
  const bool stopped = finished.wait_for(std::chrono::seconds(30)) == std::future_status::ready;
  REQUIRE(stopped);  // else the stuck thread is left behind; the run still ends
}

TEST_CASE("stats report: view lag, and Prometheus labels escaped") {
  goka::ViewStats stats;
  stats.table = "we\"ird\\table";
  stats.state = goka::TableState::recovering;
  goka::PartitionStats& p = stats.partitions.emplace_back();
  p.partition = 2;
  p.state = goka::TableState::recovering;
  p.stored_offset = 9;
  p.start_offset = 5;
  p.high_watermark = 25;
  p.records = 5;

  nlohmann::json json = goka::cli::view_stats_json(stats);
  CHECK(json["kind"] == "view");
  CHECK(json["partitions"][0]["lag"] == 15);  // offsets 10..24 still to read
  CHECK(json["totals"]["records"] == 5);

  std::string text = goka::cli::view_metrics(stats);
  CHECK_THAT(text,
             Catch::Contains("goka_table_lag{table=\"we\\\"ird\\\\table\",partition=\"2\"} 15\n"));
  CHECK_THAT(text, Catch::Contains("# TYPE goka_table_records_total counter\n"));
  CHECK_THAT(text, Catch::Contains("goka_table_state{table=\"we\\\"ird\\\\table\",partition=\"2\","
                                   "state=\"recovering\"} 1\n"));
  CHECK_THAT(
      text,
      Catch::Contains(
          "goka_table_state{table=\"we\\\"ird\\\\table\",partition=\"2\",state=\"running\"} 0\n"));
}
