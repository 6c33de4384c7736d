#include "daemon/run/process_stats.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

// jemalloc's control interface, when jemalloc is in the process (weak: null otherwise)
extern "C" int mallctl(const char* name, void* oldp, size_t* oldlenp, void* newp, size_t newlen) __attribute__((weak));

namespace govjobd::run {

namespace {

std::optional<std::string> read_text(const char* path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Entries of /proc/self/fd (the directory's own descriptor included, as Prometheus' clients count).
std::optional<double> open_descriptors() {
  std::error_code ec;
  std::filesystem::directory_iterator it("/proc/self/fd", ec);
  if (ec) return std::nullopt;
  double n = 0;
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) return std::nullopt;
    ++n;
  }
  return n;
}

std::optional<double> descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return std::nullopt;
  return static_cast<double>(limit.rlim_cur);
}

}  // namespace

std::optional<ProcStat> parse_proc_stat(std::string_view text) {
  const auto close = text.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  // after the name: field 3 (state) onwards; utime and stime are fields 14 and 15, starttime 22, rss 24
  std::istringstream rest{std::string(text.substr(close + 1))};
  std::vector<std::string> fields{std::istream_iterator<std::string>(rest), {}};
  if (fields.size() < 22) return std::nullopt;
  const auto field = [&fields](int number) { return std::stoll(fields[static_cast<std::size_t>(number - 3)]); };
  try {
    return ProcStat{field(14), field(15), field(22), field(24)};
  } catch (const std::exception&) {  // not a number, or out of range
    return std::nullopt;
  }
}

std::optional<long long> parse_boot_time(std::string_view text) {
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("btime ", 0) != 0) continue;
    try {
      return std::stoll(line.substr(6));
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

const ProcessStats& ProcessSampler::sample() {
  const auto now = std::chrono::steady_clock::now();
  if (read_ && now - read_at_ < max_age_) return stats_;
  read_ = true;
  read_at_ = now;
  stats_ = ProcessStats{};
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const auto stat_text = read_text("/proc/self/stat");
  const auto stat = stat_text ? parse_proc_stat(*stat_text) : std::nullopt;
  if (stat && ticks > 0) {
    stats_.cpu_seconds = static_cast<double>(stat->utime + stat->stime) / ticks;
    stats_.resident_bytes = static_cast<double>(stat->rss_pages) * static_cast<double>(::sysconf(_SC_PAGESIZE));
    if (!start_time_)
      if (const auto boot = read_text("/proc/stat"); boot)
        if (const auto btime = parse_boot_time(*boot))
          start_time_ = static_cast<double>(*btime) + static_cast<double>(stat->starttime) / ticks;
  }
  stats_.start_time_seconds = start_time_;
  stats_.open_fds = open_descriptors();
  stats_.max_fds = descriptor_limit();
  return stats_;
}

std::string allocator_name() {
  const char* version = nullptr;
  size_t size = sizeof(version);
  if (mallctl != nullptr && mallctl("version", &version, &size, nullptr, 0) == 0 && version != nullptr) {
    return std::string("jemalloc ") + version;
  }
  return "system malloc";
}

}  // namespace govjobd::run
