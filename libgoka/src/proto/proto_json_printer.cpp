// ProtoJsonPrinter: what libprotobuf 3.21's JSON mapping prints (its
// ProtoStreamObjectSource feeding a JsonObjectWriter), written from the
// parsed message's reflection. The rules, checked against the mapping byte
// for byte by tests/unit/proto_json_test.cpp:
//   - the fields on the wire, in field number order (the order libprotobuf
//     serializes a message in); extensions and unknown fields are left out;
//   - 64-bit integers quoted, 32-bit ones bare, bools bare;
//   - float and double as SimpleFtoa / SimpleDtoa print them (with
//     std::to_chars and from_chars instead of snprintf and strtod), NaN and
//     infinities as the strings "NaN", "Infinity", "-Infinity";
//   - enums by the name of the first value of their number, else the number;
//   - bytes in standard base64 with padding;
//   - map entries in wire order as "key":value, keys as their decimal or
//     true/false text;
//   - strings escaped as its JsonEscaping does: \b \t \n \f \r \" \\ and
//     \u00XX (lower case hex) for the other controls, <, > and U+007F..U+009F,
//     U+00AD.

#include "proto/proto_json_printer.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/stubs/strutil.h>

#include <charconv>
#include <cmath>
#include <limits>
#include <string_view>
#include <vector>

namespace goka {
namespace {

namespace pb = google::protobuf;

void append_hex_escape(unsigned code, std::string& out) {
  static constexpr char digits[] = "0123456789abcdef";
  out += "\\u00";
  out += digits[(code >> 4) & 0xf];
  out += digits[code & 0xf];
}

// The length of the UTF-8 sequence at text[i] of a code point the mapping
// copies as it is (U+00A0..U+05FF but U+00AD), or 0.
size_t plain_utf8(std::string_view text, size_t i) {
  auto lead = static_cast<unsigned char>(text[i]);
  if (lead < 0xc2 || lead > 0xd7 || i + 1 >= text.size()) return 0;
  auto next = static_cast<unsigned char>(text[i + 1]);
  if ((next & 0xc0) != 0x80) return 0;
  unsigned code = ((lead & 0x1fu) << 6) | (next & 0x3fu);
  return code >= 0xa0 && code != 0xad ? 2 : 0;
}

// Appends text as a quoted JSON string; false for a character it leaves to
// the mapping.
bool append_string(std::string_view text, std::string& out) {
  out += '"';
  size_t plain = 0;  // start of the run of characters copied as they are
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '<' && c != '>') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      size_t length = plain_utf8(text, i);
      if (length == 0) return false;
      i += length;
      continue;
    }
    out.append(text.data() + plain, i - plain);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      default: append_hex_escape(c, out);
    }
    plain = ++i;
  }
  out.append(text.data() + plain, text.size() - plain);
  out += '"';
  return true;
}

template <class Int>
void append_int(Int value, std::string& out, bool quoted) {
  char buffer[24];
  auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
  if (quoted) out += '"';
  out.append(buffer, static_cast<size_t>(end - buffer));
  if (quoted) out += '"';
}

// NaN and the infinities as the mapping quotes them; false for a finite value.
bool append_non_finite(double value, std::string& out) {
  if (std::isnan(value)) out += "\"NaN\"";
  else if (std::isinf(value)) out += value > 0 ? "\"Infinity\"" : "\"-Infinity\"";
  else return false;
  return true;
}

bool well_known(const pb::Descriptor* type) {
  return type->file()->package() == "google.protobuf";
}

// A map key as the text of its JSON name.
bool append_map_key(const pb::Message& entry, const pb::FieldDescriptor* key, std::string& out) {
  const auto* reflection = entry.GetReflection();
  switch (key->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      return append_string(reflection->GetStringReference(entry, key, &scratch), out);
    }
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      out += reflection->GetBool(entry, key) ? "\"true\"" : "\"false\"";
      return true;
    case pb::FieldDescriptor::CPPTYPE_INT32: append_int(reflection->GetInt32(entry, key), out, true); return true;
    case pb::FieldDescriptor::CPPTYPE_INT64: append_int(reflection->GetInt64(entry, key), out, true); return true;
    case pb::FieldDescriptor::CPPTYPE_UINT32: append_int(reflection->GetUInt32(entry, key), out, true); return true;
    case pb::FieldDescriptor::CPPTYPE_UINT64: append_int(reflection->GetUInt64(entry, key), out, true); return true;
    default: return false;
  }
}

// Whether type declares its fields in field number order (the order of the
// wire and of ListFields).
bool in_number_order(const pb::Descriptor* type) {
  for (int i = 1; i < type->field_count(); ++i)
    if (type->field(i)->number() < type->field(i - 1)->number()) return false;
  return true;
}

