// ProtoSchema and ProtoCodec: .proto files (proto2 and proto3, imports across
// files, well-known types), descriptor sets made by protoc at build time,
// generated C++ code, the JSON mapping options and every error. The generated
// classes of the same schemas (tests/data/proto) check the bytes.

#include "goka/proto_codec.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "goka/context.hpp"
#include "goka/graph.hpp"
#include "goka/tester.hpp"
#include "google/protobuf/descriptor.pb.h"
#include "legacy.pb.h"
#include "shop/order.pb.h"
#include "tests/temp_dir.hpp"

using goka::Errc;
using goka::ProtoCodec;
using goka::ProtoSchema;
using nlohmann::json;

namespace {

const std::string proto_dir = GOKA_TEST_PROTO_DIR;

std::shared_ptr<const ProtoSchema> shop_from_files() {
  return ProtoSchema::from_proto_files({proto_dir + "/shop/order.proto", proto_dir + "/legacy.proto"},
                                       {proto_dir});
}

// The goka::Error f throws; fails the test when it throws none.
template <class F>
goka::Error error_of(F&& f) {
  try {
    f();
  } catch (const goka::Error& e) {
    return e;
  }
  FAIL("no goka::Error was thrown");
  throw std::logic_error("unreachable");
}

const char* order_json = R"({
  "orderId": "o-1",
  "customerId": "9007199254740993",
  "status": "STATUS_PAID",
  "lines": [{"sku": "apple", "quantity": 3, "unitPrice": {"currency": "EUR", "units": "2"}},
            {"sku": "pear", "quantity": 1}],
  "tags": ["a", "b"],
  "counters": {"views": "7", "clicks": "-2"},
  "total": {"currency": "EUR", "units": "7", "nanos": 500000000},
  "createdAt": "2024-01-02T03:04:05.250Z",
  "extra": {"@type": "type.googleapis.com/shop.common.Money", "currency": "USD", "units": "1"},
  "weightKg": 1.5,
  "signature": "AAEC/w=="
})";

void check_order(const shop::Order& order) {
  CHECK(order.order_id() == "o-1");
  CHECK(order.customer_id() == 9007199254740993LL);
  CHECK(order.status() == shop::common::STATUS_PAID);
  REQUIRE(order.lines_size() == 2);
  CHECK(order.lines(0).sku() == "apple");
  CHECK(order.lines(0).quantity() == 3);
  CHECK(order.lines(0).unit_price().units() == 2);
  CHECK(order.tags_size() == 2);
  CHECK(order.counters().at("views") == 7);
  CHECK(order.counters().at("clicks") == -2);
  CHECK(order.total().nanos() == 500000000);
  CHECK(order.created_at().seconds() == 1704164645);
  CHECK(order.created_at().nanos() == 250000000);
  shop::common::Money extra;
  REQUIRE(order.extra().UnpackTo(&extra));
  CHECK(extra.currency() == "USD");
  CHECK(order.weight_kg() == 1.5);
  CHECK(order.signature() == std::string("\x00\x01\x02\xff", 4));
}

}  // namespace

TEST_CASE("proto codec: .proto files with imports encode what generated code reads",
          "[proto]") {
  ProtoCodec codec(shop_from_files(), "shop.Order");
  CHECK(codec.message_name() == "shop.Order");
  std::string bytes = codec.encode(order_json);
  shop::Order order;
  REQUIRE(order.ParseFromString(bytes));
  check_order(order);
}

TEST_CASE("proto codec: decodes to proto3's canonical JSON", "[proto]") {
  ProtoCodec codec(shop_from_files(), "shop.Order");
  json decoded = json::parse(codec.decode(codec.encode(order_json)));
  CHECK(decoded == json::parse(order_json));  // int64 as strings, enums by name, Any, Timestamp
  std::string text = codec.decode(codec.encode(R"({"orderId":"x"})"));
  CHECK(text == R"({"orderId":"x"})");  // compact; defaults left out
}

