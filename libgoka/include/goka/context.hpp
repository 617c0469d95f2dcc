#pragma once
// Context: what a processor callback (goka/graph.hpp, ProcessCallback) can see
// and do while it processes one message (Goka's Context): the message's
// metadata, the group table's row of the message's key, joined and lookup
// tables, and the outputs.
//
// Values are raw bytes (std::nullopt = null / no value). The *_as helpers at
// the end apply a codec (goka/codec.hpp):
//
//   void count(goka::Context& ctx, const std::optional<std::string>& message) {
//     int64_t clicks = ctx.value_as<goka::Int64Codec>().value_or(0);
//     ctx.set_value_as<goka::Int64Codec>(clicks + 1);
//     ctx.emit("clicks-seen", ctx.key(), message);
//   }
//
// When things happen: a message's outputs are its group table write(s),
// emits, loopbacks and deferred completions. Each output is produced to
// Kafka asynchronously; the message's input offset is committed only once
// every output of it and of every earlier message of the partition is
// acknowledged (at-least-once: after a crash the message is processed again).
//
// Failures: an exception escaping the callback, fail(), an emit to a topic
// the graph does not declare as output, a codec error or a failed produce
// stops the processor with a goka::Error naming the message's topic,
// partition and offset; nothing at or after that message is committed.
//
// Thread-safety and lifetime: a Context is valid only during the callback it
// was given to, and only in the callback's thread: do not keep a reference
// to it. The completion returned by defer_commit() is the exception: it may
// be kept and called later, from any thread.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "goka/error.hpp"
#include "goka/record.hpp"

namespace goka {

// Completes one message whose commit was deferred (Context::defer_commit()).
// Call it exactly once, from any thread, with std::nullopt when the work
// succeeded or with an Error when it failed (which stops the processor as a
// failure of that message would). Later calls are ignored. Dropping every
// copy without calling it counts as a failure ("deferred commit dropped").
using CommitCompletion = std::function<void(std::optional<Error> error)>;

class Context {
 public:
  virtual ~Context() = default;

  // ---- the message ----
  // The topic the message was read from: an input topic or the loop topic.
  virtual const std::string& topic() const = 0;
  // The message's key; a null key is given as "".
  virtual const std::string& key() const = 0;
  virtual int32_t partition() const = 0;
  virtual int64_t offset() const = 0;
  // Milliseconds since the epoch, as the broker reports it.
  virtual int64_t timestamp() const = 0;
  virtual const Headers& headers() const = 0;
  // The name of the processor group.
  virtual const std::string& group() const = 0;

  // ---- the group table (REQUIRES: the graph has a persist edge; without
  // one these calls fail the message with Errc::usage) ----
  // The current value of key() in the group table, std::nullopt when it has
  // none. Includes the writes of earlier messages and of this callback
  // (read-your-writes), even before Kafka acknowledged them.
  virtual std::optional<std::string> value() const = 0;
  // Sets the value of key() in the group table: writes the local storage at
  // once (later reads and later messages see it), then produces (key,
  // value) to the table topic <group>-table, partition partition(). When
  // Kafka acknowledges that record, the storage's offset advances to the
  // record's offset; the message is not committed before that.
  virtual void set_value(std::string_view value) = 0;
  // Deletes key() from the group table: erases it from the local storage at
  // once, then produces a tombstone (null value) to the table topic, as
  // set_value() does. Deleting a key without value still produces the
  // tombstone.
  virtual void delete_value() = 0;

  // ---- other tables (read-only) ----
  // The value of key() in table, a table joined by a join edge (co-
  // partitioned: the local copy of partition partition()); std::nullopt when
  // it has none. A table not declared as join fails the message with
  // Errc::usage.
  virtual std::optional<std::string> join(const std::string& table) const = 0;
  // The value of any key in table, a table declared by a lookup edge (a
  // full local copy of every partition); std::nullopt when none. A table not
  // declared as lookup fails the message with Errc::usage.
  virtual std::optional<std::string> lookup(const std::string& table,
                                            std::string_view key) const = 0;

  // ---- outputs ----
  // Produces (key, value, headers) to topic, into the partition Goka assigns
  // to key (goka/hasher.hpp) among topic's partitions. Asynchronous: the
  // message is committed once it is acknowledged. A topic not declared by
  // an output edge fails the message with Errc::usage naming the topic.
  // A null value emits a tombstone.
  virtual void emit(const std::string& topic, std::string_view key,
                    std::optional<std::string_view> value, const Headers& headers = {}) = 0;
  // Produces (key, value) to the group's loop topic <group>-loop, into the
  // partition of key; the loop edge's callback processes it later, in the
  // processor that owns that partition. Committed as emit(). Without a loop
  // edge it fails the message with Errc::usage.
  virtual void loopback(std::string_view key, std::optional<std::string_view> value) = 0;

  // ---- control ----
  // Stops the processor: throws an internal exception (do not catch it)
  // that ends this callback; the processor stops with Errc::runtime naming
  // the message and reason. Outputs already made are still produced, but
  // neither this message nor any later one is committed. Even if the
  // exception is caught, the message counts as failed.
  [[noreturn]] virtual void fail(const std::string& reason) = 0;
  // Makes this message's commit wait for the returned completion (see
  // CommitCompletion), e.g. for work the callback hands to another thread.
  // May be called several times; each completion must be called.
  virtual CommitCompletion defer_commit() = 0;

  // ---- typed helpers: the calls above, with a codec ----
  // value() decoded; a codec error fails the message with Errc::decode.
  template <class C>
  std::optional<typename C::value_type> value_as(const C& codec = C{}) const {
    return decode_optional(value(), codec);
  }
  // set_value(codec.encode(value)).
  template <class C>
  void set_value_as(const typename C::value_type& value, const C& codec = C{}) {
    set_value(codec.encode(value));
  }
  // join(table) decoded.
  template <class C>
  std::optional<typename C::value_type> join_as(const std::string& table,
                                                const C& codec = C{}) const {
    return decode_optional(join(table), codec);
  }
  // lookup(table, key) decoded.
  template <class C>
  std::optional<typename C::value_type> lookup_as(const std::string& table, std::string_view key,
                                                  const C& codec = C{}) const {
    return decode_optional(lookup(table, key), codec);
  }
  // emit(topic, key, codec.encode(value), headers).
  template <class C>
  void emit_as(const std::string& topic, std::string_view key, const typename C::value_type& value,
               const C& codec = C{}, const Headers& headers = {}) {
    emit(topic, key, std::string_view(codec.encode(value)), headers);
  }
  // loopback(key, codec.encode(value)).
  template <class C>
  void loopback_as(std::string_view key, const typename C::value_type& value,
                   const C& codec = C{}) {
    loopback(key, std::string_view(codec.encode(value)));
  }

  // bytes decoded with codec; std::nullopt stays std::nullopt. Throws the
  // codec's goka::Error (Errc::decode).
  template <class C>
  static std::optional<typename C::value_type> decode_optional(
      const std::optional<std::string>& bytes, const C& codec = C{}) {
    if (!bytes) return std::nullopt;
    return codec.decode(*bytes);
  }
};

}  // namespace goka
