#pragma once
// Turning librdkafka's consumed messages into goka::Record.

#include <librdkafka/rdkafka.h>

#include "goka/record.hpp"

namespace goka::kafka {

// Fills record from msg (REQUIRES: msg.err == 0): partition, offset,
// timestamp, key and value (null stays null), headers. Leaves topic alone.
void to_record(const rd_kafka_message_t& msg, Record& record);

}  // namespace goka::kafka
