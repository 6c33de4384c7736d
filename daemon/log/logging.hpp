#pragma once

#include <optional>
#include <string>

#include "config/settings.hpp"

namespace govjobd::log {

// Fields that JSON log lines carry for the job being worked on (thread-local; the loop is one thread).
struct JobFields {
  std::string job_id;
  std::string contract_id;
  std::optional<int> step_index;
  std::string step_type;
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

// The format actually used: `logging.format`, or when absent "journal" if stderr is the journal
// (JOURNAL_STREAM names its device:inode), else "text".
std::string effective_format(const config::LoggingSettings& settings);

// Installs the daemon's logger (stderr) in the chosen format and level.
// text:    2026-11-28T16:19:50.123456Z info job ... step 1 RUNNING -> FAILED: ...
// journal: <6>job ... (sd-daemon priority prefix, no timestamp: the journal has its own)
// json:    {"ts":...,"level":"info","msg":...,"worker":...,"job_id":...,"contract_id":...,"step_index":...,"step_type":...}
void configure(const config::LoggingSettings& settings, const std::string& worker_id);
void set_level(const std::string& level);

}  // namespace govjobd::log
