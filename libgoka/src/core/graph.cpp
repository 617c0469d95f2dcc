#include "goka/graph.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "goka/error.hpp"

namespace goka {

const char* to_string(EdgeType type) noexcept {
  switch (type) {
    case EdgeType::input:
      return "input";
    case EdgeType::join:
      return "join";
    case EdgeType::lookup:
      return "lookup";
    case EdgeType::loop:
      return "loop";
    case EdgeType::output:
      return "output";
    case EdgeType::persist:
      return "persist";
  }
  return "unknown";
}

Edge input(std::string topic, ProcessCallback callback) {
  return Edge{EdgeType::input, {std::move(topic)}, std::move(callback)};
}

Edge inputs(std::vector<std::string> topics, ProcessCallback callback) {
  return Edge{EdgeType::input, std::move(topics), std::move(callback)};
}

Edge join(std::string table) { return Edge{EdgeType::join, {std::move(table)}, {}}; }

Edge lookup(std::string table) { return Edge{EdgeType::lookup, {std::move(table)}, {}}; }

Edge loop(ProcessCallback callback) { return Edge{EdgeType::loop, {}, std::move(callback)}; }

Edge output(std::string topic) { return Edge{EdgeType::output, {std::move(topic)}, {}}; }

Edge persist() { return Edge{EdgeType::persist, {}, {}}; }

GroupGraph::GroupGraph(std::string group, std::vector<Edge> edges, GraphOptions options)
    : group_(std::move(group)), edges_(std::move(edges)), options_(std::move(options)) {}

GroupGraph& GroupGraph::add(Edge edge) {
  edges_.push_back(std::move(edge));
  return *this;
}

namespace {

std::vector<std::string> topics_of(const std::vector<Edge>& edges, EdgeType type) {
  std::vector<std::string> out;
  for (const Edge& edge : edges) {
    if (edge.type != type) continue;
    for (const std::string& topic : edge.topics) {
      if (std::find(out.begin(), out.end(), topic) == out.end()) out.push_back(topic);
    }
  }
  return out;
}

bool has_edge(const std::vector<Edge>& edges, EdgeType type) {
  return std::any_of(edges.begin(), edges.end(), [type](const Edge& e) { return e.type == type; });
}

}  // namespace

void GroupGraph::validate() const {
  const std::string where = fmt::format("group={}", group_);
  auto fail = [&](const std::string& message, std::optional<std::string> topic = std::nullopt) {
    throw Error(Errc::config, fmt::format("invalid group graph of '{}': {}", group_, message),
                {.topic = std::move(topic), .detail = where});
  };

  if (group_.empty()) fail("the group name is empty");
  if (options_.table_suffix.empty()) fail("the table suffix is empty");
  if (options_.loop_suffix.empty()) fail("the loop suffix is empty");
  if (options_.table_suffix == options_.loop_suffix) {
    fail(fmt::format("the table and loop suffixes are both '{}'", options_.table_suffix));
  }

  const std::string table = table_topic_name();
  const std::string loop_name = loop_topic_name();
  int loops = 0;
  int tables = 0;
  int input_topics = 0;
  // Every consumed topic -> the kind of edge that consumes it.
  std::map<std::string, EdgeType> consumed;

  for (const Edge& edge : edges_) {
    const char* kind = to_string(edge.type);
    switch (edge.type) {
      case EdgeType::loop:
      case EdgeType::persist:
        if (!edge.topics.empty()) {
          fail(fmt::format("a {} edge names no topic (its topic is derived from the group)", kind));
        }
        break;
      case EdgeType::input:
        if (edge.topics.empty()) fail("an input edge without topics");
        break;
      case EdgeType::join:
      case EdgeType::lookup:
      case EdgeType::output:
        if (edge.topics.size() != 1) fail(fmt::format("a {} edge names exactly one topic", kind));
        break;
    }
    if ((edge.type == EdgeType::input || edge.type == EdgeType::loop) && !edge.callback) {
      fail(fmt::format("the {} edge has no callback", kind),
           edge.topics.empty() ? std::optional<std::string>(loop_name) : edge.topics.front());
    }
    if (edge.type == EdgeType::loop) {
      if (++loops > 1) fail("more than one loop edge", loop_name);
      consumed.emplace(loop_name, EdgeType::loop);
    }
    if (edge.type == EdgeType::persist && ++tables > 1) fail("more than one persist edge", table);

    for (const std::string& topic : edge.topics) {
      if (topic.empty()) fail(fmt::format("an empty topic name in the {} edge", kind));
      if (topic == table) {
        fail(fmt::format("the group table '{}' is used as a {} edge", table, kind), topic);
      }
      if (topic == loop_name) {
        fail(fmt::format("the loop topic '{}' is used as a {} edge", loop_name, kind), topic);
      }
      if (edge.type == EdgeType::output) continue;
      if (edge.type == EdgeType::input) ++input_topics;
      auto [it, inserted] = consumed.emplace(topic, edge.type);
      if (!inserted) {
        fail(fmt::format("topic '{}' is consumed twice (as {} and as {} edge)", topic,
                         to_string(it->second), kind),
             topic);
      }
    }
  }
  if (input_topics == 0) fail("the graph has no input edge");
}

std::map<std::string, ProcessCallback> GroupGraph::inputs() const {
  std::map<std::string, ProcessCallback> out;
  for (const Edge& edge : edges_) {
    if (edge.type != EdgeType::input) continue;
    for (const std::string& topic : edge.topics) out.emplace(topic, edge.callback);
  }
  return out;
}

std::vector<std::string> GroupGraph::input_topics() const {
  return topics_of(edges_, EdgeType::input);
}

std::vector<std::string> GroupGraph::joins() const { return topics_of(edges_, EdgeType::join); }

std::vector<std::string> GroupGraph::lookups() const { return topics_of(edges_, EdgeType::lookup); }

std::vector<std::string> GroupGraph::outputs() const { return topics_of(edges_, EdgeType::output); }

const ProcessCallback* GroupGraph::loop() const {
  for (const Edge& edge : edges_) {
    if (edge.type == EdgeType::loop) return &edge.callback;
  }
  return nullptr;
}

const ProcessCallback* GroupGraph::callback(const std::string& topic) const {
  for (const Edge& edge : edges_) {
    if (edge.type != EdgeType::input) continue;
    if (std::find(edge.topics.begin(), edge.topics.end(), topic) != edge.topics.end()) {
      return &edge.callback;
    }
  }
  if (topic == loop_topic_name()) return loop();
  return nullptr;
}

std::optional<std::string> GroupGraph::table_topic() const {
  if (!has_edge(edges_, EdgeType::persist)) return std::nullopt;
  return table_topic_name();
}

std::optional<std::string> GroupGraph::loop_topic() const {
  if (!has_edge(edges_, EdgeType::loop)) return std::nullopt;
  return loop_topic_name();
}

std::vector<std::string> GroupGraph::copartitioned_topics() const {
  std::vector<std::string> out = input_topics();
  if (auto loop_name = loop_topic()) out.push_back(*loop_name);
  for (std::string& topic : joins()) out.push_back(std::move(topic));
  if (auto table = table_topic()) out.push_back(*table);
  return out;
}

}  // namespace goka
