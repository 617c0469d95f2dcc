// ProtoJsonPrinter against libprotobuf's JSON mapping: for every message type
// of the test schemas (tests/data/proto) and of a schema of every field kind
// (proto2 and proto3), many random values with edge cases decode to the same
// text byte for byte through ProtoCodec (its fast path) as through
// util::BinaryToJsonString, with every option combination; and the fast path
// does print the usual messages (it is not always declining).

#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/stubs/strutil.h>
#include <google/protobuf/util/json_util.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "goka/proto_codec.hpp"
#include "proto/proto_json_printer.hpp"
#include "proto/proto_schema_impl.hpp"
#include "tests/temp_dir.hpp"

namespace {

namespace pb = google::protobuf;
using goka::ProtoCodec;
using goka::ProtoSchema;

const std::string proto_dir = GOKA_TEST_PROTO_DIR;

constexpr const char* kinds3 = R"(syntax = "proto3";
package kinds;
import "google/protobuf/timestamp.proto";
enum Color { COLOR_NONE = 0; RED = 1; GREEN = 2; BLUE = -3; }
enum Alias { option allow_alias = true; A_ZERO = 0; A_ONE = 1; A_UNO = 1; }
message Leaf { string s = 1; int32 i = 2; Color c = 3; }
message All {
  int32 f_int32 = 1; int64 f_int64 = 2; uint32 f_uint32 = 3; uint64 f_uint64 = 4;
  sint32 f_sint32 = 5; sint64 f_sint64 = 6; fixed32 f_fixed32 = 7; fixed64 f_fixed64 = 8;
  sfixed32 f_sfixed32 = 9; sfixed64 f_sfixed64 = 10; float f_float = 11; double f_double = 12;
  bool f_bool = 13; string f_string = 14; bytes f_bytes = 15; Color f_color = 16; Leaf f_leaf = 17;
  repeated int32 r_int32 = 21; repeated int64 r_int64 = 22; repeated uint64 r_uint64 = 24;
  repeated sint32 r_sint32 = 25; repeated fixed64 r_fixed64 = 28; repeated float r_float = 31;
  repeated double r_double = 32; repeated bool r_bool = 33; repeated string r_string = 34;
  repeated bytes r_bytes = 35; repeated Color r_color = 36; repeated Leaf r_leaf = 37;
  map<string, int32> m_string = 41; map<int32, string> m_int32 = 42; map<int64, Leaf> m_int64 = 43;
  map<uint32, double> m_uint32 = 44; map<uint64, bytes> m_uint64 = 45; map<bool, Color> m_bool = 46;
  map<sint64, float> m_sint64 = 47; map<fixed32, bool> m_fixed32 = 48; map<string, Leaf> m_leaf = 49;
  oneof choice { string o_string = 51; Leaf o_leaf = 52; int64 o_int64 = 53; }
  optional int32 p_int32 = 61; optional string p_string = 62; optional Color p_color = 63;
  int32 custom = 64 [json_name = "my-Custom<name>"]; Alias alias = 65;
  int32 first_declared_last_number = 99; int32 late = 70;
  google.protobuf.Timestamp when = 80; All self = 81;
}
)";

constexpr const char* kinds2 = R"(syntax = "proto2";
package kinds2;
enum Kind { K_ONE = 1; K_TWO = 2; }
message Old {
  optional int32 a = 1 [default = 7]; optional string b = 2 [default = "x"];
  optional Kind k = 3 [default = K_TWO]; optional double d = 4 [default = 1.5];
  optional bytes raw = 5; optional uint64 big = 6; repeated Kind ks = 7;
  optional Old child = 8; map<string, Old> kids = 9; optional float f = 10;
  required bool flag = 11;
}
)";

// Random field values, edge cases first among them.
class Filler {
 public:
  explicit Filler(unsigned seed) : random_(seed) {}

  void fill(pb::Message& message, int depth) {
    const auto* type = message.GetDescriptor();
    if (type->file()->package() == "google.protobuf") return fill_well_known(message);
    for (int i = 0; i < type->field_count(); ++i) {
      const auto* field = type->field(i);
      if (!field->is_required() && !chance(depth == 0 ? 2 : 3)) continue;
      if (field->message_type() != nullptr && !field->is_required() &&
          (depth > 3 || (field->message_type()->file()->package() == "google.protobuf" && chance(4))))
        continue;
      if (field->is_map()) {
        for (int n = pick(5); n > 0; --n) {
          auto* entry = message.GetReflection()->AddMessage(&message, field);
          set(*entry, field->message_type()->map_key(), depth);
          const auto* value = field->message_type()->map_value();
          if (value->message_type() != nullptr || chance(6)) set(*entry, value, depth);
        }
      } else if (field->is_repeated()) {
        for (int n = pick(4); n > 0; --n) add(message, field, depth);
      } else {
        set(message, field, depth);
      }
    }
  }

