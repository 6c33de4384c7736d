#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace govjobd::run {

// The standard Prometheus process metrics (process_cpu_seconds_total, process_resident_memory_bytes,
// process_open_fds, process_max_fds, process_start_time_seconds), read from /proc/self. A figure that
// cannot be read is absent, never 0.
struct ProcessStats {
  std::optional<double> cpu_seconds;
  std::optional<double> resident_bytes;
  std::optional<double> open_fds;
  std::optional<double> max_fds;
  std::optional<double> start_time_seconds;  // since the epoch
};

// The fields of /proc/<pid>/stat that the metrics use, in clock ticks and pages.
struct ProcStat {
  long long utime = 0, stime = 0, starttime = 0, rss_pages = 0;
};

// Parses /proc/<pid>/stat. The command name (field 2) is in parentheses and may itself hold spaces and
// parentheses: the fields are counted after its last ')'. nullopt when the text does not have them.
std::optional<ProcStat> parse_proc_stat(std::string_view text);
// The boot time ("btime N", seconds since the epoch) in /proc/stat's text.
std::optional<long long> parse_boot_time(std::string_view text);

// The allocator the process runs on: "jemalloc <version>" when jemalloc provides malloc (linked, or
// preloaded), else "system malloc". For the starting log line.
std::string allocator_name();

// Reads /proc/self at most once per `max_age` (a burst of scrapes reads it once); the start time once.
// Reading /proc is a few system calls on the loop thread: nothing here waits on a disk or the network.
class ProcessSampler {
 public:
  explicit ProcessSampler(std::chrono::milliseconds max_age = std::chrono::milliseconds(1000)) : max_age_(max_age) {}
  const ProcessStats& sample();

 private:
  std::chrono::milliseconds max_age_;
  std::chrono::steady_clock::time_point read_at_{};
  bool read_ = false;
  ProcessStats stats_;
  std::optional<double> start_time_;
};

}  // namespace govjobd::run
