// Unit tests of CommitTracker: contiguous completion in processing order,
// out-of-order acknowledgements, failures that block everything after them,
// deferred completions, waiting.

#include "core/commit_tracker.hpp"

#include <catch2/catch.hpp>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "goka/error.hpp"

using namespace std::chrono_literals;
using goka::Delivery;
using goka::Errc;
using goka::Error;
using goka::core::CommitTracker;
using Offsets = std::map<std::string, int64_t>;

namespace {

Delivery ok(const std::string& topic, int64_t offset = 0) {
  return Delivery{topic, 0, offset, std::nullopt};
}

Delivery failed(const std::string& topic) {
  return Delivery{topic, 3, -1, Error(Errc::timeout, "message timed out")};
}

// One message of topic at offset with one produced output; sealed.
CommitTracker::Message* message_with_output(CommitTracker& tracker, const std::string& topic,
                                            int64_t offset) {
  CommitTracker::Message* m = tracker.begin(topic, offset);
  tracker.expect(m);
  tracker.seal(m);
  return m;
}

}  // namespace

TEST_CASE("commit tracker: a message without outputs is complete when sealed", "[commit]") {
  CommitTracker tracker(0);
  CHECK(tracker.committable().empty());
  CommitTracker::Message* m = tracker.begin("in", 5);
  CHECK(tracker.in_flight() == 1);
  CHECK(tracker.committable().empty());
  tracker.seal(m);
  CHECK(tracker.committable() == Offsets{{"in", 6}});
  CHECK(tracker.in_flight() == 0);
  CHECK(tracker.wait(0ms));
}

TEST_CASE("commit tracker: commits are contiguous despite out-of-order acks", "[commit]") {
  CommitTracker tracker(0);
  auto* a = message_with_output(tracker, "in", 10);
  auto* b = message_with_output(tracker, "in", 11);
  auto* c = message_with_output(tracker, "in", 15);  // offsets may have gaps
  CHECK(tracker.deliveries() == 3);
  CommitTracker::deliver(ok("out"), c);
  CommitTracker::deliver(ok("out"), b);
  CHECK(tracker.committable().empty());  // 10 is still waiting
  CHECK(tracker.in_flight() == 3);
  CHECK_FALSE(tracker.wait(1ms));
  CommitTracker::deliver(ok("out"), a);
  CHECK(tracker.committable() == Offsets{{"in", 16}});
  CHECK(tracker.deliveries() == 0);
  CHECK(tracker.in_flight() == 0);
  CHECK(tracker.wait(0ms));
}

TEST_CASE("commit tracker: a message waits for every one of its outputs", "[commit]") {
  CommitTracker tracker(0);
  CommitTracker::Message* m = tracker.begin("in", 0);
  tracker.expect(m);
  tracker.expect(m);
  CommitTracker::deliver(ok("out"), m);
  CommitTracker::deliver(ok("out"), m);
  CHECK(tracker.committable().empty());  // not sealed: the callback may still add outputs
  tracker.seal(m);
  CHECK(tracker.committable() == Offsets{{"in", 1}});
}

TEST_CASE("commit tracker: order spans the topics of the partition", "[commit]") {
  CommitTracker tracker(0);
  auto* a = message_with_output(tracker, "clicks", 7);
  auto* b = message_with_output(tracker, "g-loop", 2);
  auto* c = message_with_output(tracker, "clicks", 8);
  CommitTracker::deliver(ok("out"), b);
  CommitTracker::deliver(ok("out"), c);
  CHECK(tracker.committable().empty());  // b and c were processed after a
  CommitTracker::deliver(ok("out"), a);
  CHECK(tracker.committable() == Offsets{{"clicks", 9}, {"g-loop", 3}});
}

TEST_CASE("commit tracker: offsets of a topic must increase", "[commit]") {
  CommitTracker tracker(4);
  tracker.seal(tracker.begin("in", 3));
  try {
    tracker.begin("in", 3);
    FAIL("begin accepted an old offset");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::usage);
    CHECK(e.context().topic == std::optional<std::string>("in"));
    CHECK(e.context().partition == std::optional<int32_t>(4));
  }
  CHECK_THROWS_AS(tracker.begin("in", -1), Error);
  CHECK_NOTHROW(tracker.seal(tracker.begin("other", 0)));  // another topic has its own offsets
  CHECK(tracker.error() == std::nullopt);                  // misuse does not fail the tracker
}

