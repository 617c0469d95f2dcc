#include "cli/ordered_renderer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <string_view>

#include "goka/error.hpp"

namespace goka::cli {

OrderedRenderer::OrderedRenderer(unsigned threads, std::size_t max_pending, Sink sink)
    : sink_(std::move(sink)), max_pending_(std::max<std::size_t>(1, max_pending)) {
  workers_.reserve(threads);
  try {
    for (unsigned i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
  } catch (...) {
    stop();  // joins the workers started
    throw;
  }
}

OrderedRenderer::~OrderedRenderer() { stop(); }

void OrderedRenderer::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    queue_.clear();  // not started: dropped with pending_
  }
  work_ready_.notify_all();
  for (std::thread& worker : workers_) worker.join();
  workers_.clear();
}

void OrderedRenderer::work() {
  while (true) {
    Batch* batch = nullptr;
    {
      std::unique_lock lock(mutex_);
      work_ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      batch = queue_.front();
      queue_.pop_front();
    }
    run(*batch);
  }
}

void OrderedRenderer::run(Batch& batch) {
  try {
    batch.job(batch.text);
  } catch (...) {
    batch.error = std::current_exception();
  }
  batch.job = nullptr;  // frees what it rendered, on the thread that rendered it
  {
    std::lock_guard lock(mutex_);
    batch.done = true;
  }
  batch_done_.notify_one();  // only the owner waits
}

void OrderedRenderer::submit(Job job) {
  if (workers_.empty()) {
    scratch_.clear();
    job(scratch_);
    sink_(scratch_);
    return;
  }
  while (pending_.size() >= max_pending_) deliver_oldest(true);
  auto batch = std::make_unique<Batch>();
  batch->job = std::move(job);
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(batch.get());
    pending_.push_back(std::move(batch));
  }
  work_ready_.notify_one();
  while (deliver_oldest(false)) {
  }
}

void OrderedRenderer::finish() {
  while (deliver_oldest(true)) {
  }
}

bool OrderedRenderer::deliver_oldest(bool wait) {
  if (pending_.empty()) return false;
  Batch& oldest = *pending_.front();
  {
    std::unique_lock lock(mutex_);
    while (wait && !oldest.done) {
      // Rather than wait for workers that may not even be scheduled on a
      // busy machine, the owner renders the next batch not started itself.
      if (!queue_.empty()) {
        Batch* batch = queue_.front();
        queue_.pop_front();
        lock.unlock();
        run(*batch);
        lock.lock();
        continue;
      }
      batch_done_.wait(lock);
    }
    if (!oldest.done) return false;
  }
  std::unique_ptr<Batch> batch = std::move(pending_.front());
  pending_.pop_front();
  if (batch->error) std::rethrow_exception(batch->error);
  sink_(batch->text);
  return true;
}

unsigned decode_threads() {
  constexpr unsigned kMaxAuto = 8;
  constexpr unsigned kMaxGiven = 16;
  if (const char* text = std::getenv("GOKA_DECODE_THREADS"); text != nullptr && *text != '\0') {
    const std::string_view given(text);
    unsigned threads = 0;
    auto [end, ec] = std::from_chars(given.data(), given.data() + given.size(), threads);
    if (ec != std::errc() || end != given.data() + given.size() || threads > kMaxGiven)
      throw Error(Errc::usage, fmt::format("invalid GOKA_DECODE_THREADS \"{}\": use 0 to {}",
                                           given, kMaxGiven));
    return threads;
  }
  const unsigned hardware = std::thread::hardware_concurrency();
  return hardware < 2 ? 0 : std::min(hardware, kMaxAuto);
}

}  // namespace goka::cli
