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

#include <google/protobuf/message.h>

#include <string>

namespace goka {

class ProtoJsonPrinter {
 public:
  explicit ProtoJsonPrinter(bool original_names) : original_names_(original_names) {}

  // Appends message as compact JSON to out and returns true, or returns false
  // (out holds a partial text then) for a message it declines.
  bool print(const google::protobuf::Message& message, std::string& out) const;

 private:
  bool print_message(const google::protobuf::Message& message, std::string& out) const;
  bool print_field(const google::protobuf::Message& message,
                   const google::protobuf::FieldDescriptor* field, std::string& out) const;
  bool print_map(const google::protobuf::Message& message,
                 const google::protobuf::FieldDescriptor* field, std::string& out) const;
  bool print_value(const google::protobuf::Message& message,
                   const google::protobuf::FieldDescriptor* field, int index,
                   std::string& out) const;

  bool original_names_;
};

// A finite double or float as libprotobuf's SimpleDtoa / SimpleFtoa print it
// (printf's %.15g, or %.17g when that does not read back; %.6g and %.9g for
// floats), without their snprintf and strtod.
void append_proto_double(double value, std::string& out);
void append_proto_float(float value, std::string& out);

}  // namespace goka
