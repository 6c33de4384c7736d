#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "process/output_text.hpp"

namespace govjobd::process {

// Why we ended a child that had not exited by itself.
enum class StopReason { None, Deadline, Stopped };

// How one child ended: it could not start (spawn_error), or it ran and exited or was killed.
struct Result {
  // "spawn failed: <why>" when nothing ran: "executable 'x' not found in PATH", "cannot enter workdir ...",
  // "too many open files", ...
  std::optional<std::string> spawn_error;
  // The spawn failed because descriptors, processes or memory ran out (EMFILE, ENFILE, EAGAIN, ENOMEM): the
  // next one may succeed.
  bool resource_shortage = false;
  std::optional<int> exit_code;  // when it exited
  std::optional<int> signal;     // when a signal killed it
  StopReason stopped_by = StopReason::None;
  bool killed = false;  // SIGKILL went to the group after kill_grace
  BoundedCapture out{0}, err{0};
  std::chrono::milliseconds duration{0};
};

// "exit code 3: <tail of stderr>" or "killed by SIGTERM: <tail>" for a child that ran and did not exit 0;
// empty after exit 0.
std::string exit_failure(const Result& result);

// "SIGTERM", or "signal 77" for one without a name.
std::string signal_name(int sig);

}  // namespace govjobd::process
