#include "cli/codec_option.hpp"

#include "cli/proto_options.hpp"
#include "cli/value_codec.hpp"
#include "goka/error.hpp"
#include "goka/properties.hpp"

namespace goka::cli {

namespace {

// "{json,string,int64,bytes,proto:NAME}": the form generated completions read choices from.
std::string choices() {
  std::string out = "{";
  for (const auto name : ValueCodec::all_names()) {
    if (out.size() > 1) out += ',';
    out += name;
  }
  return out + '}';
}

constexpr const char* proto_group = "Protobuf (--codec proto:NAME)";

// A subcommand's protobuf flags (cli/proto_options.hpp). An option group, so
// that a second codec option of the subcommand finds them, and one with a
// parse-complete callback, which CLI11 processes before the subcommand's own
// options: the codec options see the flags wherever they were given.
class ProtoFlags final : public CLI::Option_group {
 public:
  ProtoFlags(std::string name, std::string description, CLI::App* parent)
      : CLI::Option_group(std::move(name), std::move(description), parent) {
    add_proto_options(*this, options);
    parse_complete_callback([] {});
  }
  ProtoOptions options;
};

const ProtoOptions& proto_flags(CLI::App* sub) {
  try {
    if (auto* group = dynamic_cast<ProtoFlags*>(sub->get_option_group(proto_group)))
      return group->options;
  } catch (const CLI::OptionNotFound&) {
  }
  return sub->add_option_group<ProtoFlags>(proto_group)->options;
}

// The -F file with the -X properties on top, as the root app holds them
// (its options are processed before a subcommand's).
Properties configured_properties(const CLI::App* app) {
  while (app->get_parent() != nullptr) app = app->get_parent();
  Properties properties;
  const CLI::Option* file = app->get_option_no_throw("--config");
  if (file != nullptr && file->count() > 0) {
    auto path = file->as<std::string>();
    if (!path.empty()) properties = read_properties_file(path);
  }
  if (const CLI::Option* x = app->get_option_no_throw("--property"))
    for (const auto& property : x->results()) set_property(properties, property);
  return properties;
}

}  // namespace

CLI::Option* add_codec_option(CLI::App* sub, ValueCodec& codec, const std::string& flag,
                              const std::string& description) {
  const ProtoOptions& proto = proto_flags(sub);
  CLI::Validator valid([](std::string& text) { return ValueCodec::check_name(text); }, choices());
  return sub
      ->add_option_function<std::string>(
          flag,
          [&codec, &proto, sub](const std::string& name) {
            codec = name.starts_with("proto:")
                        ? ValueCodec::from_name(
                              name, effective_proto_options(proto, configured_properties(sub)))
                        : ValueCodec::from_name(name);
          },
          description)
      ->check(valid)
      ->default_str(codec.name())
      ->type_name("TEXT");
}

}  // namespace goka::cli
