#pragma once

// The one way govjobd runs a child process (Boost.Process v1 stays inside runner.cpp: its headers compile
// slowly). The process executor and the command probes both run their children through it.

#include <functional>
#include <memory>

#include "process/result.hpp"
#include "process/spec.hpp"

namespace boost::asio {
class io_context;
}

namespace govjobd::process {

class ChildReaper;
class Run;  // runner.cpp

// A running child, as seen by whoever started it.
class Handle {
 public:
  Handle() = default;
  explicit Handle(std::weak_ptr<Run> run) : run_(std::move(run)) {}
  // SIGTERM to its group, SIGKILL after the grace; the result says StopReason::Stopped. Nothing once it ended.
  void stop() const;

 private:
  std::weak_ptr<Run> run_;
};

// Starts `spec` on the loop (call on the loop thread). `done` runs exactly once, on the loop thread, after
// run() has returned, once the child and every process left in its group are gone and reaped, and its
// output is read (or 500 ms after the group is gone when a process outside it still holds a pipe).
Handle run(boost::asio::io_context& io, std::shared_ptr<ChildReaper> reaper, Spec spec,
           std::function<void(Result)> done);

}  // namespace govjobd::process
