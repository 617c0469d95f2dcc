// librdkafka property files and -X key=value.

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "goka/error.hpp"
#include "goka/properties.hpp"

namespace fs = std::filesystem;

TEST_CASE("set_property splits at the first '=' and trims") {
  goka::Properties props;
  goka::set_property(props, "sasl.password = a=b ");
  CHECK(props.at("sasl.password") == "a=b");
  CHECK_THROWS_AS(goka::set_property(props, "novalue"), goka::Error);
  CHECK_THROWS_AS(goka::set_property(props, "=x"), goka::Error);
}

TEST_CASE("properties files: comments, blank lines, and the number of a bad line") {
  fs::path path = fs::temp_directory_path() / "goka-props-test.properties";
  {
    std::ofstream out(path);
    out << "# TLS\n\nsecurity.protocol=ssl\n  ssl.ca.location = /etc/ca.pem  \n";
  }
  goka::Properties props = goka::read_properties_file(path);
  CHECK(props.size() == 2);
  CHECK(props.at("ssl.ca.location") == "/etc/ca.pem");
  {
    std::ofstream out(path);
    out << "a=1\nbroken line\n";
  }
  try {
    goka::read_properties_file(path);
    FAIL("accepted a bad line");
  } catch (const goka::Error& e) {
    CHECK(e.code() == goka::Errc::config);
    CHECK(std::string(e.what()).find("line 2") != std::string::npos);
  }
  fs::remove(path);
  try {
    goka::read_properties_file(path);
    FAIL("read a missing file");
  } catch (const goka::Error& e) {
    CHECK(e.code() == goka::Errc::not_found);
  }
}