 private:
  bool chance(int in) { return std::uniform_int_distribution<int>(0, in - 1)(random_) != 0; }
  int pick(int below) { return std::uniform_int_distribution<int>(0, below - 1)(random_); }
  template <class T>
  T from(const std::vector<T>& edges) {
    return edges[static_cast<size_t>(pick(static_cast<int>(edges.size())))];
  }
  template <class T>
  T integer() {
    using L = std::numeric_limits<T>;
    if (chance(2)) return from<T>({T(0), T(1), T(-1), L::min(), L::max(), T(L::max() / 2 + 1), T(42)});
    return std::uniform_int_distribution<T>(L::min(), L::max())(random_);
  }
  double real() {
    const double inf = std::numeric_limits<double>::infinity();
    if (chance(4))
      return from<double>({0.0, -0.0, 0.1, 1e21, 1e20, 1e-7, 123456789.123, 1.5, -2.25, 3.0,
                           std::nan(""), inf, -inf, 5e-324, 1.7976931348623157e308,
                           2.2250738585072014e-308, 0.30000000000000004, 1e15, 1e16, 1e17});
    return std::uniform_real_distribution<double>(-1e6, 1e6)(random_) *
           std::pow(10.0, pick(40) - 20);
  }
  void append_utf8(unsigned code, std::string& out) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xc0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3f));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xe0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (code & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (code & 0x3f));
    }
  }
  std::string text() {
    if (chance(4) && !chance(3)) return from<std::string>({"", "a", "order-1", "q\"b\\s/", "<a&b>"});
    std::string out;
    bool any = !chance(8);  // beyond U+07FF: the mapping's part
    for (int n = pick(12); n > 0; --n) {
      unsigned code = 0;
      switch (pick(any ? 6 : 4)) {
        case 0: code = static_cast<unsigned>(pick(0x20)); break;
        case 1: case 2: code = 0x20 + static_cast<unsigned>(pick(0x60)); break;
        case 3: code = 0x7f + static_cast<unsigned>(pick(0x781)); break;
        case 4: code = 0x800 + static_cast<unsigned>(pick(0xd000)); break;
        default: code = from<unsigned>({0x2028, 0x200b, 0xfeff, 0xad, 0x600, 0xe000, 0x1f600, 0x10ffff});
      }
      append_utf8(code, out);
    }
    return out;
  }
  std::string bytes() {
    std::string out;
    for (int n = pick(9); n > 0; --n) out += static_cast<char>(pick(256));
    return out;
  }
  int enum_number(const pb::FieldDescriptor* field) {
    const auto* type = field->enum_type();
    bool open = type->file()->syntax() == pb::FileDescriptor::SYNTAX_PROTO3;
    if (open && !chance(4)) return from<int>({7, -1, 1000, std::numeric_limits<int>::max()});
    return type->value(pick(type->value_count()))->number();
  }
  void fill_well_known(pb::Message& message) {
    const auto* type = message.GetDescriptor();
    const auto* r = message.GetReflection();
    if (type->full_name() == "google.protobuf.Timestamp") {
      r->SetInt64(&message, type->FindFieldByName("seconds"), pick(2000000000));
      r->SetInt32(&message, type->FindFieldByName("nanos"), pick(1000) * 1000000);
    }
  }

  void set(pb::Message& message, const pb::FieldDescriptor* field, int depth) {
    const auto* r = message.GetReflection();
    using F = pb::FieldDescriptor;
    switch (field->cpp_type()) {
      case F::CPPTYPE_INT32: r->SetInt32(&message, field, integer<int32_t>()); break;
      case F::CPPTYPE_INT64: r->SetInt64(&message, field, integer<int64_t>()); break;
      case F::CPPTYPE_UINT32: r->SetUInt32(&message, field, integer<uint32_t>()); break;
      case F::CPPTYPE_UINT64: r->SetUInt64(&message, field, integer<uint64_t>()); break;
      case F::CPPTYPE_DOUBLE: r->SetDouble(&message, field, real()); break;
      case F::CPPTYPE_FLOAT: r->SetFloat(&message, field, static_cast<float>(real())); break;
      case F::CPPTYPE_BOOL: r->SetBool(&message, field, chance(2)); break;
      case F::CPPTYPE_ENUM: r->SetEnumValue(&message, field, enum_number(field)); break;
      case F::CPPTYPE_STRING:
        r->SetString(&message, field, field->type() == F::TYPE_BYTES ? bytes() : text());
        break;
      case F::CPPTYPE_MESSAGE: fill(*r->MutableMessage(&message, field), depth + 1); break;
    }
  }
  void add(pb::Message& message, const pb::FieldDescriptor* field, int depth) {
    const auto* r = message.GetReflection();
    using F = pb::FieldDescriptor;
    switch (field->cpp_type()) {
      case F::CPPTYPE_INT32: r->AddInt32(&message, field, integer<int32_t>()); break;
      case F::CPPTYPE_INT64: r->AddInt64(&message, field, integer<int64_t>()); break;
      case F::CPPTYPE_UINT32: r->AddUInt32(&message, field, integer<uint32_t>()); break;
      case F::CPPTYPE_UINT64: r->AddUInt64(&message, field, integer<uint64_t>()); break;
      case F::CPPTYPE_DOUBLE: r->AddDouble(&message, field, real()); break;
      case F::CPPTYPE_FLOAT: r->AddFloat(&message, field, static_cast<float>(real())); break;
      case F::CPPTYPE_BOOL: r->AddBool(&message, field, chance(2)); break;
      case F::CPPTYPE_ENUM: r->AddEnumValue(&message, field, enum_number(field)); break;
      case F::CPPTYPE_STRING:
        r->AddString(&message, field, field->type() == F::TYPE_BYTES ? bytes() : text());
        break;
      case F::CPPTYPE_MESSAGE: fill(*r->AddMessage(&message, field), depth + 1); break;
    }
  }

  std::mt19937 random_;
};

