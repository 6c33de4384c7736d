#pragma once

// Who claims a new job (docs/fleet.md, "Who claims a new job"). A statement that inserts one PENDING job
// names it in its NOTIFY (migration 0012). Every daemon ranks the live workers for that job by rendezvous
// hashing, the same order on every host: the first claims it at once, the second is its backup (it asks at
// its next heartbeat whether the job is still PENDING, and claims then), the others do nothing. A daemon that
// cannot take the job (no free slot, not its route, held, BLOCKED here) passes the wake to the next rank; after
// kRanks daemons passed, every daemon claims, as for a NOTIFY without a job (a statement of many).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace govjobd::run {

class WakeRanks {
 public:
  static constexpr int kRanks = 2;
  struct Wake {
    std::string job_id;  // a canonical uuid, as PostgreSQL writes it
    int rank = 0;        // the rank whose turn it is
  };
  enum class Act { Claim, Backup, Ignore };

  explicit WakeRanks(std::string self) : self_(std::move(self)) {}

  // "<uuid>" or "<uuid> <rank>"; none for anything else (an empty payload, or a payload that is not ours:
  // anyone may NOTIFY on the channel, and a wake we cannot read wakes us like a statement of many).
  static std::optional<Wake> parse(std::string_view payload);
  static std::string payload(const Wake& wake);

  Act act_on(const Wake& wake) const;
  // The live workers as the last heartbeat read them (this one among them, whatever the read said); true
  // when a worker that was live is gone: jobs ranked to it wait for a claim.
  bool set_live(std::vector<std::string> workers);
  int rank_of(const std::string& job_id) const;  // this daemon's rank for the job among the live workers
  std::size_t live() const { return live_.size(); }

 private:
  std::string self_;
  std::vector<std::string> live_;  // sorted, distinct, self included once a heartbeat ran
};

}  // namespace govjobd::run
