#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/settings.hpp"

namespace govjobd::log {

// Fields that JSON log lines and journal events carry for the job being worked on (thread-local; the loop is
// one thread). `from` and `to` are set on a line that reports a status transition (PENDING -> RUNNING, ...).
struct JobFields {
  std::string job_id;
  std::string contract_id;
  std::optional<int> step_index;
  std::string step_type;
  std::string from;
  std::string to;
};

class ScopedJob {
 public:
  explicit ScopedJob(JobFields fields);
  ~ScopedJob();
  ScopedJob(const ScopedJob&) = delete;
  ScopedJob& operator=(const ScopedJob&) = delete;

 private:
  std::optional<JobFields> previous_;
};

// This thread's job fields (set by a ScopedJob), or null.
const JobFields* current_job();

// The format actually used: `logging.format`, or when absent "journal" if stderr is the journal
// (JOURNAL_STREAM names its device:inode), else "text".
std::string effective_format(const config::LoggingSettings& settings);

// Installs the daemon's logger in the chosen format and level.
// text:    2026-11-28T16:19:50.123456Z info job ... step 1 RUNNING -> FAILED: ... (stderr)
// journal: each event through sd_journal_sendv with fields (journal_sink.hpp: MESSAGE, PRIORITY,
//          GOVJOBD_JOB_ID, ...); when journald cannot take one, "<6>job ..." on stderr (sd-daemon priority
//          prefix, no timestamp: the journal has its own)
// json:    {"ts":...,"level":"info","msg":...,"worker":...,"job_id":...,"contract_id":...,"step_index":...,
//          "step_type":...,"from":...,"to":...} (stderr)
// Every format writes one event as one line, whatever the message holds (a cancel reason, a step's stderr
// tail, a worker id, a database error: text the job writer or a step controls): text and journal lines
// have their payload passed through escape_line, json lines are escaped by the JSON encoder.
void configure(const config::LoggingSettings& settings, const std::string& worker_id);
void set_level(const std::string& level);

// The CLI commands' logger: "govjobd: error: ..." on stderr, escaped like the daemon's text lines.
void configure_cli();

// `text` safe to write as (part of) one log line: C0 controls and DEL become \n, \r, \t or \xNN, C1
// controls and U+2028/U+2029 (line breaks to some readers) \u0085 etc., and bytes that start no valid
// UTF-8 sequence \xNN (a lone 0x9b is a terminal's CSI). A forged "\n<0>job ..." stays on its line.
std::string escape_line(std::string_view text);

// A field of a log line that a row or a step wrote (a step's type, its target, a contract's status): as it is
// when it is one plain word (letters, digits and _ - . : / @), else as a JSON string, so that its text can
// never read as more of the line ("pay) in 0ms; job 1111... step 0 COMPLETED (noop x" stays one quoted target).
std::string shown(std::string_view text);

}  // namespace govjobd::log