// libprotobuf's JSON mapping of bytes, as ProtoCodec used it before the printer.
std::string mapping(const ProtoSchema& schema, const std::string& name, const std::string& bytes,
                    goka::ProtoJsonOptions options) {
  pb::util::JsonPrintOptions print;
  print.preserve_proto_field_names = options.original_names;
  print.always_print_primitive_fields = options.print_defaults;
  std::string json;
  std::string url(goka::proto_type_url_prefix);
  url.append("/").append(name);
  auto status =
      pb::util::BinaryToJsonString(schema.impl().resolver.get(), url, bytes, &json, print);
  REQUIRE(status.ok());
  return json;
}

// Random messages per type in the test of every field kind. The sanitizers
// make each about five times slower: there fewer take the same paths (3,000
// took a minute, most of the sanitizer tier).
#if defined(__SANITIZE_ADDRESS__)
constexpr int kKindsMessages = 600;
#else
constexpr int kKindsMessages = 3000;
#endif

struct Tally {
  int messages = 0;
  int printed = 0;  // by the fast printer, without options.print_defaults
};

// Random values of message type name: codec decode == mapping for each option
// combination. Returns how many the printer printed itself.
Tally check_type(const std::shared_ptr<const ProtoSchema>& schema, const std::string& name,
                 int count, unsigned seed) {
  const auto* type = schema->impl().find(name);
  REQUIRE(type != nullptr);
  const auto* prototype = schema->impl().factory->GetPrototype(type);
  std::vector<goka::ProtoJsonOptions> combos = {{false, false}, {true, false}, {false, true}, {true, true}};
  std::vector<ProtoCodec> codecs;
  for (auto options : combos) codecs.emplace_back(schema, name, options);
  Filler filler(seed);
  Tally tally;
  for (int i = 0; i < count; ++i) {
    std::unique_ptr<pb::Message> message(prototype->New());
    if (i > 0) filler.fill(*message, 0);
    std::string bytes = message->SerializePartialAsString();
    if (!message->IsInitialized()) continue;
    ++tally.messages;
    for (size_t c = 0; c < combos.size(); ++c) {
      INFO(name << " value " << i << " options " << c << ": " << message->ShortDebugString());
      REQUIRE(codecs[c].decode(bytes) == mapping(*schema, name, bytes, combos[c]));
    }
    std::string direct;
    if (goka::ProtoJsonPrinter(type, false).print(*message, direct)) {
      ++tally.printed;
      INFO(name << " value " << i << ": " << message->ShortDebugString());
      REQUIRE(direct == mapping(*schema, name, bytes, {}));
    }
  }
  return tally;
}

}  // namespace

TEST_CASE("proto json: the test schemas print as libprotobuf's JSON mapping does",
          "[proto]") {
  auto schema = ProtoSchema::from_proto_files(
      {proto_dir + "/shop/order.proto", proto_dir + "/legacy.proto"}, {proto_dir});
  unsigned seed = 1;
  for (const auto& name : schema->message_names()) {
    auto tally = check_type(schema, name, 400, seed++);
    INFO(name);
    CHECK(tally.printed > 0);
  }
}

