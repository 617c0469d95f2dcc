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

bool ProtoJsonPrinter::print(const pb::Message& message, std::string& out) const {
  if (well_known(message.GetDescriptor())) return false;
  return print_message(message, out);
}

bool ProtoJsonPrinter::print_message(const pb::Message& message, std::string& out) const {
  const auto* reflection = message.GetReflection();
  // Fields the mapping would see: those of the wire but the unknown ones; a
  // known field's value the parser kept as unknown (a proto2 enum's unknown
  // number) it prints, so such messages are left to it.
  if (!reflection->GetUnknownFields(message).empty()) return false;
  const auto* type = message.GetDescriptor();
  out += '{';
  bool first = true;
  auto print_one = [&](const pb::FieldDescriptor* field) {
    if (!first) out += ',';
    first = false;
    if (!append_string(original_names_ ? field->name() : field->json_name(), out)) return false;
    out += ':';
    return print_field(message, field, out);
  };
  if (in_number_order(type)) {
    for (int i = 0; i < type->field_count(); ++i) {
      const auto* field = type->field(i);
      bool set = field->is_repeated() ? reflection->FieldSize(message, field) > 0
                                      : reflection->HasField(message, field);
      if (set && !print_one(field)) return false;
    }
  } else {
    std::vector<const pb::FieldDescriptor*> fields;
    reflection->ListFields(message, &fields);
    for (const auto* field : fields)
      if (!field->is_extension() && !print_one(field)) return false;
  }
  out += '}';
  return true;
}

bool ProtoJsonPrinter::print_field(const pb::Message& message, const pb::FieldDescriptor* field,
                                   std::string& out) const {
  if (field->is_map()) return print_map(message, field, out);
  if (!field->is_repeated()) return print_value(message, field, -1, out);
  int size = message.GetReflection()->FieldSize(message, field);
  out += '[';
  for (int i = 0; i < size; ++i) {
    if (i > 0) out += ',';
    if (!print_value(message, field, i, out)) return false;
  }
  out += ']';
  return true;
}

bool ProtoJsonPrinter::print_map(const pb::Message& message, const pb::FieldDescriptor* field,
                                 std::string& out) const {
  const auto* reflection = message.GetReflection();
  const auto* key = field->message_type()->map_key();
  const auto* value = field->message_type()->map_value();
  int size = reflection->FieldSize(message, field);
  out += '{';
  for (int i = 0; i < size; ++i) {
    const auto& entry = reflection->GetRepeatedMessage(message, field, i);
    if (i > 0) out += ',';
    if (!append_map_key(entry, key, out)) return false;
    out += ':';
    if (!print_value(entry, value, -1, out)) return false;
  }
  out += '}';
  return true;
}

// The value of a singular field (index -1) or of element index of a repeated one.
bool ProtoJsonPrinter::print_value(const pb::Message& message, const pb::FieldDescriptor* field,
                                   int index, std::string& out) const {
  const auto* r = message.GetReflection();
  const bool one = index < 0;
  using F = pb::FieldDescriptor;
  switch (field->cpp_type()) {
    case F::CPPTYPE_INT32:
      append_int(one ? r->GetInt32(message, field) : r->GetRepeatedInt32(message, field, index), out, false);
      return true;
    case F::CPPTYPE_UINT32:
      append_int(one ? r->GetUInt32(message, field) : r->GetRepeatedUInt32(message, field, index), out, false);
      return true;
    case F::CPPTYPE_INT64:
      append_int(one ? r->GetInt64(message, field) : r->GetRepeatedInt64(message, field, index), out, true);
      return true;
    case F::CPPTYPE_UINT64:
      append_int(one ? r->GetUInt64(message, field) : r->GetRepeatedUInt64(message, field, index), out, true);
      return true;
    case F::CPPTYPE_BOOL:
      out += (one ? r->GetBool(message, field) : r->GetRepeatedBool(message, field, index)) ? "true" : "false";
      return true;
    case F::CPPTYPE_DOUBLE: {
      double v = one ? r->GetDouble(message, field) : r->GetRepeatedDouble(message, field, index);
      if (!append_non_finite(v, out)) append_proto_double(v, out);
      return true;
    }
    case F::CPPTYPE_FLOAT: {
      float v = one ? r->GetFloat(message, field) : r->GetRepeatedFloat(message, field, index);
      if (!append_non_finite(v, out)) append_proto_float(v, out);
      return true;
    }
    case F::CPPTYPE_ENUM: {
      if (field->enum_type()->file()->package() == "google.protobuf") return false;
      int number = one ? r->GetEnumValue(message, field) : r->GetRepeatedEnumValue(message, field, index);
      const auto* named = field->enum_type()->FindValueByNumber(number);
      if (named == nullptr) append_int(number, out, false);
      else if (!append_string(named->name(), out)) return false;
      return true;
    }
    case F::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& text = one ? r->GetStringReference(message, field, &scratch)
                                    : r->GetRepeatedStringReference(message, field, index, &scratch);
      if (field->type() != F::TYPE_BYTES) return append_string(text, out);
      std::string base64;
      pb::Base64Escape(text, &base64);
      out += '"';
      out += base64;
      out += '"';
      return true;
    }
    case F::CPPTYPE_MESSAGE: {
      if (field->type() == F::TYPE_GROUP || well_known(field->message_type())) return false;
      return print_message(one ? r->GetMessage(message, field) : r->GetRepeatedMessage(message, field, index), out);
    }
  }
  return false;
}

}  // namespace goka
