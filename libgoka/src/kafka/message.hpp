#pragma once
// Turning librdkafka's consumed messages into goka::Record.

#include <librdkafka/rdkafka.h>

#include "goka/record.hpp"

namespace goka::kafka {

// Fills record from msg (REQUIRES: msg.err == 0): partition, offset,
// timestamp, key and value (null stays null), headers. Leaves topic alone.
// Reuses the storage of record's key and value, so that filling one Record
// again and again allocates nothing for short keys and values. Without
// headers, record.headers is left empty: librdkafka then does not parse
// them (which costs an allocation per record even when there are none).
void to_record(const rd_kafka_message_t& msg, Record& record, bool headers = true);

}  // namespace goka::kafka
