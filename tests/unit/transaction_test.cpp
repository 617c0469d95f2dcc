// The transactions of an exactly-once processor (core/transaction.hpp), on a
// fake producer; and how --serve reports them.

#include "core/transaction.hpp"

#include <catch2/catch.hpp>

#include "goka/processor.hpp"
#include "monitor/stats_report.hpp"

namespace {

using goka::core::TopicPartition;

// A transactional producer whose commits succeed, abort or fail fatally, as
// the test says; it counts the calls.
class FakeProducer final : public goka::core::Producer {
 public:
  enum class Commit { ok, aborts, fenced };
  Commit next = Commit::ok;
  int begun = 0, committed = 0, aborted = 0;
  std::vector<TopicPartition> offsets;

  void produce(const std::string&, int32_t, const std::optional<std::string>&,
               const std::optional<std::string>&, const goka::Headers&, int64_t,
               void*) override {}
  bool flush(std::chrono::milliseconds) override { return true; }
  void begin_transaction() override { ++begun; }
  bool commit_transaction(const std::vector<TopicPartition>& sent,
                          goka::core::GroupConsumer&) override {
    offsets = sent;
    switch (next) {
      case Commit::ok:
        ++committed;
        return true;
      case Commit::aborts:
        ++aborted;
        return false;
      case Commit::fenced:
        break;
    }
    throw goka::Error(goka::Errc::kafka, "cannot commit the transaction: fenced");
  }
  void abort_transaction() override { ++aborted; }
  std::optional<goka::Error> fatal_error() const override { return fatal; }
  std::optional<goka::Error> fatal;
};

// Never asked anything: the fake producer does not look at it.
class NoConsumer final : public goka::core::GroupConsumer {
 public:
  void subscribe(const std::vector<std::string>&) override {}
  void poll(std::vector<goka::Record>&, std::chrono::milliseconds) override {}
  void read_headers(bool) override {}
  void pause(const std::vector<TopicPartition>&) override {}
  void resume(const std::vector<TopicPartition>&) override {}
  void commit(const std::vector<TopicPartition>&) override {}
  std::vector<TopicPartition> committed(const std::vector<TopicPartition>& p) override {
    return p;
  }
  std::optional<int64_t> fetched_high_watermark(const std::string&, int32_t) const override {
    return std::nullopt;
  }
  void close() override {}
};

}  // namespace

TEST_CASE("transaction: begins once, commits with the offsets, counts") {
  FakeProducer producer;
  NoConsumer consumer;
  goka::core::Transaction txn(producer, "clicks");
  CHECK(txn.commit({}, consumer));  // none open: nothing to do
  CHECK(producer.committed == 0);
  txn.ensure_open();
  txn.ensure_open();
  CHECK(producer.begun == 1);
  CHECK(txn.open());
  CHECK(txn.commit({{"in", 3, 42}}, consumer));
  CHECK_FALSE(txn.open());
  REQUIRE(producer.offsets.size() == 1);
  CHECK(producer.offsets[0] == TopicPartition{"in", 3, 42});
  goka::core::TransactionStats stats = txn.stats();
  CHECK(stats.committed == 1);
  CHECK(stats.aborted == 0);
  CHECK(stats.last_commit_ms >= 0);
}

TEST_CASE("transaction: an abortable commit counts as aborted, the next one begins anew") {
  FakeProducer producer;
  NoConsumer consumer;
  goka::core::Transaction txn(producer, "clicks");
  txn.ensure_open();
  producer.next = FakeProducer::Commit::aborts;
  CHECK_FALSE(txn.commit({{"in", 0, 1}}, consumer));
  CHECK_FALSE(txn.open());
  CHECK(txn.stats().aborted == 1);
  CHECK(txn.stats().last_commit_ms < 0);  // no commit yet
  txn.ensure_open();
  CHECK(producer.begun == 2);
  txn.abort();
  CHECK(producer.aborted == 2);
  CHECK(txn.stats().aborted == 2);
  txn.abort();  // none open: nothing
  CHECK(producer.aborted == 2);
}

TEST_CASE("transaction: fenced, it names the group and stays failed") {
  FakeProducer producer;
  NoConsumer consumer;
  goka::core::Transaction txn(producer, "clicks");
  txn.ensure_open();
  producer.next = FakeProducer::Commit::fenced;
  try {
    txn.commit({{"in", 0, 1}}, consumer);
    FAIL("no error");
  } catch (const goka::Error& e) {
    CHECK(e.code() == goka::Errc::kafka);
    CHECK_THAT(e.what(), Catch::Contains("group 'clicks'") && Catch::Contains("fenced"));
  }
  CHECK_THROWS_AS(txn.ensure_open(), goka::Error);
  CHECK(producer.begun == 1);
}

TEST_CASE("transaction: a producer fenced while records wait is a fatal error of the group") {
  FakeProducer producer;
  goka::core::Transaction txn(producer, "clicks");
  txn.ensure_open();
  txn.check_producer();  // fine so far
  producer.fatal = goka::Error(goka::Errc::kafka, "fenced, another instance took over");
  CHECK_THROWS_WITH(txn.check_producer(), Catch::Contains("group 'clicks'") &&
                                              Catch::Contains("fenced"));
  CHECK_THROWS_AS(txn.ensure_open(), goka::Error);
}

TEST_CASE("stats report: transactions of an exactly-once processor") {
  goka::ProcessorStats stats;
  stats.group = "clicks";
  nlohmann::json plain = goka::cli::processor_stats_json(stats, "running", std::nullopt);
  CHECK_FALSE(plain.contains("transactions"));
  stats.exactly_once = true;
  stats.transactions_committed = 7;
  stats.transactions_aborted = 1;
  stats.last_commit_ms = 12.5;
  nlohmann::json json = goka::cli::processor_stats_json(stats, "running", std::nullopt);
  CHECK(json["transactions"]["committed"] == 7);
  CHECK(json["transactions"]["aborted"] == 1);
  CHECK(json["transactions"]["last_commit_ms"] == 12.5);
  std::string text = goka::cli::processor_metrics(stats, "running", std::nullopt);
  CHECK_THAT(text, Catch::Contains("goka_processor_transactions_committed_total{group=\"clicks\"} 7\n"));
  CHECK_THAT(text, Catch::Contains("goka_processor_transactions_aborted_total{group=\"clicks\"} 1\n"));
}