// printf's %.<digits>g of value, then %.<more>g when that does not read back
// as value: what SimpleDtoa (15, 17) and SimpleFtoa (6, 9) print.
template <class Real>
void append_round_trip(Real value, int digits, int more, std::string& out) {
  char buffer[40];
  auto end = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::general, digits).ptr;
  Real back = 0;
  std::from_chars(buffer, end, back);
  if (back != value)
    end = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::general, more).ptr;
  out.append(buffer, static_cast<size_t>(end - buffer));
}

}  // namespace

void append_proto_double(double value, std::string& out) {
  append_round_trip(value, 15, 17, out);
}

void append_proto_float(float value, std::string& out) {
  // SimpleFtoa takes the longer form when strtof reports an underflow, as
  // it may for a subnormal value: those go to it.
  if (value != 0 && std::fabs(value) < std::numeric_limits<float>::min())
    out += pb::SimpleFtoa(value);
  else
    append_round_trip(value, 6, 9, out);
}

ProtoJsonPrinter::ProtoJsonPrinter(const pb::Descriptor* root, bool original_names)
    : original_names_(original_names), root_(root) {
  prepare(root);
}

const ProtoJsonPrinter::Type* ProtoJsonPrinter::prepare(const pb::Descriptor* descriptor) {
  auto [it, added] = types_.try_emplace(descriptor);
  Type& type = it->second;
  if (!added) return &type;  // prepared, or being prepared (a recursive type)
  if (well_known(descriptor)) return &type;
  type.printable = true;
  type.in_order = in_number_order(descriptor);
  type.fields.reserve(static_cast<size_t>(descriptor->field_count()));
  for (int i = 0; i < descriptor->field_count(); ++i) {
    Field field = prepare_field(descriptor->field(i));
    if (field.name.empty()) type.printable = false;
    type.fields.push_back(std::move(field));
  }
  return &type;
}

ProtoJsonPrinter::Field ProtoJsonPrinter::prepare_field(const pb::FieldDescriptor* descriptor) {
  using F = pb::FieldDescriptor;
  Field field;
  field.descriptor = descriptor;
  field.repeated = descriptor->is_repeated();
  if (append_string(original_names_ ? descriptor->name() : descriptor->json_name(), field.name)) {
    field.name += ':';
  } else {
    field.name.clear();  // the type is declined
  }
  switch (descriptor->cpp_type()) {
    case F::CPPTYPE_INT32: field.kind = Kind::int32; break;
    case F::CPPTYPE_UINT32: field.kind = Kind::uint32; break;
    case F::CPPTYPE_INT64: field.kind = Kind::int64; break;
    case F::CPPTYPE_UINT64: field.kind = Kind::uint64; break;
    case F::CPPTYPE_BOOL: field.kind = Kind::boolean; break;
    case F::CPPTYPE_FLOAT: field.kind = Kind::float32; break;
    case F::CPPTYPE_DOUBLE: field.kind = Kind::float64; break;
    case F::CPPTYPE_STRING:
      field.kind = descriptor->type() == F::TYPE_BYTES ? Kind::bytes : Kind::string;
      break;
    case F::CPPTYPE_ENUM:
      if (descriptor->enum_type()->file()->package() != "google.protobuf") {
        field.kind = Kind::enumeration;
        field.enum_names = prepare_enum(descriptor->enum_type());
      }
      break;
    case F::CPPTYPE_MESSAGE:
      if (descriptor->is_map()) {
        // print_map() takes the entry's fields 0 and 1 as its key and value.
        const auto* entry = descriptor->message_type();
        if (entry->field_count() != 2 || entry->map_key() != entry->field(0)) break;
        field.kind = Kind::map;
        field.type = prepare(descriptor->message_type());
      } else if (descriptor->type() != F::TYPE_GROUP && !well_known(descriptor->message_type())) {
        field.kind = Kind::message;
        field.type = prepare(descriptor->message_type());
      }
      break;
  }
  return field;
}

const std::unordered_map<int, std::string>* ProtoJsonPrinter::prepare_enum(
    const pb::EnumDescriptor* type) {
  auto [it, added] = enums_.try_emplace(type);
  if (!added) return &it->second;
  for (int i = 0; i < type->value_count(); ++i) {
    const auto* value = type->value(i);
    if (it->second.count(value->number()) > 0) continue;  // an alias: the first name counts
    std::string quoted;
    // A name the printer cannot write is left out: its number goes to the mapping.
    if (append_string(value->name(), quoted)) it->second.emplace(value->number(), std::move(quoted));
    else it->second.emplace(value->number(), std::string());
  }
  return &it->second;
}

bool ProtoJsonPrinter::print(const pb::Message& message, std::string& out) const {
  const auto* descriptor = message.GetDescriptor();
  if (descriptor != root_) return false;
  const Type& type = types_.at(descriptor);
  return type.printable && print_message(message, type, out);
}

