#include "cli/record_format.hpp"

#include <fmt/format.h>

#include <array>
#include <charconv>

#include "goka/error.hpp"

namespace goka::cli {
namespace {

void append_integer(std::string& out, int64_t value) {
  std::array<char, 24> buf;
  auto [ptr, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), value);
  (void)ec;
  out.append(buf.data(), ptr);
}

}  // namespace

RecordFormat::RecordFormat(std::string_view format) {
  std::size_t i = 0;
  while (i < format.size()) {
    const char c = format[i];
    if (c == '\\' && i + 1 < format.size()) {
      switch (format[i + 1]) {
        case 'n':
          add_literal("\n");
          break;
        case 't':
          add_literal("\t");
          break;
        case 'r':
          add_literal("\r");
          break;
        case '\\':
          add_literal("\\");
          break;
        default:
          add_literal(format.substr(i, 2));
      }
      i += 2;
      continue;
    }
    if (c != '%') {
      add_literal(format.substr(i, 1));
      ++i;
      continue;
    }
    if (i + 1 == format.size())
      throw Error(Errc::usage, "invalid --format: a lone '%' at the end (use %% for '%')");
    Field field;
    switch (format[i + 1]) {
      case 'k':
        field = Field::key;
        break;
      case 's':
        field = Field::value;
        break;
      case 'K':
        field = Field::key_size;
        break;
      case 'S':
        field = Field::value_size;
        break;
      case 't':
        field = Field::topic;
        break;
      case 'p':
        field = Field::partition;
        break;
      case 'o':
        field = Field::offset;
        break;
      case 'T':
        field = Field::timestamp;
        break;
      case 'h':
        field = Field::headers;
        break;
      case '%':
        add_literal("%");
        i += 2;
        continue;
      default:
        throw Error(Errc::usage,
                    fmt::format("invalid --format: unknown token %{} (known: %k %s %K %S %t %p "
                                "%o %T %h %%)",
                                format[i + 1]));
    }
    tokens_.push_back(Token{field});
    i += 2;
  }
}

void RecordFormat::add_literal(std::string_view text) {
  // Adjacent literals are merged into one token.
  if (!tokens_.empty() && tokens_.back().field == Field::literal) {
    tokens_.back().length += text.size();
  } else {
    tokens_.push_back(Token{Field::literal, literals_.size(), text.size()});
  }
  literals_.append(text);
}

void RecordFormat::append(std::string& out, const Record& record) const {
  for (const Token& token : tokens_) {
    switch (token.field) {
      case Field::literal:
        out.append(literals_, token.begin, token.length);
        break;
      case Field::key:
        if (record.key) out += *record.key;
        break;
      case Field::value:
        if (record.value) out += *record.value;
        break;
      case Field::key_size:
        append_integer(out, record.key ? int64_t(record.key->size()) : -1);
        break;
      case Field::value_size:
        append_integer(out, record.value ? int64_t(record.value->size()) : -1);
        break;
      case Field::topic:
        out += record.topic;
        break;
      case Field::partition:
        append_integer(out, record.partition);
        break;
      case Field::offset:
        append_integer(out, record.offset);
        break;
      case Field::timestamp:
        append_integer(out, record.timestamp);
        break;
      case Field::headers: {
        bool first = true;
        for (const auto& [name, value] : record.headers) {
          if (!first) out += ',';
          first = false;
          out += name;
          out += '=';
          out += value;
        }
        break;
      }
    }
  }
}

}  // namespace goka::cli
