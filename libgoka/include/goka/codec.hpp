#pragma once
// Codecs turn values into the bytes stored in Kafka and back, exactly as Go
// Goka's codecs do. decode() throws goka::Error(Errc::decode) for bytes that do
// not decode; it never crashes. Codecs are stateless and thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace goka {

template <class T>
class Codec {
 public:
  using value_type = T;
  virtual ~Codec() = default;
  virtual std::string encode(const T& value) const = 0;
  virtual T decode(std::string_view bytes) const = 0;
};

// Raw bytes as text, unchanged.
class StringCodec final : public Codec<std::string> {
 public:
  std::string encode(const std::string& value) const override { return value; }
  std::string decode(std::string_view bytes) const override { return std::string(bytes); }
};

// Raw bytes, unchanged (Goka's codec.Bytes).
class BytesCodec final : public Codec<std::string> {
 public:
  std::string encode(const std::string& value) const override { return value; }
  std::string decode(std::string_view bytes) const override { return std::string(bytes); }
};

// A 64-bit integer as decimal ASCII text, "42" or "-7" (Goka's codec.Int64).
// decode() accepts exactly an optional '-' and digits that fit int64.
class Int64Codec final : public Codec<int64_t> {
 public:
  std::string encode(const int64_t& value) const override;
  int64_t decode(std::string_view bytes) const override;
  // decode() without the exception: std::nullopt for bytes it rejects.
  static std::optional<int64_t> parse(std::string_view bytes) noexcept;
  // Appends the decimal text of value to out (what encode() returns).
  static void append(std::string& out, int64_t value);
};

// A JSON value as UTF-8 text, under the one JSON policy of json_text.hpp:
// encode() and decode() both validate and drop only the whitespace outside
// strings, so "{ \"b\": 1e2, \"a\": \"\\u003c\" }" becomes
// "{\"b\":1e2,\"a\":\"\\u003c\"}": key order, number spellings and escapes
// are kept as written, as Go Goka wrote them.
class JsonCodec final : public Codec<std::string> {
 public:
  std::string encode(const std::string& json_text) const override;
  std::string decode(std::string_view bytes) const override;
};

}  // namespace goka
