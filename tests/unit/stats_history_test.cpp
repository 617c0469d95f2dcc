// The monitor page's history: totals of /stats documents, bounded, and
// served by GET /history from the server's own sampling.

#include "monitor/stats_history.hpp"

#include <httplib.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "monitor/serve.hpp"

using nlohmann::json;

TEST_CASE("stats history: counts and lags of processors and views, the newest kept") {
  goka::cli::StatsHistory history(3);
  history.add(1000, {{"kind", "processor"}, {"totals", {{"processed", 5}, {"lag", 7}}}});
  history.add(2000, {{"kind", "view"}, {"totals", {{"records", 9}, {"lag", -1}}}});
  history.add(2500, {{"kind", "view"}});  // no totals: ignored
  CHECK(history.to_json() ==
        json{{"interval_ms", 1000},
             {"points", {{{"t", 1000}, {"count", 5}, {"lag", 7}},
                         {{"t", 2000}, {"count", 9}, {"lag", nullptr}}}}});
  history.add(3000, {{"totals", {{"processed", 10}, {"lag", 0}}}});
  history.add(4000, {{"totals", {{"processed", 11}, {"lag", 0}}}});
  json points = history.to_json()["points"];
  REQUIRE(points.size() == 3);
  CHECK(points[0]["t"] == 2000);
  CHECK(points[2]["count"] == 11);
}

TEST_CASE("serve: GET /history holds a sample a second of /stats") {
  std::atomic<int> processed{0};
  goka::cli::ServeSource source;
  source.stats = [&] { return json{{"kind", "processor"}, {"totals", {{"processed", processed.load()}, {"lag", 3}}}}; };
  source.metrics = [] { return std::string(); };
  source.lookup = [](const std::string&, const std::string&) { return std::optional<std::string>(); };
  source.codec = [](const std::string&) { return goka::cli::ValueCodec(); };
  goka::cli::Server server("0", source, false);
  httplib::Client client("127.0.0.1", server.port());
  processed = 42;
  // The first sample is taken at once, the next a second later.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  json points;
  do {
    auto res = client.Get("/history");
    REQUIRE(res);
    CHECK(res->status == 200);
    points = json::parse(res->body)["points"];
    if (!points.empty() && points.back()["count"] == 42) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // poll interval
  } while (std::chrono::steady_clock::now() < deadline);
  REQUIRE(!points.empty());
  CHECK(points.back()["count"] == 42);
  CHECK(points.back()["lag"] == 3);
}
