#include "tests/support/daemon_process.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

#include "tests/support/step_runner.hpp"

namespace govjobd::testing {

DaemonProcess::DaemonProcess(const std::string& config_path, const std::string& database_url,
                             std::vector<std::string> extra, std::map<std::string, std::string> env,
                             std::vector<std::string> wrapper) {
  log_path_ = (std::filesystem::temp_directory_path() / ("govjobd-daemon-" + unique_marker() + ".log")).string();
  std::vector<std::string> args{GOVJOBD_BINARY, "run", "-c", config_path};
  args.insert(args.end(), extra.begin(), extra.end());
  args.insert(args.begin(), wrapper.begin(), wrapper.end());
  const std::string url_env = "GOVJOBD_DATABASE_URL=" + database_url;
  std::ofstream(log_path_).flush();  // exists before the child opens it
  struct stat st {};
  ::stat(log_path_.c_str(), &st);
  std::vector<std::string> extra_env;
  for (const auto& [k, v] : env)  // "@LOG_STREAM@": the log file's device:inode, as systemd names the journal
    extra_env.push_back(k + "=" + (v == "@LOG_STREAM@" ? std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) : v));
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    const int fd = ::open(log_path_.c_str(), O_WRONLY | O_APPEND);
    for (auto& e : extra_env) ::putenv(e.data());
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::setpgid(0, 0);
    ::putenv(const_cast<char*>(url_env.c_str()));
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
}

DaemonProcess::~DaemonProcess() {
  if (!exited_ && pid_ > 0) {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  std::error_code ec;
  std::filesystem::remove(log_path_, ec);
}

std::string DaemonProcess::log() const {
  std::ifstream in(log_path_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool DaemonProcess::wait_for_log(const std::string& text, std::chrono::milliseconds timeout) const {
  return eventually([&] { return log().find(text) != std::string::npos; }, timeout);
}

void DaemonProcess::signal(int sig) const { ::kill(pid_, sig); }

std::optional<int> DaemonProcess::wait_exit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the poll interval of this wait on a condition
  }
  return std::nullopt;
}

std::string write_daemon_config(const std::string& name, const std::string& executors_yaml,
                                const std::string& worker_yaml, const std::string& health_yaml) {
  const auto path = std::filesystem::temp_directory_path() / ("govjobd-" + unique_marker() + "-" + name + ".yaml");
  // short timings, and jobs on one target side by side (fleet tests turn exclusive_targets on), each unless
  // worker_yaml sets it
  std::string worker = "worker:\n";
  for (const auto& [key, value] : {std::pair{"poll_interval", "500ms"}, {"heartbeat_interval", "300ms"}, {"lease_timeout", "2s"},
                                    {"unroutable_after", "1s"}, {"exclusive_targets", "false"}})
    if (worker_yaml.find(std::string("  ") + key + ":") == std::string::npos) worker += std::string("  ") + key + ": " + value + "\n";
  std::ofstream(path) << worker << worker_yaml << "health:\n  system: {enabled: false}\n"
                      << health_yaml << "executors:\n"
                      << executors_yaml;
  return path.string();
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the poll interval of this wait on a condition
  }
  return condition();
}

}  // namespace govjobd::testing