bool ProtoJsonPrinter::print_message(const pb::Message& message, const Type& type,
                                     std::string& out) const {
  if (!type.printable) return false;
  const auto* reflection = message.GetReflection();
  // Fields the mapping would see: those of the wire but the unknown ones; a
  // known field's value the parser kept as unknown (a proto2 enum's unknown
  // number) it prints, so such messages are left to it.
  if (!reflection->GetUnknownFields(message).empty()) return false;
  out += '{';
  bool first = true;
  auto print_one = [&](const Field& field) {
    if (!first) out += ',';
    first = false;
    out += field.name;
    return print_field(message, field, out);
  };
  if (type.in_order) {
    for (const Field& field : type.fields) {
      bool set = field.repeated ? reflection->FieldSize(message, field.descriptor) > 0
                                : reflection->HasField(message, field.descriptor);
      if (set && !print_one(field)) return false;
    }
  } else {
    std::vector<const pb::FieldDescriptor*> fields;
    reflection->ListFields(message, &fields);
    for (const auto* field : fields)
      if (!field->is_extension() && !print_one(type.fields[static_cast<size_t>(field->index())]))
        return false;
  }
  out += '}';
  return true;
}

bool ProtoJsonPrinter::print_field(const pb::Message& message, const Field& field,
                                   std::string& out) const {
  if (field.kind == Kind::map) return print_map(message, field, out);
  if (!field.repeated) return print_value(message, field, -1, out);
  int size = message.GetReflection()->FieldSize(message, field.descriptor);
  out += '[';
  for (int i = 0; i < size; ++i) {
    if (i > 0) out += ',';
    if (!print_value(message, field, i, out)) return false;
  }
  out += ']';
  return true;
}

bool ProtoJsonPrinter::print_map(const pb::Message& message, const Field& field,
                                 std::string& out) const {
  const auto* reflection = message.GetReflection();
  const Type& entry_type = *field.type;
  if (!entry_type.printable) return false;
  const Field& key = entry_type.fields[0];    // map entries declare key (1), then value (2)
  const Field& value = entry_type.fields[1];
  int size = reflection->FieldSize(message, field.descriptor);
  out += '{';
  for (int i = 0; i < size; ++i) {
    const auto& entry = reflection->GetRepeatedMessage(message, field.descriptor, i);
    if (i > 0) out += ',';
    if (!append_map_key(entry, key.descriptor, out)) return false;
    out += ':';
    if (!print_value(entry, value, -1, out)) return false;
  }
  out += '}';
  return true;
}

// The value of a singular field (index -1) or of element index of a repeated one.
bool ProtoJsonPrinter::print_value(const pb::Message& message, const Field& field, int index,
                                   std::string& out) const {
  const auto* r = message.GetReflection();
  const auto* d = field.descriptor;
  const bool one = index < 0;
  switch (field.kind) {
    case Kind::int32:
      append_int(one ? r->GetInt32(message, d) : r->GetRepeatedInt32(message, d, index), out, false);
      return true;
    case Kind::uint32:
      append_int(one ? r->GetUInt32(message, d) : r->GetRepeatedUInt32(message, d, index), out, false);
      return true;
    case Kind::int64:
      append_int(one ? r->GetInt64(message, d) : r->GetRepeatedInt64(message, d, index), out, true);
      return true;
    case Kind::uint64:
      append_int(one ? r->GetUInt64(message, d) : r->GetRepeatedUInt64(message, d, index), out, true);
      return true;
    case Kind::boolean:
      out += (one ? r->GetBool(message, d) : r->GetRepeatedBool(message, d, index)) ? "true" : "false";
      return true;
    case Kind::float64: {
      double v = one ? r->GetDouble(message, d) : r->GetRepeatedDouble(message, d, index);
      if (!append_non_finite(v, out)) append_proto_double(v, out);
      return true;
    }
    case Kind::float32: {
      float v = one ? r->GetFloat(message, d) : r->GetRepeatedFloat(message, d, index);
      if (!append_non_finite(v, out)) append_proto_float(v, out);
      return true;
    }
    case Kind::enumeration: {
      int number = one ? r->GetEnumValue(message, d) : r->GetRepeatedEnumValue(message, d, index);
      auto named = field.enum_names->find(number);
      if (named == field.enum_names->end()) append_int(number, out, false);
      else if (named->second.empty()) return false;
      else out += named->second;
      return true;
    }
    case Kind::string:
    case Kind::bytes: {
      std::string scratch;
      const std::string& text = one ? r->GetStringReference(message, d, &scratch)
                                    : r->GetRepeatedStringReference(message, d, index, &scratch);
      if (field.kind == Kind::string) return append_string(text, out);
      std::string base64;
      pb::Base64Escape(text, &base64);
      out += '"';
      out += base64;
      out += '"';
      return true;
    }
    case Kind::message:
      return print_message(one ? r->GetMessage(message, d) : r->GetRepeatedMessage(message, d, index),
                           *field.type, out);
    case Kind::map:
    case Kind::declined:
      return false;
  }
  return false;
}

}  // namespace goka
