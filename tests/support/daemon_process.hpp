#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <map>
#include <string>
#include <vector>

namespace govjobd::testing {

// The real govjobd binary running as a daemon (`govjobd run`), its output in a log file.
class DaemonProcess {
 public:
  // env values "@LOG_STREAM@" become the log file's device:inode (a JOURNAL_STREAM for it). `wrapper`: an
  // argv (absolute path first) that execs the daemon's command line given after it, such as setpriv.
  DaemonProcess(const std::string& config_path, const std::string& database_url, std::vector<std::string> extra = {},
                std::map<std::string, std::string> env = {}, std::vector<std::string> wrapper = {});
  const std::string& log_path() const { return log_path_; }
  ~DaemonProcess();  // SIGKILL if still running
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  pid_t pid() const { return pid_; }
  std::string log() const;
  // The last `bytes` of the log (for failure messages).
  std::string log_tail(std::size_t bytes = 3000) const {
    const std::string all = log();
    return all.substr(all.size() > bytes ? all.size() - bytes : 0);
  }
  // Waits until the log contains `text`; false on timeout.
  bool wait_for_log(const std::string& text, std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;
  void signal(int sig) const;
  // The exit code once it exits (-1 when killed by a signal); nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = std::chrono::seconds(60));

 private:
  pid_t pid_ = -1;
  std::string log_path_;
  bool exited_ = false;
};

// worker_yaml lines for a test that loads the machine (many jobs, steps or daemons at once) and asserts how
// its jobs end, not how leases behave. With the tests' 2 s lease, a daemon whose heartbeats have not committed
// for 1.5 s stops its running steps (the lease fence, docs/architecture.md), and a loaded machine stalls that
// long for everyone: seen in CI (the reliability load case), and made at will by SIGSTOPping PostgreSQL for
// 1.8 s. A 10 s lease rides such a stall out.
inline constexpr const char* kLoadedMachineLease = "  lease_timeout: 10s\n  heartbeat_interval: 1s\n";

// Writes a config file for tests: short worker timings (unless worker_yaml sets them), system health off. `worker_yaml` and `health_yaml`
// are lines (indented by two) added under worker: and health:, `executors_yaml` under executors:.
std::string write_daemon_config(const std::string& name, const std::string& executors_yaml,
                                const std::string& worker_yaml = "  concurrency: 8\n", const std::string& health_yaml = "");

// Polls `condition` every 50 ms until true or timeout.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace govjobd::testing
