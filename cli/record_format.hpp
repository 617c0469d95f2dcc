#pragma once
// `dump --format FMT`: kcat's `-f` output format. FMT is compiled once into a
// token list; append() renders one record with no allocation of its own.
//
//   %k key        %s value       (raw bytes, nothing for null)
//   %K key size   %S value size  (bytes; -1 for a null key / tombstone)
//   %t topic      %p partition   %o offset    %T timestamp (ms)
//   %h headers as name=value,name=value (nothing when there are none)
//   %% a '%'      \n \t \r \\    newline, tab, carriage return, backslash
//
// No newline is added: end FMT with \n for one record per line. Any other
// backslash sequence is printed as it is.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "goka/record.hpp"

namespace goka::cli {

class RecordFormat {
 public:
  // Throws goka::Error(Errc::usage) for an unknown %-token or a lone '%' at
  // the end, naming the token.
  explicit RecordFormat(std::string_view format);

  // Appends record as FMT says to out. Thread-safe (const).
  void append(std::string& out, const Record& record) const;

 private:
  enum class Field : uint8_t {
    literal,
    key,
    value,
    key_size,
    value_size,
    topic,
    partition,
    offset,
    timestamp,
    headers,
  };
  struct Token {
    Field field;
    std::size_t begin = 0;  // literal: its place in literals_
    std::size_t length = 0;
  };

  void add_literal(std::string_view text);

  std::string literals_;
  std::vector<Token> tokens_;
};

}  // namespace goka::cli
