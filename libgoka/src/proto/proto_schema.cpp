// ProtoSchema: descriptor pools from .proto files (libprotobuf's Importer over
// a DiskSourceTree), from descriptor sets, or the generated pool.

#include <fmt/format.h>
#include <google/protobuf/compiler/importer.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/descriptor_database.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/type_resolver_util.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <sstream>
#include <unordered_map>

#include "proto/proto_schema_impl.hpp"

namespace goka {
namespace {

namespace pb = google::protobuf;
namespace fs = std::filesystem;

// Caches what the wrapped resolver makes: libprotobuf's JSON mapping asks for
// every message type (as a google.protobuf.Type) once per conversion.
class CachingTypeResolver final : public pb::util::TypeResolver {
 public:
  explicit CachingTypeResolver(std::unique_ptr<pb::util::TypeResolver> inner)
      : inner_(std::move(inner)) {}

  pb::util::Status ResolveMessageType(const std::string& url, pb::Type* type) override {
    return resolve(messages_, url, type, &pb::util::TypeResolver::ResolveMessageType);
  }
  pb::util::Status ResolveEnumType(const std::string& url, pb::Enum* type) override {
    return resolve(enums_, url, type, &pb::util::TypeResolver::ResolveEnumType);
  }

 private:
  template <class T, class Resolve>
  pb::util::Status resolve(std::unordered_map<std::string, std::unique_ptr<T>>& cache,
                           const std::string& url, T* out, Resolve resolve_inner) {
    {
      std::shared_lock lock(mutex_);
      if (auto it = cache.find(url); it != cache.end()) {
        out->CopyFrom(*it->second);
        return pb::util::Status();
      }
    }
    auto made = std::make_unique<T>();
    auto status = ((*inner_).*resolve_inner)(url, made.get());
    if (!status.ok()) return status;
    out->CopyFrom(*made);
    std::unique_lock lock(mutex_);
    cache.emplace(url, std::move(made));
    return status;
  }

  std::unique_ptr<pb::util::TypeResolver> inner_;
  std::shared_mutex mutex_;
  std::unordered_map<std::string, std::unique_ptr<pb::Type>> messages_;
  std::unordered_map<std::string, std::unique_ptr<pb::Enum>> enums_;
};

// Parse and build errors of .proto files, as "file:line:column: message".
class CollectedErrors final : public pb::compiler::MultiFileErrorCollector {
 public:
  void AddError(const std::string& file, int line, int column, const std::string& message) override {
    if (line < 0)
      lines_.push_back(fmt::format("{}: {}", file, message));
    else
      lines_.push_back(fmt::format("{}:{}:{}: {}", file, line + 1, column + 1, message));
  }
  bool empty() const { return lines_.empty(); }
  std::string text() const { return fmt::format("{}", fmt::join(lines_, "; ")); }

 private:
  std::vector<std::string> lines_;
};

// Build errors of a pool made from descriptor sets.
class PoolErrors final : public pb::DescriptorPool::ErrorCollector {
 public:
  void AddError(const std::string& file, const std::string& element, const pb::Message*,
                ErrorLocation, const std::string& message) override {
    lines_.push_back(element.empty() ? fmt::format("{}: {}", file, message)
                                     : fmt::format("{}: {}: {}", file, element, message));
  }
  std::string text() const { return fmt::format("{}", fmt::join(lines_, "; ")); }

 private:
  std::vector<std::string> lines_;
};

// Files on disk first; the well-known types (google/protobuf/*.proto) from the
// descriptors compiled into libprotobuf when the disk has no copy, so that
// they import without protobuf's .proto files installed.
class SourceTreeWithWellKnownTypes final : public pb::compiler::SourceTree {
 public:
  explicit SourceTreeWithWellKnownTypes(pb::compiler::DiskSourceTree& disk) : disk_(disk) {}

  pb::io::ZeroCopyInputStream* Open(const std::string& name) override {
    if (auto* stream = disk_.Open(name)) return stream;
    const pb::FileDescriptor* known = nullptr;
    if (name.starts_with("google/protobuf/"))
      known = pb::DescriptorPool::generated_pool()->FindFileByName(name);
    if (known == nullptr) return nullptr;
    const std::string& text = sources_.emplace_back(known->DebugString());
    return new pb::io::ArrayInputStream(text.data(), static_cast<int>(text.size()));
  }
  std::string GetLastErrorMessage() override { return disk_.GetLastErrorMessage(); }