TEST_CASE("proto codec: original field names and printed defaults", "[proto]") {
  auto schema = shop_from_files();
  ProtoCodec original(schema, "shop.Order", {.original_names = true});
  std::string bytes = original.encode(R"({"order_id":"o-2","customerId":"5"})");  // both accepted
  CHECK(original.decode(bytes) == R"({"order_id":"o-2","customer_id":"5"})");
  ProtoCodec defaults(schema, "shop.Order", {.print_defaults = true});
  json all = json::parse(defaults.decode(bytes));
  CHECK(all["status"] == "STATUS_UNSPECIFIED");
  CHECK(all["gift"] == false);
  CHECK(all["tags"] == json::array());
  CHECK(all["counters"] == json::object());
  CHECK(all["weightKg"] == 0);
}

TEST_CASE("proto codec: a descriptor set gives the same bytes and JSON as the files",
          "[proto]") {
  auto from_set = ProtoSchema::from_descriptor_sets({GOKA_TEST_PROTO_SET});
  auto from_files = shop_from_files();
  for (const char* name : {"shop.Order", "shop.OrderEvent", "legacy.User"})
    CHECK(from_set->has_message(name));
  CHECK(from_set->message_names() == from_files->message_names());
  ProtoCodec a(from_set, "shop.Order"), b(from_files, "shop.Order");
  std::string bytes = a.encode(order_json);
  CHECK(bytes == b.encode(order_json));
  CHECK(a.decode(bytes) == b.decode(bytes));
  // The same set twice is fine: files of one name must only be identical.
  auto twice = ProtoSchema::from_descriptor_sets({GOKA_TEST_PROTO_SET, GOKA_TEST_PROTO_SET});
  CHECK(twice->has_message("shop.common.Money"));
}

TEST_CASE("proto codec: message names list the schema's types, nested ones too", "[proto]") {
  auto names = shop_from_files()->message_names();
  CHECK(names == std::vector<std::string>{"legacy.Address", "legacy.User", "shop.Order",
                                          "shop.Order.Line", "shop.OrderEvent",
                                          "shop.common.Money"});
}

TEST_CASE("proto codec: proto2 required fields and defaults", "[proto]") {
  ProtoCodec codec(shop_from_files(), "legacy.User");
  std::string bytes = codec.encode(R"({"name":"ada","emails":["a@x"],"visits":"18446744073709551615"})");
  legacy::User user;
  REQUIRE(user.ParseFromString(bytes));
  CHECK(user.name() == "ada");
  CHECK(user.age() == 7);  // the proto2 default
  CHECK(user.visits() == UINT64_MAX);
  CHECK(codec.decode(bytes) == R"({"name":"ada","emails":["a@x"],"visits":"18446744073709551615"})");
  ProtoCodec defaults(shop_from_files(), "legacy.User", {.print_defaults = true});
  json all = json::parse(defaults.decode(bytes));
  CHECK(all["age"] == 7);
  CHECK(all["kind"] == "HUMAN");

  auto missing = error_of([&] { codec.encode(R"({"age":3})"); });
  CHECK(missing.code() == Errc::decode);
  CHECK_THAT(missing.what(), Catch::Contains("name"));
  auto nested = error_of([&] { codec.encode(R"({"name":"x","address":{"street":"s"}})"); });
  CHECK_THAT(nested.what(), Catch::Contains("address") && Catch::Contains("city"));
  legacy::User partial;
  partial.set_age(3);
  auto undecodable = error_of([&] { codec.decode(partial.SerializePartialAsString()); });
  CHECK(undecodable.code() == Errc::decode);
  CHECK_THAT(undecodable.what(), Catch::Contains("name"));
}

