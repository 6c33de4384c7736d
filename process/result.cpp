#include "process/result.hpp"

#include <string.h>

#include <fmt/format.h>

namespace govjobd::process {

namespace {

constexpr std::size_t kErrorTailBytes = 512;

}  // namespace

std::string exit_failure(const Result& result) {
  if (result.spawn_error || result.exit_code == 0) return {};
  const std::string tail = tail_of(sanitize_output(result.err.kept()), kErrorTailBytes);
  const std::string with_tail = tail.empty() ? std::string() : ": " + tail;
  if (result.exit_code) return fmt::format("exit code {}{}", *result.exit_code, with_tail);
  return fmt::format("killed by {}{}", result.signal ? signal_name(*result.signal) : "a signal", with_tail);
}

std::string signal_name(int sig) {
  const char* name = ::sigabbrev_np(sig);
  return name ? fmt::format("SIG{}", name) : fmt::format("signal {}", sig);
}

}  // namespace govjobd::process
