#pragma once
// Codecs turn values into the bytes stored in Kafka and back, exactly as Go
// Goka's codecs do. decode() throws goka::Error(Errc::decode) for bytes that do
// not decode; it never crashes. Codecs are stateless and thread-safe.

#include <cstdint>
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
};

// A JSON document as text. encode() and decode() both validate and return the
// compact UTF-8 form, so "{ \"a\": 1 }" becomes "{\"a\":1}".
class JsonCodec final : public Codec<std::string> {
 public:
  std::string encode(const std::string& json_text) const override;
  std::string decode(std::string_view bytes) const override;
};

}  // namespace goka
