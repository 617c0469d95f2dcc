#pragma once
// A file descriptor owned: closed when its owner ends. Movable, not
// copyable; not thread-safe (one owner at a time).

#include <unistd.h>

#include <utility>

namespace goka::cli {

class UniqueFd {
 public:
  UniqueFd() = default;
  // Takes fd over (-1: none).
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  // The descriptor, still owned here; -1 for none.
  int get() const { return fd_; }
  // Gives the descriptor up (to a FILE*, say): no longer closed here.
  int release() { return std::exchange(fd_, -1); }
  // Closes the descriptor, if any.
  void reset() {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  }

 private:
  int fd_ = -1;
};

}  // namespace goka::cli
