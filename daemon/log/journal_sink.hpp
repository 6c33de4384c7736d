#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/log/logging.hpp"

namespace spdlog::sinks {
class sink;
}

namespace govjobd::log {

// Every journal field's value is cut to this many bytes (at a UTF-8 boundary, with a note of what was cut):
// the text of a row or a step (a reason, a step type) must not fill the journal.
inline constexpr std::size_t kJournalFieldCap = 4096;

// The sd-daemon (syslog) priority of an spdlog level (spdlog::level::level_enum as an int): debug 7, info 6,
// warning 4, error 3, critical 2.
int journal_priority(int spdlog_level);

// One event's journal fields, each "NAME=value" and sent as one field (one iovec of sd_journal_sendv): MESSAGE
// (`payload` escaped as a text line is), PRIORITY, SYSLOG_IDENTIFIER=govjobd, GOVJOBD_WORKER, and the job's
// fields that are known (GOVJOBD_JOB_ID, _CONTRACT_ID, _STEP_INDEX, _STEP_TYPE, and _FROM and _TO on a status
// transition). Values are escaped like MESSAGE and bounded: a value holding "\nGOVJOBD_JOB_ID=x" stays
// inside its own field, on one line.
std::vector<std::string> journal_fields(std::string_view payload, int priority, const JobFields* job,
                                        const std::string& worker);

// A sink that sends each event to journald through sd_journal_sendv with those fields. When journald cannot
// take it (not running, its socket gone), the event is written to stderr instead as a "<N>message" line
// through the sink's formatter, so it is never lost.
std::shared_ptr<spdlog::sinks::sink> make_journal_sink(std::string worker_id);

}  // namespace govjobd::log