TEST_CASE("commit tracker: a failed delivery blocks everything after it", "[commit]") {
  CommitTracker tracker(3);
  auto* a = message_with_output(tracker, "in", 0);
  auto* b = message_with_output(tracker, "in", 1);
  auto* c = message_with_output(tracker, "in", 2);
  CommitTracker::deliver(ok("out"), c);
  CommitTracker::deliver(failed("out"), b);
  REQUIRE(tracker.error());
  const Error error = *tracker.error();
  CHECK(error.code() == Errc::timeout);
  CHECK(error.context().topic == std::optional<std::string>("in"));
  CHECK(error.context().partition == std::optional<int32_t>(3));
  CHECK(error.context().offset == std::optional<int64_t>(1));
  CHECK(std::string(error.what()).find("producing to out failed") != std::string::npos);
  CHECK(std::string(error.what()).find("output topic=out, partition=3") != std::string::npos);
  CommitTracker::deliver(ok("out"), a);
  CHECK(tracker.committable() == Offsets{{"in", 1}});  // a only: b failed, c is after it
  CHECK(tracker.wait(0ms));  // failed, nothing in flight
  // Nothing is begun after a failure.
  try {
    tracker.begin("in", 3);
    FAIL("begin after a failure");
  } catch (const Error& e) {
    CHECK(e.context().offset == std::optional<int64_t>(1));
  }
}

TEST_CASE("commit tracker: fail() keeps the first error", "[commit]") {
  CommitTracker tracker(0);
  auto* a = tracker.begin("in", 0);
  tracker.expect(a);
  tracker.fail(a, Error(Errc::runtime, "callback failed", {"in", 0, 0, std::nullopt}));
  CHECK_FALSE(tracker.wait(1ms));  // a's record is still in flight
  CommitTracker::deliver(failed("out"), a);
  REQUIRE(tracker.error());
  CHECK(tracker.error()->message() == "callback failed");
  CHECK(tracker.committable().empty());
  CHECK(tracker.wait(0ms));
}

TEST_CASE("commit tracker: the observer sees acknowledged records first", "[commit]") {
  std::vector<int64_t> seen;
  CommitTracker tracker(0, [&](const Delivery& d) -> std::optional<Error> {
    seen.push_back(d.offset);
    if (d.offset == 99) return Error(Errc::runtime, "storage closed");
    return std::nullopt;
  });
  auto* a = message_with_output(tracker, "in", 0);
  auto* b = message_with_output(tracker, "in", 1);
  CommitTracker::deliver(ok("g-table", 41), a);
  CHECK(tracker.committable() == Offsets{{"in", 1}});
  CommitTracker::deliver(ok("g-table", 99), b);
  CHECK(seen == std::vector<int64_t>{41, 99});
  REQUIRE(tracker.error());
  CHECK(tracker.error()->context().offset == std::optional<int64_t>(1));
  CHECK(std::string(tracker.error()->what()).find("storage closed") != std::string::npos);
  CHECK(tracker.committable() == Offsets{{"in", 1}});
}

TEST_CASE("commit tracker: deferred completions", "[commit]") {
  CommitTracker tracker(0);

  SECTION("the commit waits for the completion") {
    auto* a = tracker.begin("in", 0);
    goka::CommitCompletion done = tracker.defer(a);
    tracker.seal(a);
    auto* b = tracker.begin("in", 1);
    tracker.seal(b);
    CHECK(tracker.committable().empty());
    CHECK_FALSE(tracker.wait(1ms));
    std::thread other([done] { done(std::nullopt); });  // from any thread
    CHECK(tracker.wait(5s));
    other.join();
    CHECK(tracker.committable() == Offsets{{"in", 2}});
    done(Error(Errc::runtime, "late"));  // a second call is ignored
    CHECK_FALSE(tracker.error());
  }

  SECTION("a completion with an error fails its message") {
    auto* a = tracker.begin("in", 0);
    goka::CommitCompletion done = tracker.defer(a);
    tracker.seal(a);
    done(Error(Errc::kafka, "downstream refused", {.detail = "http 503"}));
    REQUIRE(tracker.error());
    CHECK(tracker.error()->code() == Errc::kafka);
    CHECK(tracker.error()->context().offset == std::optional<int64_t>(0));
    CHECK(std::string(tracker.error()->what()).find("http 503") != std::string::npos);
    CHECK(tracker.committable().empty());
  }

  SECTION("dropping every copy without calling it fails the message") {
    auto* a = tracker.begin("in", 0);
    {
      goka::CommitCompletion done = tracker.defer(a);
      goka::CommitCompletion copy = done;
      tracker.seal(a);
    }
    REQUIRE(tracker.error());
    CHECK(std::string(tracker.error()->what()).find("dropped") != std::string::npos);
  }
}

