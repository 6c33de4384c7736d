#pragma once

#include <algorithm>
#include <chrono>

namespace govjobd::run {

// How many jobs the claimer may take while spawns fail for lack of resources (descriptors, processes,
// memory): no more than were running when the shortage showed, plus one probe at a time, the next probe
// after a pause that doubles while probes fail (250 ms to 5 s). A probe that starts raises the cap to what
// runs and lets the next probe go at once; the cap back at the concurrency ends the shortage. So queued
// jobs wait in the database instead of failing in bulk, and at most one fails per pause.
class ClaimThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kMinPause{250};
  static constexpr std::chrono::milliseconds kMaxPause{5000};

  bool active() const { return active_; }
  int cap() const { return cap_; }
  Clock::time_point next_probe() const { return probe_at_; }

  // A step failed to start for lack of resources while `executing` jobs (not counting it) run. True when
  // this begins a shortage.
  bool on_shortage(int executing, Clock::time_point now) {
    const bool began = !active_;
    cap_ = began ? std::max(1, executing) : std::max(1, std::min(cap_, executing));
    if (began) pause_ = kMinPause;
    active_ = true;
    probe_at_ = now + pause_;
    pause_ = std::min(pause_ * 2, kMaxPause);
    return began;
  }

  // A step's process started while `executing` jobs run. True when this ends the shortage.
  bool on_spawned(int executing, int concurrency, Clock::time_point now) {
    if (!active_ || executing <= cap_) return false;
    cap_ = executing;
    pause_ = std::max(kMinPause, pause_ / 2);
    probe_at_ = now;
    if (cap_ < concurrency) return false;
    active_ = false;
    return true;
  }

  // Of `free` slots, how many may be claimed now.
  int allowed(int free, int executing, Clock::time_point now) const {
    if (!active_) return free;
    const int room = cap_ - executing + (now >= probe_at_ ? 1 : 0);
    return std::clamp(room, 0, std::max(free, 0));
  }

 private:
  bool active_ = false;
  int cap_ = 0;
  std::chrono::milliseconds pause_ = kMinPause;
  Clock::time_point probe_at_{};
};

}  // namespace govjobd::run
