#include "process/child_reaper.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>

namespace govjobd::process {

void ChildReaper::track(pid_t leader, bool running) {
  std::lock_guard lock(mutex_);
  if (running) leaders_.insert(leader);
  else leaders_.erase(leader);
}

int ChildReaper::reap_strays() {
  int reaped = 0;
  for (const int pid : zombie_children(::getpid())) {
    {
      std::lock_guard lock(mutex_);
      if (leaders_.count(pid)) continue;  // Boost.Process reaps it (its on_exit must see the status)
    }
    if (::waitpid(pid, nullptr, WNOHANG) == pid) ++reaped;
  }
  return reaped;
}

void prepare_process_for_children() {
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  ::signal(SIGPIPE, SIG_IGN);
}

namespace {

// A small /proc file, read with plain read(2): the process may be gone by the time it is read (ESRCH),
// which must be a "no", never an exception.
std::optional<std::string> read_proc_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[512];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    ::close(fd);
    if (n < 0) return std::nullopt;
    return out;
  }
}

}  // namespace

std::vector<int> zombie_children(int parent) {
  std::vector<int> out;
  const std::string wanted = std::to_string(parent);
  std::error_code ec;
  std::filesystem::directory_iterator it("/proc", ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const auto stat = read_proc_file("/proc/" + name + "/stat");
    if (!stat) continue;
    const auto close = stat->rfind(')');  // the command name may hold spaces and parentheses
    if (close == std::string::npos || close + 4 >= stat->size()) continue;
    std::istringstream rest(stat->substr(close + 2));
    std::string state, ppid;
    rest >> state >> ppid;
    if (state == "Z" && ppid == wanted) out.push_back(std::stoi(name));
  }
  return out;
}

}  // namespace govjobd::process
