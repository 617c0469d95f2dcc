#pragma once
// kcat's `-o` grammar for where `dump` starts reading each partition:
//
//   beginning   the oldest record still in the partition
//   end         only records that arrive from now on
//   N           absolute offset N (N >= 0)
//   -N          the newest N records of each partition
//   s@MS        the first record with a timestamp >= MS (ms since the epoch)
//
// kcat's `stored` (a consumer group's committed offset) and `e@MS` (a stop
// time) are recognised and rejected with a message saying they are not
// supported.

#include <string_view>

#include "goka/topic_reader.hpp"

namespace goka::cli {

// Parses text. Throws goka::Error(Errc::usage) quoting text and listing the
// accepted forms when it is none of them.
StartOffset parse_offset_spec(std::string_view text);

}  // namespace goka::cli
