#pragma once
// OrderedRenderer: renders batches (of records, of table rows) into text on a
// few worker threads and hands the texts to a sink in the order the batches
// were submitted. `dump` and `view` decode costly values (protobuf) this way:
// in parallel, while their output stays byte for byte what one thread writes.
//
// Owner and threads:
// - One thread, the owner, constructs it and calls every member function; the
//   sink runs only on the owner's thread, inside submit() and finish().
// - A job owns what it renders (records moved into it; rows it points at must
//   outlive the renderer) and appends to a string of its own. A worker runs a
//   job and marks it done under the mutex; from then on only the owner touches
//   the batch. The owner reads a batch's text only once it is done. While
//   the owner waits for the oldest batch it renders batches not started yet
//   itself, so that a busy machine that does not schedule the workers is
//   never slower than one thread.
// - Memory is bounded: at most max_pending batches are submitted and not yet
//   handed to the sink; submit() first waits for the oldest when there are.
// - With threads == 0 nothing runs elsewhere: submit() renders on the owner's
//   thread and hands the text to the sink at once.
// - The destructor drops the batches not started, waits for those running and
//   joins the workers; the sink is not called again. It is how an error, an
//   interrupt or --count ends the rendering early without a deadlock.
// - An exception thrown by a job (std::bad_alloc; rendering never throws for
//   bad record contents) is rethrown on the owner's thread by the call that
//   would hand that batch to the sink.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace goka::cli {

class OrderedRenderer {
 public:
  // Appends a batch's text to out. Runs on a worker thread or the owner's:
  // it must only read shared state that is thread-safe, and never wait for
  // another job (the owner may be running that one, or not have submitted it).
  using Job = std::function<void(std::string& out)>;
  // Takes a finished batch's text (to write it out); on the owner's thread.
  using Sink = std::function<void(std::string_view text)>;

  // REQUIRES: max_pending >= 1.
  OrderedRenderer(unsigned threads, std::size_t max_pending, Sink sink);
  ~OrderedRenderer();
  OrderedRenderer(const OrderedRenderer&) = delete;
  OrderedRenderer& operator=(const OrderedRenderer&) = delete;

  unsigned threads() const { return static_cast<unsigned>(workers_.size()); }

  // Queues job after the batches before it. While max_pending batches are
  // pending, hands the oldest to the sink first (waiting for it); hands on
  // the finished ones at the front without waiting afterwards.
  void submit(Job job);
  // Waits for every pending batch and hands each to the sink, in order.
  void finish();

 private:
  struct Batch {
    Job job;
    std::string text;
    std::exception_ptr error;
    bool done = false;  // under mutex_; once true, only the owner touches the batch
  };

  void work();
  // Renders batch (taken off queue_) and marks it done.
  void run(Batch& batch);
  // Drops the batches not started and joins the workers (idempotent).
  void stop();
  // Hands the oldest batch to the sink, waiting for it when wait; returns
  // false when there is none (or, without wait, it is not done).
  bool deliver_oldest(bool wait);

  Sink sink_;
  std::size_t max_pending_;
  std::deque<std::unique_ptr<Batch>> pending_;  // the owner's, in submission order
  std::string scratch_;                         // threads == 0: the text of a batch

  std::mutex mutex_;
  std::condition_variable work_ready_;  // a batch queued, or stopping
  std::condition_variable batch_done_;  // a batch done (the owner waits)
  std::deque<Batch*> queue_;            // under mutex_: not started, oldest first
  bool stopping_ = false;               // under mutex_
  std::vector<std::thread> workers_;
};

// Threads to decode with: GOKA_DECODE_THREADS when set (0 to 16; 0: decode on
// the reading thread), else the hardware's threads when it has at least 2
// (at most 8), else 0. Throws goka::Error(Errc::usage) for an invalid value.
unsigned decode_threads();

}  // namespace goka::cli
