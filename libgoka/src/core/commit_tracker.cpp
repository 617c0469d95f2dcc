#include "core/commit_tracker.hpp"

#include <fmt/format.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <utility>

namespace goka::core {
namespace {

// Per topic: the newest offset begun and what may be committed.
struct TopicState {
  int64_t last_begun = -1;
  std::optional<int64_t> committable;
};

}  // namespace

struct CommitTracker::Message {
  State* state = nullptr;
  const std::string* topic = nullptr;  // key of State::topics (stable)
  TopicState* topic_state = nullptr;
  int64_t offset = -1;
  int32_t deliveries = 0;  // records expected, not reported
  int32_t deferred = 0;    // completions not called
  bool sealed = false;
  bool failed = false;

  bool complete() const { return sealed && !failed && deliveries == 0 && deferred == 0; }
};

struct CommitTracker::State {
  State(int32_t p, DeliveryObserver o) : partition(p), observer(std::move(o)) {}

  const int32_t partition;
  const DeliveryObserver observer;

  mutable std::mutex mutex;
  mutable std::condition_variable changed;  // notified on every change below
  // Guarded by mutex.
  std::deque<Message> messages;  // processing order; complete ones are popped from the front
  std::map<std::string, TopicState, std::less<>> topics;
  std::optional<Error> error;
  std::atomic<bool> failed{false};  // error is set: read without the mutex by error()
  std::size_t deliveries = 0;
  uint64_t begun = 0;     // messages begun
  uint64_t completed = 0; // of which complete (popped from messages)
  bool closed = false;  // the tracker is gone (deferred completions may outlive it)

  ErrorContext context_of(const Message& m, std::string detail = {}) const {
    ErrorContext context{*m.topic, partition, m.offset, std::nullopt};
    if (!detail.empty()) context.detail = std::move(detail);
    return context;
  }

  // REQUIRES: mutex held. Pops the complete messages at the front.
  void advance() {
    while (!messages.empty() && messages.front().complete()) {
      messages.front().topic_state->committable = messages.front().offset + 1;
      messages.pop_front();
      ++completed;
    }
  }

  // REQUIRES: mutex held. Fails m, keeping error if it is the first.
  void fail(Message& m, Error e) {
    m.failed = true;
    if (!error) error = std::move(e);
    failed.store(true, std::memory_order_release);
  }

  // REQUIRES: mutex held.
  bool settled() const {
    if (error) return deliveries == 0;
    return messages.empty();
  }

  // A deferred completion of m was called (or dropped) with outcome. The
  // caller keeps the state alive (a shared_ptr).
  void finish_deferred(Message& m, std::optional<Error> outcome) {
    std::lock_guard lock(mutex);
    if (closed) return;  // m is gone with the tracker
    --m.deferred;
    if (outcome) {
      std::string detail = outcome->context_text();
      fail(m, Error(outcome->code(), fmt::format("deferred commit failed: {}", outcome->message()),
                    context_of(m, std::move(detail))));
    }
    advance();
    changed.notify_all();  // holding the mutex: a waiter cannot miss it
  }
};

namespace {

// The state behind one CommitCompletion: shared by its copies; reports a
// drop when the last copy goes without having been called.
struct Deferred {
  Deferred(std::weak_ptr<CommitTracker::State> s, CommitTracker::Message* m)
      : state(std::move(s)), message(m) {}
  Deferred(const Deferred&) = delete;
  Deferred& operator=(const Deferred&) = delete;
  ~Deferred() {
    try {
      complete(Error(Errc::runtime, "deferred commit dropped without being called"));
    } catch (...) {  // nothing may leave a destructor; complete() does not throw but allocates
    }
  }

  void complete(std::optional<Error> outcome) {
    if (done.exchange(true)) return;
    std::shared_ptr<CommitTracker::State> s = state.lock();
    if (!s) return;  // the tracker is gone
    s->finish_deferred(*message, std::move(outcome));
  }

