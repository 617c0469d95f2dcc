#pragma once
// The inside of goka::ProtoSchema: libprotobuf's descriptor pool, the message
// factory and the type resolver of its JSON mapping, and what owns them.

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/util/type_resolver.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "goka/proto_codec.hpp"

namespace goka {

// The prefix of the type URLs of protobuf's JSON mapping (Any's "@type").
inline constexpr std::string_view proto_type_url_prefix = "type.googleapis.com";

struct ProtoSchema::Impl {
  // Whatever keeps pool alive (an Importer and its source tree, or the
  // databases behind a pool of descriptor sets); destroyed last.
  std::shared_ptr<void> owner;
  const google::protobuf::DescriptorPool* pool = nullptr;
  google::protobuf::MessageFactory* factory = nullptr;
  std::unique_ptr<google::protobuf::MessageFactory> own_factory;
  std::unique_ptr<google::protobuf::util::TypeResolver> resolver;
  // The files loaded, with their imports (empty for the generated pool).
  std::vector<const google::protobuf::FileDescriptor*> files;
  bool generated = false;

  // Sets factory and resolver for pool. Call once pool is set.
  void finish();
  const google::protobuf::Descriptor* find(std::string_view full_name) const;
  std::string type_url(const google::protobuf::Descriptor* type) const;
};

}  // namespace goka
