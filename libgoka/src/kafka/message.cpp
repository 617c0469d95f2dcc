#include "kafka/message.hpp"

namespace goka::kafka {

void to_record(const rd_kafka_message_t& msg, Record& record) {
  record.partition = msg.partition;
  record.offset = msg.offset;
  rd_kafka_timestamp_type_t ts_type;
  record.timestamp = rd_kafka_message_timestamp(&msg, &ts_type);
  record.key.reset();
  record.value.reset();
  record.headers.clear();
  if (msg.key != nullptr) record.key.emplace(static_cast<const char*>(msg.key), msg.key_len);
  if (msg.payload != nullptr) record.value.emplace(static_cast<const char*>(msg.payload), msg.len);
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
