// ProtoCodec: wire bytes <-> proto3 canonical JSON with libprotobuf's JSON
// mapping (util::BinaryToJsonStream / JsonToBinaryStream over the schema's
// type resolver), and libprotobuf's parser to check the bytes. Decoding
// prints the parsed message with ProtoJsonPrinter (the same text, ~4x
// cheaper) and uses the mapping for what the printer declines.

#include <fmt/format.h>
#include <google/protobuf/arena.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/json_util.h>

#include <optional>
#include <set>
#include <vector>

#include "proto/proto_json_printer.hpp"
#include "proto/proto_schema_impl.hpp"

namespace goka {
namespace {

namespace pb = google::protobuf;

bool has_required_fields(const pb::Descriptor* type, std::set<const pb::Descriptor*>& seen) {
  if (!seen.insert(type).second) return false;
  for (int i = 0; i < type->field_count(); ++i) {
    const auto* field = type->field(i);
    if (field->is_required()) return true;
    if (field->message_type() != nullptr && has_required_fields(field->message_type(), seen))
      return true;
  }
  return false;
}

std::string unknown_message(const ProtoSchema& schema, std::string_view name) {
  if (schema.impl().generated)
    return fmt::format("unknown protobuf message {}: no generated code for it is linked", name);
  auto names = schema.message_names();
  if (names.empty()) return fmt::format("unknown protobuf message {}: the schema defines none", name);
  return fmt::format("unknown protobuf message {}: the schema defines {}", name,
                     fmt::join(names, ", "));
}

// libprotobuf's JSON errors read "INVALID_ARGUMENT:<what>"; keep <what>.
std::string status_text(const pb::util::Status& status) {
  std::string text(status.message().data(), status.message().size());
  return text.empty() ? std::string("invalid value") : text;
}

}  // namespace

// The codec's prototype message and its printer.
struct ProtoCodec::Cache {
  const pb::Message* prototype = nullptr;
  ProtoJsonPrinter printer;

  Cache(const pb::Message* type_prototype, bool original_names)
      : prototype(type_prototype), printer(type_prototype->GetDescriptor(), original_names) {}
};

namespace {

// An arena to parse on, one per thread (no lock), made on first use and kept
// until the thread ends. Its first block is its own, and Reset() keeps that
// block: parsing a message of usual size allocates nothing.
struct ThreadArena {
  static constexpr std::size_t kBlock = 16 << 10;
  std::unique_ptr<char[]> block = std::make_unique<char[]>(kBlock);
  pb::Arena arena{options(block.get())};
  bool busy = false;  // leased

  static pb::ArenaOptions options(char* block) {
    pb::ArenaOptions options;
    options.initial_block = block;
    options.initial_block_size = kBlock;
    return options;
  }
};

// The calling thread's arena for one decode, reset when the lease ends,
// whatever way the call ends. A nested lease on the same thread (none today)
// gets an arena of its own.
class ArenaLease {
 public:
  ArenaLease() {
    thread_local std::unique_ptr<ThreadArena> mine;
    if (!mine) mine = std::make_unique<ThreadArena>();
    if (mine->busy) {
      own_.emplace();
      return;
    }
    leased_ = mine.get();
    leased_->busy = true;
  }
  ~ArenaLease() {
    if (leased_ == nullptr) return;
    leased_->arena.Reset();
    leased_->busy = false;
  }
  ArenaLease(const ArenaLease&) = delete;
  ArenaLease& operator=(const ArenaLease&) = delete;
  pb::Arena* get() { return leased_ != nullptr ? &leased_->arena : &*own_; }

