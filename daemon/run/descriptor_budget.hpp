#pragma once

#include <optional>
#include <string>

#include "config/settings.hpp"

namespace govjobd::run {

// The open files a daemon with these settings may hold at once, part by part, so that a concurrency the
// RLIMIT_NOFILE limit cannot cover is refused at start instead of failing with EMFILE under load.
struct DescriptorBudget {
  // Measured: a running process step holds the read ends of its stdout and stderr pipes and, until the child
  // has read its JSON document, the write end of its stdin (Boost.Process uses no pidfd; SIGCHLD comes
  // through the loop's one signal pipe). Other kinds hold no more.
  static constexpr int kPerStep = 3;
  static constexpr int kMargin = 32;

  int concurrency = 0;
  int steps = 0;     // concurrency * kPerStep
  int probes = 0;    // health probes in flight (one snapshot at a time)
  int database = 0;  // connections (claims, writes, LISTEN) and the LISTEN socket's duplicate for the loop
  int metrics = 0;   // listener and its connections
  int own = 0;       // stdio, the event loop's epoll, eventfd, timerfd and signal pipe, a spawn's child ends, /proc and config files in use
  int margin = kMargin;

  long long total() const { return static_cast<long long>(steps) + probes + database + metrics + own + margin; }
  // "1000 running steps x 3, health probes 6, ..."
  std::string parts() const;
};

DescriptorBudget descriptor_budget(const config::Settings& settings);

// The refusal, naming the numbers, when `limit` open files cannot cover the budget; nullopt when they can.
std::optional<std::string> descriptor_shortfall(const DescriptorBudget& budget, long long limit);

// Raises the soft RLIMIT_NOFILE to the hard one; false (the shortfall logged, naming the config) when even
// that cannot cover `settings` (daemon/run/daemon.cpp: at start and at each reload).
bool open_files_cover(const config::Settings& settings);

}  // namespace govjobd::run