TEST_CASE("proto codec: encoding names the unknown or mistyped field", "[proto]") {
  ProtoCodec codec(shop_from_files(), "shop.Order");
  struct Case {
    const char* json;
    const char* names;
  };
  for (auto c : {Case{R"({"orderId":"x","colour":"red"})", "colour"},
                 Case{R"({"customerId":"twelve"})", "customer_id"},  // libprotobuf names it so
                 Case{R"({"customerId":1.5})", "customer_id"},
                 Case{R"({"status":"STATUS_LOST"})", "status"},
                 Case{R"({"lines":[{"sku":"a","quantity":"many"}]})", "quantity"},
                 Case{R"({"lines":[{"sku":"a","size":1}]})", "size"},
                 Case{R"({"gift":1})", "gift"},
                 Case{R"({"counters":{"a":"x"}})", "counters"},
                 Case{R"({"createdAt":"yesterday"})", "created_at"},
                 Case{R"({"extra":{"@type":"type.googleapis.com/no.Such"}})", "no.Such"}}) {
    INFO(c.json);
    auto e = error_of([&] { codec.encode(c.json); });
    CHECK(e.code() == Errc::decode);
    CHECK_THAT(e.what(), Catch::Contains(c.names));
  }
  for (const char* bad : {R"({"orderId":)", "[1,2]", "42", ""}) {
    INFO(bad);
    CHECK(error_of([&] { codec.encode(bad); }).code() == Errc::decode);
  }
}

TEST_CASE("proto codec: bytes that are not the message are a decode error", "[proto]") {
  ProtoCodec codec(shop_from_files(), "shop.Order");
  for (std::string bad : {std::string("\xff\xff\xff"), std::string("\x0a\x05" "ab"),  // truncated
                          std::string("{\"orderId\":1}"), std::string("\x08", 1),
                          std::string("\x0a\x02\xff\xfe")}) {  // a string that is not UTF-8
    INFO(bad);
    auto e = error_of([&] { codec.decode(bad); });
    CHECK(e.code() == Errc::decode);
    CHECK_THAT(e.what(), Catch::Contains("shop.Order"));
  }
  CHECK(codec.decode("") == "{}");  // the empty message
  // A field twice on the wire (messages concatenated): the last one wins.
  CHECK(codec.decode(codec.encode(R"({"orderId":"a"})") + codec.encode(R"({"orderId":"b"})")) ==
        R"({"orderId":"b"})");
}

TEST_CASE("proto codec: an unknown message lists the names the schema defines", "[proto]") {
  auto e = error_of([] { ProtoCodec(shop_from_files(), "shop.Ordr"); });
  CHECK(e.code() == Errc::not_found);
  CHECK_THAT(e.what(), Catch::Contains("shop.Ordr") && Catch::Contains("shop.Order, shop.Order.Line") &&
                           Catch::Contains("legacy.User"));
}

TEST_CASE("proto codec: schema loading errors", "[proto]") {
  goka::test::TempDir dir;
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir.path() / name) << text;
    return (dir.path() / name).string();
  };
  auto missing = error_of([] { ProtoSchema::from_proto_files({"/nonexistent/x.proto"}); });
  CHECK(missing.code() == Errc::not_found);
  CHECK_THAT(missing.what(), Catch::Contains("/nonexistent/x.proto"));

  std::string broken = write("broken.proto", "syntax = \"proto3\";\nmessage A {\n  int32 a = ;\n}\n");
  auto syntax = error_of([&] { ProtoSchema::from_proto_files({broken}); });
  CHECK(syntax.code() == Errc::config);
  CHECK_THAT(syntax.what(), Catch::Contains("broken.proto:3:"));

  std::string importer = write("importer.proto",
                               "syntax = \"proto3\";\nimport \"shop/common.proto\";\n"
                               "message B { shop.common.Money m = 1; }\n");
  auto no_import = error_of([&] { ProtoSchema::from_proto_files({importer}); });
  CHECK(no_import.code() == Errc::config);
  CHECK_THAT(no_import.what(), Catch::Contains("shop/common.proto"));
  // With the import path it loads; its own directory is an import path too.
  auto schema = ProtoSchema::from_proto_files({importer}, {proto_dir});
  CHECK(schema->has_message("B"));
  CHECK(schema->message_names() == std::vector<std::string>{"B", "shop.common.Money"});
  // A name relative to an import path, as in an import statement.
  CHECK(ProtoSchema::from_proto_files({"shop/order.proto"}, {proto_dir})->has_message("shop.Order"));

  auto bad_path = error_of([&] { ProtoSchema::from_proto_files({importer}, {"/nonexistent"}); });
  CHECK(bad_path.code() == Errc::not_found);

  std::string garbage = write("garbage.pb", "not a descriptor set");
  auto bad_set = error_of([&] { ProtoSchema::from_descriptor_sets({garbage}); });
  CHECK(bad_set.code() == Errc::config);
  CHECK_THAT(bad_set.what(), Catch::Contains("garbage.pb"));
  CHECK(error_of([] { ProtoSchema::from_descriptor_sets({"/nonexistent.pb"}); }).code() ==
        Errc::not_found);
}

