#include "cli/codec_option.hpp"

#include "cli/value_codec.hpp"
#include "goka/error.hpp"

namespace goka::cli {

namespace {

// "{json,string,int64,bytes}": the form generated completions read choices from.
std::string choices() {
  std::string out = "{";
  for (const auto name : ValueCodec::all_names()) {
    if (out.size() > 1) out += ',';
    out += name;
  }
  return out + '}';
}

}  // namespace

CLI::Option* add_codec_option(CLI::App* sub, ValueCodec& codec, const std::string& flag,
                              const std::string& description) {
  CLI::Validator valid(
      [](std::string& text) -> std::string {
        try {
          (void)ValueCodec::from_name(text);
        } catch (const Error& e) {
          return e.message();
        }
        return {};
      },
      choices());
  return sub
      ->add_option_function<std::string>(
          flag, [&codec](const std::string& name) { codec = ValueCodec::from_name(name); },
          description)
      ->check(valid)
      ->default_str(codec.name())
      ->type_name("TEXT");
}

}  // namespace goka::cli