 private:
  pb::compiler::DiskSourceTree& disk_;
  std::deque<std::string> sources_;
};

struct ImporterOwner {
  pb::compiler::DiskSourceTree disk;
  SourceTreeWithWellKnownTypes tree{disk};
  CollectedErrors errors;
  pb::compiler::Importer importer{&tree, &errors};
};

// The well-known types compiled into libprotobuf (google/protobuf/*.proto),
// for descriptor sets made without --include_imports; nothing else of the
// generated pool, which holds whatever generated code the program links.
class WellKnownTypes final : public pb::DescriptorDatabase {
 public:
  bool FindFileByName(const std::string& name, pb::FileDescriptorProto* out) override {
    return name.starts_with("google/protobuf/") && generated_.FindFileByName(name, out);
  }
  bool FindFileContainingSymbol(const std::string& symbol, pb::FileDescriptorProto* out) override {
    return symbol.starts_with("google.protobuf.") &&
           generated_.FindFileContainingSymbol(symbol, out);
  }
  bool FindFileContainingExtension(const std::string& type, int number,
                                   pb::FileDescriptorProto* out) override {
    return type.starts_with("google.protobuf.") &&
           generated_.FindFileContainingExtension(type, number, out);
  }

 private:
  pb::DescriptorPoolDatabase generated_{*pb::DescriptorPool::generated_pool()};
};

struct DescriptorSetOwner {
  pb::SimpleDescriptorDatabase sets;
  WellKnownTypes well_known;
  pb::MergedDescriptorDatabase merged{&sets, &well_known};
  PoolErrors errors;
  pb::DescriptorPool pool{&merged, &errors};
};

std::string absolute_path(const std::string& path) {
  std::error_code ec;
  fs::path abs = fs::absolute(path, ec);
  return (ec ? fs::path(path) : abs).lexically_normal().string();
}

// The name of a .proto file in the source tree (its path below an import
// path), mapping its directory as an import path when none contains it.
std::string virtual_name(ImporterOwner& owner, const std::string& file,
                         const std::vector<std::string>& import_paths) {
  if (!fs::is_regular_file(file)) {
    // A name relative to an import path, as in an import statement.
    std::string disk;
    if (owner.disk.VirtualFileToDiskFile(file, &disk)) return file;
    std::string where = import_paths.empty()
                            ? std::string("no import paths given")
                            : fmt::format("import paths: {}", fmt::join(import_paths, ", "));
    throw Error(Errc::not_found, fmt::format("proto file {} not found ({})", file, where));
  }
  const std::string disk_file = absolute_path(file);
  std::string name, shadowing;
  auto result = owner.disk.DiskFileToVirtualFile(disk_file, &name, &shadowing);
  if (result == pb::compiler::DiskSourceTree::NO_MAPPING) {
    owner.disk.MapPath("", fs::path(disk_file).parent_path().string());
    result = owner.disk.DiskFileToVirtualFile(disk_file, &name, &shadowing);
  }
  if (result == pb::compiler::DiskSourceTree::SHADOWED)
    throw Error(Errc::config, fmt::format("proto file {} is shadowed by {}, which has the same "
                                          "name {} under an earlier import path",
                                          file, shadowing, name));
  if (result != pb::compiler::DiskSourceTree::SUCCESS)
    throw Error(Errc::not_found, fmt::format("cannot read proto file {}", file));
  return name;
}

// Every file of files and their imports, each once, dependencies first.
std::vector<const pb::FileDescriptor*> with_imports(
    const std::vector<const pb::FileDescriptor*>& files) {
  std::vector<const pb::FileDescriptor*> out;
  std::set<const pb::FileDescriptor*> seen;
  auto visit = [&](auto& self, const pb::FileDescriptor* file) -> void {
    if (!seen.insert(file).second) return;
    for (int i = 0; i < file->dependency_count(); ++i) self(self, file->dependency(i));
    out.push_back(file);
  };
  for (const auto* file : files) visit(visit, file);
  return out;
}

void add_message_names(const pb::Descriptor* type, std::vector<std::string>& out) {
  if (type->options().map_entry()) return;
  out.push_back(type->full_name());
  for (int i = 0; i < type->nested_type_count(); ++i) add_message_names(type->nested_type(i), out);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(Errc::not_found, fmt::format("cannot read descriptor set {}", path));
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return std::move(bytes).str();
}

// Adds the files of a FileDescriptorSet to owner's database.
void add_descriptor_set(DescriptorSetOwner& owner, std::string_view bytes, std::string_view origin,
                        std::map<std::string, std::string>& added, std::vector<std::string>& names) {
  pb::FileDescriptorSet set;
  if (!set.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    throw Error(Errc::config, fmt::format("{} is not a protobuf descriptor set (protoc "
                                          "--descriptor_set_out output)",
                                          origin));
  for (const auto& file : set.file()) {
    std::string serialized = file.SerializeAsString();
    auto [it, inserted] = added.emplace(file.name(), serialized);
    if (!inserted) {
      if (it->second != serialized)
        throw Error(Errc::config, fmt::format("{}: file {} differs from the one of the same name "
                                              "in an earlier descriptor set",
                                              origin, file.name()));
      continue;
    }
    owner.sets.Add(file);
    names.push_back(file.name());
  }
}

std::shared_ptr<const ProtoSchema> from_sets(
    const std::vector<std::pair<std::string, std::string>>& sets) {
  auto owner = std::make_shared<DescriptorSetOwner>();
  std::map<std::string, std::string> added;
  std::vector<std::string> names;
  for (const auto& [origin, bytes] : sets) add_descriptor_set(*owner, bytes, origin, added, names);
  auto impl = std::make_unique<ProtoSchema::Impl>();
  for (const auto& name : names) {
    const auto* file = owner->pool.FindFileByName(name);
    if (file == nullptr)
      throw Error(Errc::config, fmt::format("invalid descriptor set: {}", owner->errors.text()));
    impl->files.push_back(file);
  }
  impl->files = with_imports(impl->files);
  impl->pool = &owner->pool;
  impl->owner = owner;
  return ProtoSchema::make(std::move(impl));
}

}  // namespace

// ---- ProtoSchema::Impl ---------------------------------------------------------

void ProtoSchema::Impl::finish() {
  if (generated) {
    factory = pb::MessageFactory::generated_factory();
  } else {
    auto dynamic = std::make_unique<pb::DynamicMessageFactory>(pool);
    dynamic->SetDelegateToGeneratedFactory(false);
    factory = dynamic.get();
    own_factory = std::move(dynamic);
  }
  resolver = std::make_unique<CachingTypeResolver>(std::unique_ptr<pb::util::TypeResolver>(
      pb::util::NewTypeResolverForDescriptorPool(std::string(proto_type_url_prefix), pool)));
}

const pb::Descriptor* ProtoSchema::Impl::find(std::string_view full_name) const {
  return pool->FindMessageTypeByName(std::string(full_name));
}

std::string ProtoSchema::Impl::type_url(const pb::Descriptor* type) const {
  return fmt::format("{}/{}", proto_type_url_prefix, type->full_name());
}

// ---- ProtoSchema ---------------------------------------------------------------

ProtoSchema::ProtoSchema(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ProtoSchema::~ProtoSchema() = default;

std::shared_ptr<const ProtoSchema> ProtoSchema::make(std::unique_ptr<Impl> impl) {
  impl->finish();
  return std::shared_ptr<const ProtoSchema>(new ProtoSchema(std::move(impl)));
}

std::shared_ptr<const ProtoSchema> ProtoSchema::from_proto_files(
    const std::vector<std::string>& files, const std::vector<std::string>& import_paths) {
  if (files.empty()) throw Error(Errc::usage, "no .proto files given");
  auto owner = std::make_shared<ImporterOwner>();
  for (const auto& path : import_paths) {
    if (!fs::is_directory(path))
      throw Error(Errc::not_found, fmt::format("import path {} is not a directory", path));
    owner->disk.MapPath("", absolute_path(path));
  }
  std::vector<std::string> names;
  for (const auto& file : files) names.push_back(virtual_name(*owner, file, import_paths));
  auto impl = std::make_unique<Impl>();
  for (const auto& name : names) {
    const auto* file = owner->importer.Import(name);
    if (file == nullptr || !owner->errors.empty()) {
      std::string errors = owner->errors.empty() ? "cannot import" : owner->errors.text();
      throw Error(Errc::config, fmt::format("invalid proto file {}: {}", name, errors));
    }
    impl->files.push_back(file);
  }
  impl->files = with_imports(impl->files);
  impl->pool = owner->importer.pool();
  impl->owner = owner;
  return make(std::move(impl));
}

std::shared_ptr<const ProtoSchema> ProtoSchema::from_descriptor_sets(
    const std::vector<std::string>& paths) {
  if (paths.empty()) throw Error(Errc::usage, "no descriptor sets given");
  std::vector<std::pair<std::string, std::string>> sets;
  for (const auto& path : paths) sets.emplace_back(path, read_file(path));
  return from_sets(sets);
}

std::shared_ptr<const ProtoSchema> ProtoSchema::from_descriptor_set_bytes(std::string_view bytes,
                                                                          std::string_view origin) {
  return from_sets({{std::string(origin), std::string(bytes)}});
}

std::shared_ptr<const ProtoSchema> ProtoSchema::generated() {
  static const std::shared_ptr<const ProtoSchema> schema = [] {
    auto impl = std::make_unique<Impl>();
    impl->pool = pb::DescriptorPool::generated_pool();
    impl->generated = true;
    return make(std::move(impl));
  }();
  return schema;
}

std::vector<std::string> ProtoSchema::message_names() const {
  std::vector<std::string> names;
  for (const auto* file : impl_->files) {
    if (file->name().starts_with("google/protobuf/")) continue;
    for (int i = 0; i < file->message_type_count(); ++i)
      add_message_names(file->message_type(i), names);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

bool ProtoSchema::has_message(std::string_view full_name) const {
  return impl_->find(full_name) != nullptr;
}

}  // namespace goka