TEST_CASE("proto codec: a descriptor set without its imports fails naming them", "[proto]") {
  shop::Order order;  // links the generated descriptors
  google::protobuf::FileDescriptorSet set;
  shop::Order::descriptor()->file()->CopyTo(set.add_file());  // without shop/common.proto
  auto e = error_of([&] { ProtoSchema::from_descriptor_set_bytes(set.SerializeAsString(), "x.pb"); });
  CHECK(e.code() == Errc::config);
  CHECK_THAT(e.what(), Catch::Contains("shop/common.proto"));
  // Well-known imports need not be in the set.
  google::protobuf::FileDescriptorSet with_common;
  shop::common::Money::descriptor()->file()->CopyTo(with_common.add_file());
  shop::Order::descriptor()->file()->CopyTo(with_common.add_file());
  auto schema = ProtoSchema::from_descriptor_set_bytes(with_common.SerializeAsString());
  CHECK(ProtoCodec(schema, "shop.Order").decode(ProtoCodec(schema, "shop.Order").encode(order_json)) ==
        ProtoCodec(shop_from_files(), "shop.Order").decode(
            ProtoCodec(shop_from_files(), "shop.Order").encode(order_json)));
}

TEST_CASE("proto codec: the generated pool serves linked generated code", "[proto]") {
  shop::Order order;
  order.set_order_id("g-1");
  order.set_customer_id(-5);
  ProtoCodec codec(ProtoSchema::generated(), "shop.Order");
  CHECK(codec.decode(order.SerializeAsString()) == R"({"orderId":"g-1","customerId":"-5"})");
  auto e = error_of([] { ProtoCodec(ProtoSchema::generated(), "no.Such"); });
  CHECK(e.code() == Errc::not_found);
}

TEST_CASE("proto codec: typed ProtoMessageCodec in a processor callback", "[proto]") {
  using OrderCodec = goka::ProtoMessageCodec<shop::Order>;
  goka::GroupGraph graph(
      "orders", {goka::input("order-lines",
                             [](goka::Context& ctx, const std::optional<std::string>& msg) {
                               shop::Order order = ctx.value_as<OrderCodec>().value_or(shop::Order{});
                               order.set_order_id(std::string(ctx.key()));
                               order.add_tags(*msg);
                               (*order.mutable_counters())["lines"] += 1;
                               ctx.set_value_as<OrderCodec>(order);
                             }),
                 goka::persist()});
  goka::Tester tester(graph);
  tester.consume("order-lines", "o-9", "apple");
  tester.consume("order-lines", "o-9", "pear");
  auto stored = tester.table_value("orders", "o-9");
  REQUIRE(stored);
  shop::Order order = OrderCodec().decode(*stored);
  CHECK(order.tags_size() == 2);
  CHECK(order.counters().at("lines") == 2);
  ProtoCodec json_codec(shop_from_files(), "shop.Order");
  CHECK(json_codec.decode(*stored) ==
        R"({"orderId":"o-9","tags":["apple","pear"],"counters":{"lines":"2"}})");

  CHECK(error_of([] { OrderCodec().decode("\xff\xff"); }).code() == Errc::decode);
  legacy::User incomplete;
  CHECK(error_of([&] { goka::ProtoMessageCodec<legacy::User>().encode(incomplete); }).code() ==
        Errc::decode);
}

TEST_CASE("proto codec: one codec is used by several threads at once", "[proto]") {
  ProtoCodec codec(shop_from_files(), "shop.Order");
  const std::string bytes = codec.encode(order_json);
  const std::string expected = codec.decode(bytes);
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i)
        if (codec.decode(codec.encode(order_json)) != expected) ++failures[t];
    });
  for (auto& thread : threads) thread.join();
  CHECK(failures == std::vector<int>(4, 0));
}
