#pragma once
// ProtoJsonPrinter: a parsed message to proto3 canonical JSON by walking it
// with libprotobuf's reflection, the same text as libprotobuf's JSON mapping
// (util::BinaryToJsonStream, without always_print_primitive_fields) over the
// message's serialized bytes, at a fraction of its cost: the mapping converts
// the descriptors through its type resolver on every call.
//
// It prints what it is sure to print the same way and declines the rest, for
// the caller to use libprotobuf's mapping instead: a set field of a
// well-known type (google.protobuf.*, Any among them), a group, a string with
// characters outside ASCII and U+00A0..U+05FF (the mapping escapes some format
// characters), invalid UTF-8, or unknown fields anywhere in the message.
//
// One difference is left: the mapping prints fields in the order of the wire,
// the printer in field number order. They are the same for bytes written by
// protobuf's serializers (C++, Go, Java all write by field number), not for
// hand-made bytes with fields out of order, such as two messages concatenated.
//
// What the mapping finds out per call from the descriptors (names, kinds,
// well-known types, enum names) the printer works out once, when it is made.

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <string>
#include <unordered_map>
#include <vector>

namespace goka {

// Immutable once made: print() is thread-safe.
class ProtoJsonPrinter {
 public:
  // Prepares to print messages of type root and of every type it reaches:
  // their fields' JSON names (original_names: as in the .proto) quoted and
  // escaped, what each field's values are, enum names by number.
  ProtoJsonPrinter(const google::protobuf::Descriptor* root, bool original_names);

  // Appends message as compact JSON to out and returns true, or returns false
  // (out holds a partial text then) for a message it declines, and for one
  // of a type that root does not reach.
  bool print(const google::protobuf::Message& message, std::string& out) const;

 private:
  // What a field's values are printed as.
  enum class Kind : unsigned char {
    int32, uint32, int64, uint64, boolean, float32, float64, enumeration, string, bytes,
    message, map, declined,
  };
  struct Type;
  struct Field {
    const google::protobuf::FieldDescriptor* descriptor = nullptr;
    std::string name;  // "jsonName": quoted, escaped, with the colon
    Kind kind = Kind::declined;
    bool repeated = false;
    const Type* type = nullptr;  // message: its type; map: the entry's
    const std::unordered_map<int, std::string>* enum_names = nullptr;  // quoted, first per number
  };
  struct Type {
    bool printable = false;  // false: a well-known type, or a name the printer cannot write
    bool in_order = true;    // fields declared in field number order
    std::vector<Field> fields;  // by declaration index
  };

  const Type* prepare(const google::protobuf::Descriptor* type);
  Field prepare_field(const google::protobuf::FieldDescriptor* field);
  const std::unordered_map<int, std::string>* prepare_enum(
      const google::protobuf::EnumDescriptor* type);

  bool print_message(const google::protobuf::Message& message, const Type& type,
                     std::string& out) const;
  bool print_field(const google::protobuf::Message& message, const Field& field,
                   std::string& out) const;
  bool print_map(const google::protobuf::Message& message, const Field& field,
                 std::string& out) const;
  bool print_value(const google::protobuf::Message& message, const Field& field, int index,
                   std::string& out) const;

  bool original_names_;
  const google::protobuf::Descriptor* root_;
  // Node-based: a Type's address stays as more are added while preparing.
  std::unordered_map<const google::protobuf::Descriptor*, Type> types_;
  std::unordered_map<const google::protobuf::EnumDescriptor*, std::unordered_map<int, std::string>>
      enums_;
};

// A finite double or float as libprotobuf's SimpleDtoa / SimpleFtoa print it
// (printf's %.15g, or %.17g when that does not read back; %.6g and %.9g for
// floats), without their snprintf and strtod.
void append_proto_double(double value, std::string& out);
void append_proto_float(float value, std::string& out);

}  // namespace goka
