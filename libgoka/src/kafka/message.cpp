#include "kafka/message.hpp"

namespace goka::kafka {

namespace {

// Sets field to the bytes at data (null: no value), reusing its storage.
void assign(std::optional<std::string>& field, const void* data, size_t size) {
  if (data == nullptr) {
    field.reset();
  } else if (field) {
    field->assign(static_cast<const char*>(data), size);
  } else {
    field.emplace(static_cast<const char*>(data), size);
  }
}

}  // namespace

void to_record(const rd_kafka_message_t& msg, Record& record, bool headers) {
  record.partition = msg.partition;
  record.offset = msg.offset;
  rd_kafka_timestamp_type_t ts_type;
  record.timestamp = rd_kafka_message_timestamp(&msg, &ts_type);
  assign(record.key, msg.key, msg.key_len);
  assign(record.value, msg.payload, msg.len);
  record.headers.clear();
  if (!headers) return;
  rd_kafka_headers_t* hdrs = nullptr;
  // rd_kafka_message_headers() takes a non-const message but does not change it.
  auto* mutable_msg = const_cast<rd_kafka_message_t*>(&msg);
  if (rd_kafka_message_headers(mutable_msg, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
  const char* name;
  const void* value;
  size_t size;
  for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) ==
                     RD_KAFKA_RESP_ERR_NO_ERROR;
       ++i) {
    record.headers.emplace_back(
        name, value ? std::string(static_cast<const char*>(value), size) : std::string());
  }
}

}  // namespace goka::kafka
