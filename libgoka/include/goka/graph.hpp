#pragma once
// GroupGraph: the specification of a processor group (Goka's GroupGraph): its
// name and its edges, the topics it consumes from and produces into.
//
// Example (Goka's click counter):
//
//   auto count = [](goka::Context& ctx, const std::optional<std::string>&) {
//     int64_t clicks = ctx.value_as<goka::Int64Codec>().value_or(0);
//     ctx.set_value_as<goka::Int64Codec>(clicks + 1);
//   };
//   goka::GroupGraph graph("clicks", {goka::input("user-clicks", count), goka::persist()});
//   graph.validate();  // throws goka::Error(Errc::config) naming the offending edge
//
// Edges:
//   input(topic, cb)      a stream co-partitioned with the group table; cb is
//                         called for every message of it
//   inputs(topics, cb)    several input streams sharing one callback
//   join(table)           a table co-partitioned with the inputs: ctx.join()
//                         reads the value of the message's key
//   lookup(table)         a table of any partitioning (a full view):
//                         ctx.lookup() reads any key
//   loop(cb)              the group's loopback stream <group><loop_suffix>:
//                         ctx.loopback() sends to it, cb consumes it
//   output(topic)         a stream ctx.emit() may produce into
//   persist()             the group table <group><table_suffix>: ctx.value(),
//                         set_value() and delete_value() use it
//
// Values are raw bytes here (std::nullopt = null, a tombstone); callbacks
// apply codecs themselves (goka/codec.hpp, Context::value_as()).
//
// Thread-safety: a GroupGraph is a value; const methods may be called from
// any number of threads. Callbacks are called as the Processor's contract says
// (one message of a partition at a time).

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace goka {

class Context;

// Called for every message of an input (or the loop) topic: ctx gives access
// to the message's metadata, the group table and the outputs; message is the
// message's value (std::nullopt for a null value, see NilHandling). An
// exception thrown by the callback stops the processor (see Context::fail()).
using ProcessCallback =
    std::function<void(Context& ctx, const std::optional<std::string>& message)>;

// What the processor does with a message whose value is null (Goka's
// NilHandling).
enum class NilHandling {
  // The callback is not called; the message still counts as processed (its
  // offset is committed). Goka's default.
  ignore,
  // The callback is called with message == std::nullopt.
  process,
  // The callback is called with an empty value (""), which the callback's
  // codec must decode (Int64Codec fails, StringCodec gives "").
  decode,
};

// The kinds of edges of a group graph.
enum class EdgeType { input, join, lookup, loop, output, persist };

// "input", "join", "lookup", "loop", "output" or "persist".
const char* to_string(EdgeType type) noexcept;

// One edge of a group graph: a link to one or more topics. Make edges with
// the functions below.
struct Edge {
  EdgeType type = EdgeType::input;
  // The topics: one for join, lookup and output, one or more for inputs,
  // none for loop and persist (their topic is derived from the group name).
  std::vector<std::string> topics;
  // The callback of input and loop edges; empty for the others.
  ProcessCallback callback;
};

// Edge constructors (Goka's Input, Inputs, Join, Lookup, Loop, Output,
// Persist). They do not check anything: GroupGraph::validate() does.
Edge input(std::string topic, ProcessCallback callback);
Edge inputs(std::vector<std::string> topics, ProcessCallback callback);
Edge join(std::string table);
Edge lookup(std::string table);
Edge loop(ProcessCallback callback);
Edge output(std::string topic);
Edge persist();

// Options of a group graph, with Goka's defaults. They belong to the graph:
// no global setting changes them.
struct GraphOptions {
  // The group table is <group><table_suffix>.
  std::string table_suffix = "-table";
  // The loopback stream is <group><loop_suffix>.
  std::string loop_suffix = "-loop";
  // What happens to messages with a null value (see NilHandling).
  NilHandling nil_handling = NilHandling::ignore;
};

class GroupGraph {
 public:
  // A group named group with edges. Nothing is checked here: call
  // validate() (Processor and Tester do).
  explicit GroupGraph(std::string group, std::vector<Edge> edges = {}, GraphOptions options = {});

  // Adds an edge; returns *this for chaining.
  GroupGraph& add(Edge edge);

  // Checks Goka's rules and throws goka::Error(Errc::config) for the first
  // violation, naming the group and the offending edge and topic:
  //   - the group name is not empty; suffixes are not empty and differ;
  //   - there is at least one input topic; no topic name is empty; input and
  //     loop edges have a callback;
  //   - at most one loop edge and at most one persist edge;
  //   - the table topic and the loop topic appear in no other edge (not as
  //     input, join, lookup or output), whether or not the graph has a
  //     persist or loop edge;
  //   - no topic is consumed twice: inputs, joins, lookups and the loop topic
  //     are all distinct. (An output may repeat, or be an input.)
  void validate() const;

  const std::string& group() const { return group_; }
  const GraphOptions& options() const { return options_; }
  NilHandling nil_handling() const { return options_.nil_handling; }
  // Every edge, in the order added.
  const std::vector<Edge>& edges() const { return edges_; }

  // ---- accessors for the Processor (meaningful once validate() passed) ----
  // Input topic -> its callback (the loop topic is not included).
  std::map<std::string, ProcessCallback> inputs() const;
  // The input topics in the order declared.
  std::vector<std::string> input_topics() const;
  // Joined, looked-up and output topics in the order declared, without
  // repetitions.
  std::vector<std::string> joins() const;
  std::vector<std::string> lookups() const;
  std::vector<std::string> outputs() const;
  // The callback of the loop edge; nullptr when there is none.
  const ProcessCallback* loop() const;
  // The callback for messages of topic: an input's, or the loop's for the
  // loop topic; nullptr when the graph does not consume topic.
  const ProcessCallback* callback(const std::string& topic) const;

  // <group><table_suffix> when the graph has a persist edge, else nullopt.
  std::optional<std::string> table_topic() const;
  // <group><loop_suffix> when the graph has a loop edge, else nullopt.
  std::optional<std::string> loop_topic() const;
  // The names the table and loop topic have (or would have).
  std::string table_topic_name() const { return group_ + options_.table_suffix; }
  std::string loop_topic_name() const { return group_ + options_.loop_suffix; }

  // Every topic whose partition p a processor instance owning partition p
  // reads: inputs, then the loop topic, joins and the table topic. They must
  // all have the same partition count.
  std::vector<std::string> copartitioned_topics() const;

 private:
  std::string group_;
  std::vector<Edge> edges_;
  GraphOptions options_;
};

}  // namespace goka