TEST_CASE("proto json: every field kind of proto2 and proto3 prints as the mapping does",
          "[proto]") {
  goka::test::TempDir dir;
  std::ofstream(dir.path() / "kinds3.proto") << kinds3;
  std::ofstream(dir.path() / "kinds2.proto") << kinds2;
  auto schema = ProtoSchema::from_proto_files(
      {(dir.path() / "kinds3.proto").string(), (dir.path() / "kinds2.proto").string()},
      {dir.path().string()});
  for (const auto& name : {"kinds.All", "kinds.Leaf", "kinds2.Old"}) {
    auto tally = check_type(schema, name, kKindsMessages, 7);
    INFO(name);
    CHECK(tally.printed > tally.messages / 20);  // the fast path is taken
  }
}

TEST_CASE("proto json: every code point up to U+FFFF is escaped as the mapping does",
          "[proto]") {
  goka::test::TempDir dir;
  std::ofstream(dir.path() / "kinds3.proto") << kinds3;
  auto schema = ProtoSchema::from_proto_files({(dir.path() / "kinds3.proto").string()},
                                              {dir.path().string()});
  ProtoCodec codec(schema, "kinds.Leaf");
  const auto* type = schema->impl().find("kinds.Leaf");
  std::unique_ptr<pb::Message> leaf(schema->impl().factory->GetPrototype(type)->New());
  int printed = 0;
  for (unsigned code = 1; code < 0x10000; ++code) {
    if (code >= 0xd800 && code < 0xe000) continue;
    std::string text;
    if (code < 0x80) {
      text += static_cast<char>(code);
    } else if (code < 0x800) {
      text += static_cast<char>(0xc0 | (code >> 6));
      text += static_cast<char>(0x80 | (code & 0x3f));
    } else {
      text += static_cast<char>(0xe0 | (code >> 12));
      text += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
      text += static_cast<char>(0x80 | (code & 0x3f));
    }
    leaf->GetReflection()->SetString(leaf.get(), type->FindFieldByName("s"), "x" + text + "y");
    std::string bytes = leaf->SerializeAsString();
    INFO("U+" << std::hex << code);
    REQUIRE(codec.decode(bytes) == mapping(*schema, "kinds.Leaf", bytes, {}));
    std::string direct;
    if (goka::ProtoJsonPrinter(type, false).print(*leaf, direct)) ++printed;
  }
  CHECK(printed > 0x5ff - 0x80);
}

TEST_CASE("proto json: a proto2 enum's unknown number and unknown fields print as the mapping does",
          "[proto]") {
  goka::test::TempDir dir;
  std::ofstream(dir.path() / "kinds2.proto") << kinds2;
  auto schema = ProtoSchema::from_proto_files({(dir.path() / "kinds2.proto").string()},
                                              {dir.path().string()});
  ProtoCodec codec(schema, "kinds2.Old");
  // k = 99 (Kind has 1 and 2 only), ks = [1, 99], field 200 unknown, flag = true.
  const std::string bytes("\x18\x63\x38\x01\x38\x63\xc0\x0c\x05\x58\x01", 11);
  for (bool original : {false, true}) {
    goka::ProtoJsonOptions options{original, false};
    CHECK(ProtoCodec(schema, "kinds2.Old", options).decode(bytes) ==
          mapping(*schema, "kinds2.Old", bytes, options));
  }
  CHECK(codec.decode(bytes) == R"({"k":99,"ks":["K_ONE",99],"flag":true})");
}

TEST_CASE("proto json: doubles and floats print as SimpleDtoa and SimpleFtoa do", "[proto]") {
  std::mt19937_64 random(11);
  auto check_double = [](double value) {
    if (!std::isfinite(value)) return;
    std::string ours;
    goka::append_proto_double(value, ours);
    REQUIRE(ours == pb::SimpleDtoa(value));
  };
  auto check_float = [](float value) {
    if (!std::isfinite(value)) return;
    std::string ours;
    goka::append_proto_float(value, ours);
    REQUIRE(ours == pb::SimpleFtoa(value));
  };
  for (int i = 0; i < 200000; ++i) {
    uint64_t bits = random();
    double d;
    std::memcpy(&d, &bits, sizeof d);
    check_double(d);
    auto bits32 = static_cast<uint32_t>(bits);
    float f;
    std::memcpy(&f, &bits32, sizeof f);
    check_float(f);
    // Short decimals, the usual values.
    double decimal = static_cast<double>(static_cast<int64_t>(bits % 2000001) - 1000000) /
                     std::pow(10.0, static_cast<double>(bits % 23));
    check_double(decimal);
    check_float(static_cast<float>(decimal));
    check_double(decimal * 1e18);
  }
  for (double edge : {0.0, -0.0, 0.1, 1e21, 1e15, 1e16, 1e-5, 1e-4, 5e-324, 1.7976931348623157e308})
    check_double(edge);
  for (float edge : {0.0f, -0.0f, 0.1f, 1e21f, 1e-40f, 1.4e-45f, 3.4028235e38f, 1.17549435e-38f})
    check_float(edge);
}
