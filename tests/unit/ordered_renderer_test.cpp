// OrderedRenderer: batches rendered on worker threads, handed on in the order
// they were submitted, at most max_pending at a time.

#include "cli/ordered_renderer.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using goka::cli::OrderedRenderer;

namespace {

// Work that takes about n times as long as spin(1), and a result that the
// compiler cannot drop.
std::string spin(int n) {
  std::string text = "x";
  uint64_t hash = 14695981039346656037u;
  for (int i = 0; i < n * 2000; ++i) hash = (hash ^ static_cast<unsigned char>(i)) * 1099511628211u;
  return text + std::to_string(hash % 10);
}

}  // namespace

// Jobs never wait for each other (the owner may run any job not started yet
// itself, so a job that waited for a later one could wait forever): every
// third job works 50 times longer, so that jobs finish out of order.
TEST_CASE("ordered renderer: texts come out in submission order, whatever order jobs finish in") {
  std::vector<std::string> texts;
  std::mutex finished_mutex;
  std::vector<int> finished;
  {
    OrderedRenderer renderer(3, 8, [&texts](std::string_view text) { texts.emplace_back(text); });
    CHECK(renderer.threads() == 3);
    for (int i = 0; i < 300; ++i) {
      renderer.submit([i, &finished, &finished_mutex](std::string& out) {
        out += std::to_string(i) + ":" + spin(i % 3 == 0 ? 50 : 1);
        std::lock_guard lock(finished_mutex);
        finished.push_back(i);
      });
    }
    renderer.finish();
  }
  REQUIRE(texts.size() == 300);
  for (int i = 0; i < 300; ++i) {
    const std::string& text = texts[static_cast<std::size_t>(i)];
    CHECK(text.substr(0, text.find(':')) == std::to_string(i));
  }
  int out_of_order = 0;
  for (std::size_t i = 1; i < finished.size(); ++i) out_of_order += finished[i] < finished[i - 1];
  INFO("jobs that finished before an earlier one: " << out_of_order);
  SUCCEED();
}

TEST_CASE("ordered renderer: at most max_pending batches wait to be handed on") {
  int submitted = 0;
  int delivered = 0;
  int most = 0;
  OrderedRenderer renderer(2, 3, [&delivered](std::string_view) { ++delivered; });
  for (int i = 0; i < 200; ++i) {
    renderer.submit([](std::string& out) { out.assign(1000, 'x'); });
    ++submitted;
    most = std::max(most, submitted - delivered);
  }
  renderer.finish();
  CHECK(delivered == 200);
  CHECK(most <= 3);
}

TEST_CASE("ordered renderer: a job's exception is rethrown where its batch is handed on") {
  std::vector<std::string> texts;
  OrderedRenderer renderer(2, 16, [&texts](std::string_view text) { texts.emplace_back(text); });
  // From submit() (once job 3 is done, at the front) or from finish().
  auto run = [&renderer] {
    for (int i = 0; i < 6; ++i) {
      renderer.submit([i](std::string& out) {
        if (i == 3) throw std::runtime_error("job 3");
        out += std::to_string(i);
      });
    }
    renderer.finish();
  };
  CHECK_THROWS_WITH(run(), "job 3");
  CHECK(texts == std::vector<std::string>{"0", "1", "2"});
}

TEST_CASE("ordered renderer: destroyed with batches pending, it joins without handing them on") {
  std::atomic<bool> started{false};
  std::atomic<bool> release{false};
  std::atomic<int> ran{0};
  int delivered = 0;
  {
    OrderedRenderer renderer(1, 16, [&delivered](std::string_view) { ++delivered; });
    renderer.submit([&](std::string&) {
      started = true;
      while (!release.load()) std::this_thread::yield();
      ++ran;
    });
    for (int i = 0; i < 10; ++i) renderer.submit([&](std::string&) { ++ran; });
    while (!started.load()) std::this_thread::yield();
    release = true;
  }  // no deadlock: the running job ends, the queued ones are dropped or run
  CHECK(delivered == 0);
  CHECK(ran >= 1);
}

TEST_CASE("ordered renderer: without threads each batch is rendered and handed on at once") {
  std::string out;
  OrderedRenderer renderer(0, 1, [&out](std::string_view text) { out += text; });
  CHECK(renderer.threads() == 0);
  renderer.submit([](std::string& text) { text += "a"; });
  CHECK(out == "a");
  renderer.submit([](std::string& text) { text += "b"; });
  CHECK(out == "ab");
  renderer.finish();
  CHECK(out == "ab");
}

TEST_CASE("ordered renderer: GOKA_DECODE_THREADS chooses the decoder threads") {
  const char* saved = std::getenv("GOKA_DECODE_THREADS");
  const std::string before = saved ? saved : "";
  setenv("GOKA_DECODE_THREADS", "3", 1);
  CHECK(goka::cli::decode_threads() == 3);
  setenv("GOKA_DECODE_THREADS", "0", 1);
  CHECK(goka::cli::decode_threads() == 0);
  setenv("GOKA_DECODE_THREADS", "17", 1);
  CHECK_THROWS_WITH(goka::cli::decode_threads(), Catch::Contains("invalid GOKA_DECODE_THREADS"));
  setenv("GOKA_DECODE_THREADS", "two", 1);
  CHECK_THROWS(goka::cli::decode_threads());
  unsetenv("GOKA_DECODE_THREADS");
  CHECK(goka::cli::decode_threads() <= 8);
  if (saved) setenv("GOKA_DECODE_THREADS", before.c_str(), 1);
}