  std::weak_ptr<CommitTracker::State> state;
  CommitTracker::Message* message;
  std::atomic<bool> done{false};
};

}  // namespace

CommitTracker::CommitTracker(int32_t partition, DeliveryObserver observer)
    : partition_(partition), state_(std::make_shared<State>(partition, std::move(observer))) {}

// Taking the mutex waits for a deliver() or completion still inside it (the
// one that settled the tracker may not have released it yet); none touches
// the state after releasing it.
CommitTracker::~CommitTracker() {
  std::lock_guard lock(state_->mutex);
  state_->closed = true;
}

CommitTracker::Message* CommitTracker::begin(const std::string& topic, int64_t offset) {
  std::lock_guard lock(state_->mutex);
  if (state_->error) throw *state_->error;
  auto it = state_->topics.try_emplace(topic).first;
  if (offset < 0 || offset <= it->second.last_begun) {
    throw Error(Errc::usage,
                fmt::format("message offsets must increase (the last one begun is {})",
                            it->second.last_begun),
                {topic, partition_, offset, std::nullopt});
  }
  it->second.last_begun = offset;
  Message& m = state_->messages.emplace_back();
  ++state_->begun;
  m.state = state_.get();
  m.topic = &it->first;
  m.topic_state = &it->second;
  m.offset = offset;
  return &m;
}

void CommitTracker::expect(Message* message) {
  std::lock_guard lock(state_->mutex);
  ++message->deliveries;
  ++state_->deliveries;
}

CommitCompletion CommitTracker::defer(Message* message) {
  {
    std::lock_guard lock(state_->mutex);
    ++message->deferred;
  }
  auto deferred = std::make_shared<Deferred>(state_, message);
  return [deferred](std::optional<Error> error) { deferred->complete(std::move(error)); };
}

void CommitTracker::seal(Message* message) {
  std::lock_guard lock(state_->mutex);
  message->sealed = true;
  state_->advance();
  state_->changed.notify_all();
}

void CommitTracker::fail(Message* message, Error error) {
  std::lock_guard lock(state_->mutex);
  message->sealed = true;
  state_->fail(*message, std::move(error));
  state_->changed.notify_all();
}

// The record still counts in deliveries() while the observer runs, so the
// owner keeps the tracker. Once the counts drop, the owner may destroy it as
// soon as it gets the mutex: everything after that point happens before
// releasing the mutex, and nothing after it.
void CommitTracker::deliver(const Delivery& delivery, void* tag) noexcept {
  auto* message = static_cast<Message*>(tag);
  State* state = message->state;
  std::optional<Error> observed;
  if (delivery.ok() && state->observer) observed = state->observer(delivery);
  std::lock_guard lock(state->mutex);
  --message->deliveries;
  --state->deliveries;
  try {
    if (!delivery.ok() || observed) {
      const Error& cause = observed ? *observed : *delivery.error;
      std::string detail =
          fmt::format("output topic={}, partition={}", delivery.topic, delivery.partition);
      // The cause's own context, unless it only repeats the output's.
      ErrorContext output{.topic = delivery.topic, .partition = delivery.partition};
      if (cause.context().topic != output.topic || cause.context().partition != output.partition ||
          cause.context().offset || cause.context().detail) {
        if (std::string inner = cause.context_text(); !inner.empty()) detail += ": " + inner;
      }
      std::string text =
          observed ? fmt::format("acknowledged record of {} not applied: {}", delivery.topic,
                                 cause.message())
                   : fmt::format("producing to {} failed: {}", delivery.topic, cause.message());
      state->fail(*message, Error(cause.code(), std::move(text),
                                  state->context_of(*message, std::move(detail))));
    }
  } catch (...) {
    // Only formatting can throw (std::bad_alloc): the message still fails,
    // with a plainer error if it is the first.
    message->failed = true;
    try {
      if (!state->error) state->error.emplace(Errc::runtime, "out of memory reporting a delivery");
      state->failed.store(true, std::memory_order_release);
    } catch (...) {
    }
  }
  state->advance();
  state->changed.notify_all();  // holding the mutex: a waiter cannot miss it
}

std::map<std::string, int64_t> CommitTracker::committable() const {
  std::lock_guard lock(state_->mutex);
  std::map<std::string, int64_t> out;
  for (const auto& [topic, topic_state] : state_->topics) {
    if (topic_state.committable) out.emplace(topic, *topic_state.committable);
  }
  return out;
}

std::optional<Error> CommitTracker::error() const {
  // The common case, no failure, without the mutex (twice per message).
  if (!state_->failed.load(std::memory_order_acquire)) return std::nullopt;
  std::lock_guard lock(state_->mutex);
  return state_->error;
}

std::size_t CommitTracker::in_flight() const {
  std::lock_guard lock(state_->mutex);
  return state_->messages.size();
}

std::size_t CommitTracker::deliveries() const {
  std::lock_guard lock(state_->mutex);
  return state_->deliveries;
}

bool CommitTracker::wait(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(state_->mutex);
  return state_->changed.wait_for(lock, timeout, [this] { return state_->settled(); });
}

uint64_t CommitTracker::mark() const {
  std::lock_guard lock(state_->mutex);
  return state_->begun;
}

bool CommitTracker::wait_through(uint64_t mark, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(state_->mutex);
  return state_->changed.wait_for(
      lock, timeout, [this, mark] { return state_->error || state_->completed >= mark; });
}

}  // namespace goka::core
