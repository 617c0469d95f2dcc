#pragma once
// Protobuf values, as Go services store them with a protobuf Goka codec.
//
//   ProtoSchema          a set of message types: .proto files parsed at run
//                        time, descriptor sets (protoc --descriptor_set_out),
//                        or the generated C++ code linked into the program.
//   ProtoCodec           one message type of a schema <-> proto3's canonical
//                        JSON text (a Codec<std::string>, like JsonCodec).
//   ProtoMessageCodec<M> a generated class M <-> its wire bytes, for typed
//                        callbacks: ctx.value_as<goka::ProtoMessageCodec<M>>().
//
// Everything protobuf is done by libprotobuf (3.21): its .proto parser, its
// wire format and its JSON mapping (64-bit integers as strings, enums by
// name, bytes as base64, well-known types and Any). Schemas and codecs are
// immutable once made and thread-safe.
//
//   auto schema = goka::ProtoSchema::from_proto_files({"shop/order.proto"}, {"protos"});
//   goka::ProtoCodec orders(schema, "shop.Order");
//   std::string bytes = orders.encode(R"({"orderId":"o-1","customerId":"42"})");
//   std::string json = orders.decode(bytes);  // {"orderId":"o-1","customerId":"42"}

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "goka/codec.hpp"
#include "goka/error.hpp"

namespace google::protobuf {
class Descriptor;
class Message;
}

namespace goka {

// A pool of protobuf message types. Shared by the codecs made from it.
class ProtoSchema {
 public:
  // Parses the .proto files and everything they import, as protoc does.
  // A file is a path on disk or a name relative to an import path; imports
  // are looked up in import_paths (protoc's --proto_path) in order. A file on
  // disk under none of them makes its own directory an import path. The
  // well-known types (google/protobuf/*.proto) are always found.
  // Throws Error(Errc::not_found) for a missing file and Error(Errc::config)
  // listing every parse error as "file:line:column: message".
  static std::shared_ptr<const ProtoSchema> from_proto_files(
      const std::vector<std::string>& files, const std::vector<std::string>& import_paths = {});

  // Reads FileDescriptorSet files (protoc --descriptor_set_out=FILE, with
  // --include_imports unless the only imports are well-known types). Files
  // of the same name in several sets must be identical.
  // Throws Error(Errc::not_found) for a missing file, Error(Errc::config) for
  // one that is not a valid descriptor set or misses an import.
  static std::shared_ptr<const ProtoSchema> from_descriptor_sets(
      const std::vector<std::string>& paths);
  // The same from the bytes of one FileDescriptorSet; origin names it in errors.
  static std::shared_ptr<const ProtoSchema> from_descriptor_set_bytes(
      std::string_view bytes, std::string_view origin = "descriptor set");

  // The message types of the generated C++ code (protoc --cpp_out) linked
  // into this program.
  static std::shared_ptr<const ProtoSchema> generated();

  ~ProtoSchema();
  ProtoSchema(const ProtoSchema&) = delete;
  ProtoSchema& operator=(const ProtoSchema&) = delete;

  // Full names of the message types the loaded files define, nested ones
  // included ("shop.Order", "shop.Order.Line"), sorted. Types only imported
  // from the well-known files are left out. Empty for generated().
  std::vector<std::string> message_names() const;
  // Whether full_name is a message type of the schema (imports included).
  bool has_message(std::string_view full_name) const;

  // Internal: libprotobuf's objects behind the schema (src/proto/).
  struct Impl;
  const Impl& impl() const { return *impl_; }
  static std::shared_ptr<const ProtoSchema> make(std::unique_ptr<Impl> impl);

 private:
  explicit ProtoSchema(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// How ProtoCodec writes JSON. Parsing always accepts both field name forms.
struct ProtoJsonOptions {
  // Field names as written in the .proto ("customer_id") instead of their
  // JSON names ("customerId", proto3's default).
  bool original_names = false;
  // Also print fields that hold their default value (0, "", false, the first
  // enum value, empty repeated fields and maps), which proto3 leaves out.
  bool print_defaults = false;
};

// One message type of a schema as JSON text (Codec<std::string>).
class ProtoCodec final : public Codec<std::string> {
 public:
  // REQUIRES: schema is not null. Throws Error(Errc::not_found) when schema
  // has no message type message_name, listing the types it does define.
  ProtoCodec(std::shared_ptr<const ProtoSchema> schema, std::string_view message_name,
             ProtoJsonOptions options = {});

  const std::string& message_name() const { return message_name_; }
  const ProtoJsonOptions& options() const { return options_; }

  // JSON text (one object; JSON or original field names) to the message's
  // wire bytes, fields in field number order as protobuf's serializers
  // write them (map entries in no particular order). Throws Error(Errc::decode) for invalid JSON, an unknown field
  // or a value of the wrong type (naming the field), or a missing required
  // proto2 field.
  std::string encode(const std::string& json_text) const override;
  std::string encode_json(std::string_view json_text) const;

  // Wire bytes to compact JSON text. Throws Error(Errc::decode) for bytes
  // that do not parse as the message (malformed wire format, a field of the
  // wrong wire type, a missing required proto2 field). Unknown fields are
  // dropped, as protobuf's JSON mapping does.
  std::string decode(std::string_view bytes) const override;
  // decode(), appending the text to out instead; out is unchanged when it
  // throws.
  void decode_to(std::string_view bytes, std::string& out) const;

  struct Cache;  // internal: the prototype message and the JSON printer (src/proto/)

 private:
  std::string mapping_json(const google::protobuf::Message& message, std::string_view bytes) const;

  std::shared_ptr<const ProtoSchema> schema_;
  std::string message_name_;
  ProtoJsonOptions options_;
  const google::protobuf::Descriptor* type_ = nullptr;
  std::string type_url_;
  bool has_required_ = false;  // proto2 required fields somewhere in the type
  std::shared_ptr<Cache> cache_;
};

// A generated protobuf class M (protoc --cpp_out) as its wire bytes. M's
// generated header must be included where this template is used.
template <class M>
class ProtoMessageCodec final : public Codec<M> {
 public:
  // Throws Error(Errc::decode) naming the missing required proto2 fields.
  std::string encode(const M& value) const override {
    if (!value.IsInitialized())
      throw Error(Errc::decode, "protobuf codec: " + value.GetTypeName() +
                                    " misses required fields: " +
                                    value.InitializationErrorString());
    return value.SerializeAsString();
  }
  // Throws Error(Errc::decode) for bytes that do not parse as M.
  M decode(std::string_view bytes) const override {
    M value;
    if (!value.ParsePartialFromArray(bytes.data(), static_cast<int>(bytes.size())))
      throw Error(Errc::decode,
                  "protobuf codec: bytes do not parse as " + value.GetTypeName());
    if (!value.IsInitialized())
      throw Error(Errc::decode, "protobuf codec: " + value.GetTypeName() +
                                    " misses required fields: " +
                                    value.InitializationErrorString());
    return value;
  }
};

}  // namespace goka