TEST_CASE("commit tracker: a completion may outlive its tracker", "[commit]") {
  goka::CommitCompletion done;
  {
    CommitTracker tracker(0);
    auto* a = tracker.begin("in", 0);
    done = tracker.defer(a);
    tracker.seal(a);
  }
  CHECK_NOTHROW(done(std::nullopt));
}

TEST_CASE("commit tracker: acknowledgements from another thread wake wait()", "[commit]") {
  CommitTracker tracker(0);
  std::vector<CommitTracker::Message*> messages;
  for (int64_t offset = 0; offset < 100; ++offset) {
    messages.push_back(message_with_output(tracker, "in", offset));
  }
  std::thread producer([&] {
    for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
      CommitTracker::deliver(ok("out"), *it);
    }
  });
  CHECK(tracker.wait(10s));
  producer.join();
  CHECK(tracker.committable() == Offsets{{"in", 100}});
}

// The owner destroys the tracker the moment wait() says it is settled, while
// the thread whose ack settled it may still be inside deliver(). Whatever
// deliver() touched after releasing the tracker would be freed memory
// (AddressSanitizer reports it in the sanitized build of the unit tests).
TEST_CASE("commit tracker: the owner may destroy it as soon as the last ack settled it",
          "[commit]") {
  for (int i = 0; i < 3000; ++i) {
    auto tracker = std::make_unique<CommitTracker>(0);
    CommitTracker::Message* failing = message_with_output(*tracker, "in", 0);
    CommitTracker::Message* last = message_with_output(*tracker, "in", 1);
    // Every other round the last ack also fails the tracker, which then
    // settles on deliveries() == 0.
    CommitTracker::deliver(i % 2 == 0 ? ok("out") : failed("out"), failing);
    std::thread acker([last] { CommitTracker::deliver(ok("out"), last); });
    const bool settled = tracker->wait(10s);
    tracker.reset();  // at once, as a revoked partition's owner does
    acker.join();
    REQUIRE(settled);
  }
}

TEST_CASE("commit tracker: the last deferred completion may race the owner's destruction",
          "[commit]") {
  for (int i = 0; i < 1000; ++i) {
    auto tracker = std::make_unique<CommitTracker>(0);
    CommitTracker::Message* m = tracker->begin("in", 0);
    goka::CommitCompletion done = tracker->defer(m);
    tracker->seal(m);
    std::thread completer([done = std::move(done)] { done(std::nullopt); });
    const bool settled = tracker->wait(10s);
    tracker.reset();
    completer.join();
    REQUIRE(settled);
  }
}

TEST_CASE("commit tracker: wait_through waits for the messages before a mark only", "[commit]") {
  CommitTracker tracker(0);
  CHECK(tracker.mark() == 0);
  CHECK(tracker.wait_through(0, 0ms));
  CommitTracker::Message* a = message_with_output(tracker, "in", 1);
  uint64_t cut = tracker.mark();
  CHECK(cut == 1);
  CommitTracker::Message* b = message_with_output(tracker, "in", 2);  // after the cut
  CHECK_FALSE(tracker.wait_through(cut, 1ms));
  std::thread acker([a] { CommitTracker::deliver(ok("out"), a); });  // wakes the wait below
  CHECK(tracker.wait_through(cut, 5s));
  acker.join();
  CHECK_FALSE(tracker.wait(0ms));  // b is still waiting
  CHECK(tracker.committable() == Offsets{{"in", 2}});
  CommitTracker::deliver(failed("out"), b);
  CHECK(tracker.wait_through(tracker.mark(), 0ms));  // failed: nothing more to wait for
}
