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
  State(int32_t p, DeliveryObserver o, Notify n)
      : partition(p), observer(std::move(o)), notify(std::move(n)) {}

  const int32_t partition;
  const DeliveryObserver observer;
  const Notify notify;

  mutable std::mutex mutex;
  mutable std::condition_variable changed;  // notified on every change below
  // Guarded by mutex.
  std::deque<Message> messages;  // processing order; complete ones are popped from the front
  std::map<std::string, TopicState, std::less<>> topics;
  std::optional<Error> error;
  std::size_t deliveries = 0;
  bool closed = false;  // the tracker is gone; written holding both mutexes

  // Serialises notify calls with the tracker's destruction. Recursive: a
  // notify that (wrongly) causes another one must not deadlock.
  std::recursive_mutex notify_mutex;

  ErrorContext context_of(const Message& m, std::string detail = {}) const {
    ErrorContext context{*m.topic, partition, m.offset, std::nullopt};
    if (!detail.empty()) context.detail = std::move(detail);
    return context;
  }

  // REQUIRES: mutex held. Pops the complete messages at the front; returns
  // whether committable() advanced.
  bool advance() {
    bool advanced = false;
    while (!messages.empty() && messages.front().complete()) {
      messages.front().topic_state->committable = messages.front().offset + 1;
      messages.pop_front();
      advanced = true;
    }
    if (advanced) changed.notify_all();
    return advanced;
  }

  // REQUIRES: mutex held. Fails m, keeping error if it is the first.
  // Returns whether error is the tracker's error now.
  bool fail(Message& m, Error e) {
    m.failed = true;
    changed.notify_all();
    if (error) return false;
    error = std::move(e);
    return true;
  }

  // REQUIRES: mutex held.
  bool settled() const {
    if (error) return deliveries == 0;
    return messages.empty();
  }

  // REQUIRES: no mutex held.
  void notify_now() {
    if (!notify) return;
    std::lock_guard notify_lock(notify_mutex);
    {
      std::lock_guard lock(mutex);
      if (closed) return;
    }
    notify();
  }

  // A deferred completion of m was called (or dropped) with outcome.
  void finish_deferred(Message& m, std::optional<Error> outcome) {
    bool changed_state = false;
    {
      std::lock_guard lock(mutex);
      if (closed) return;
      --m.deferred;
      if (outcome) {
        std::string detail = outcome->context_text();
        changed_state = fail(
            m, Error(outcome->code(), fmt::format("deferred commit failed: {}", outcome->message()),
                     context_of(m, std::move(detail))));
      }
      changed_state = advance() || changed_state;
      changed.notify_all();
    }
    if (changed_state) notify_now();
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

CommitTracker::CommitTracker(int32_t partition, DeliveryObserver observer, Notify notify)
    : partition_(partition),
      state_(std::make_shared<State>(partition, std::move(observer), std::move(notify))) {}

CommitTracker::~CommitTracker() {
  std::lock_guard notify_lock(state_->notify_mutex);
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
  bool advanced = false;
  {
    std::lock_guard lock(state_->mutex);
    message->sealed = true;
    advanced = state_->advance();
    state_->changed.notify_all();
  }
  if (advanced) state_->notify_now();
}

void CommitTracker::fail(Message* message, Error error) {
  bool first = false;
  {
    std::lock_guard lock(state_->mutex);
    message->sealed = true;
    first = state_->fail(*message, std::move(error));
  }
  if (first) state_->notify_now();
}

void CommitTracker::deliver(const Delivery& delivery, void* tag) noexcept {
  auto* message = static_cast<Message*>(tag);
  State* state = message->state;
  std::optional<Error> observed;
  if (delivery.ok() && state->observer) observed = state->observer(delivery);
  bool changed = false;
  try {
    std::lock_guard lock(state->mutex);
    --message->deliveries;
    --state->deliveries;
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
      changed = state->fail(*message, Error(cause.code(), std::move(text),
                                            state->context_of(*message, std::move(detail))));
    }
    changed = state->advance() || changed;
    state->changed.notify_all();
  } catch (...) {
    // Only formatting can throw (std::bad_alloc); the counts are updated
    // before, so the worst case is an error without its text.
  }
  if (changed) state->notify_now();
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

}  // namespace goka::core