 private:
  ThreadArena* leased_ = nullptr;
  std::optional<pb::Arena> own_;
};

}  // namespace

ProtoCodec::ProtoCodec(std::shared_ptr<const ProtoSchema> schema, std::string_view message_name,
                       ProtoJsonOptions options)
    : schema_(std::move(schema)), message_name_(message_name), options_(options) {
  if (!schema_) throw Error(Errc::usage, "ProtoCodec needs a schema");
  type_ = schema_->impl().find(message_name_);
  if (type_ == nullptr) throw Error(Errc::not_found, unknown_message(*schema_, message_name_));
  type_url_ = schema_->impl().type_url(type_);
  std::set<const pb::Descriptor*> seen;
  has_required_ = has_required_fields(type_, seen);
  cache_ = std::make_shared<Cache>(schema_->impl().factory->GetPrototype(type_),
                                   options_.original_names);
}

std::string ProtoCodec::encode(const std::string& json_text) const {
  return encode_json(json_text);
}

std::string ProtoCodec::encode_json(std::string_view json_text) const {
  const auto& impl = schema_->impl();
  pb::LogSilencer quiet;
  std::string bytes;
  {
    pb::io::ArrayInputStream in(json_text.data(), static_cast<int>(json_text.size()));
    pb::io::StringOutputStream out(&bytes);
    pb::util::JsonParseOptions parse;
    parse.ignore_unknown_fields = false;
    auto status = pb::util::JsonToBinaryStream(impl.resolver.get(), type_url_, &in, &out, parse);
    if (!status.ok())
      throw Error(Errc::decode,
                  fmt::format("not a valid {} in JSON: {}", message_name_, status_text(status)));
  }
  // The JSON mapping writes fields in the order of the JSON text; the parsed
  // message writes them by field number, as protobuf's own serializers (Go's
  // proto.Marshal) do, and each once.
  std::unique_ptr<pb::Message> message(impl.factory->GetPrototype(type_)->New());
  if (!message->ParsePartialFromString(bytes))
    throw Error(Errc::decode, fmt::format("{} from JSON does not parse back", message_name_));
  if (has_required_ && !message->IsInitialized())
    throw Error(Errc::decode, fmt::format("{} misses required fields: {}", message_name_,
                                          message->InitializationErrorString()));
  return message->SerializePartialAsString();
}

std::string ProtoCodec::decode(std::string_view bytes) const {
  std::string json;
  decode_to(bytes, json);
  return json;
}

void ProtoCodec::decode_to(std::string_view bytes, std::string& out) const {
  // libprotobuf logs to stderr what makes a parse fail (a string that is not
  // UTF-8); the Error says it instead.
  pb::LogSilencer quiet;
  ArenaLease arena;
  pb::Message* message = cache_->prototype->New(arena.get());
  if (!message->ParsePartialFromArray(bytes.data(), static_cast<int>(bytes.size())))
    throw Error(Errc::decode, fmt::format("bytes do not parse as protobuf {}", message_name_));
  if (has_required_ && !message->IsInitialized())
    throw Error(Errc::decode, fmt::format("protobuf {} misses required fields: {}", message_name_,
                                          message->InitializationErrorString()));
  const std::size_t mark = out.size();
  if (!options_.print_defaults) {
    if (mark == 0) out.reserve(bytes.size() * 3);
    if (cache_->printer.print(*message, out)) return;
    out.resize(mark);
  }
  out += mapping_json(*message, bytes);
}

// libprotobuf's JSON mapping of the parsed message, whose wire bytes are bytes.
std::string ProtoCodec::mapping_json(const pb::Message& message, std::string_view bytes) const {
  // The JSON mapping renders the wire bytes as they are, a field that occurs
  // twice twice; the parsed message's bytes have each field once (the last).
  // Bytes of the parsed message's size have each field once already (a field
  // twice makes them longer), the usual case: they need not be written again.
  std::string canonical;
  std::string_view wire = bytes;
  if (message.ByteSizeLong() != bytes.size()) {
    canonical = message.SerializePartialAsString();
    wire = canonical;
  }
  std::string json;
  pb::util::Status status;
  {
    pb::io::ArrayInputStream in(wire.data(), static_cast<int>(wire.size()));
    pb::io::StringOutputStream out(&json);
    pb::util::JsonPrintOptions print;
    print.preserve_proto_field_names = options_.original_names;
    print.always_print_primitive_fields = options_.print_defaults;
    status = pb::util::BinaryToJsonStream(schema_->impl().resolver.get(), type_url_, &in, &out, print);
  }
  if (!status.ok())
    throw Error(Errc::decode, fmt::format("protobuf {} cannot be written as JSON: {}",
                                          message_name_, status_text(status)));
  return json;
}

}  // namespace goka
