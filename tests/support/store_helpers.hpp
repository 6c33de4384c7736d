#pragma once

// What the store tests build again and again: a job's end as the run loop writes it, and the outcomes of a
// batch of writes.

#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "daemon/store/store.hpp"

namespace govjobd::testing {

// A terminal write of `job_id` by `worker`: its status and reason, nothing else set.
store::JobWrite end_write(const std::string& job_id, const std::string& worker, const std::string& status,
                          const std::string& reason);

// A claim by `worker` of at most `limit` noop jobs: exclusive targets on, every target (the defaults).
store::JobClaimParams noop_claim(const std::string& worker, int limit);

// The payloads of the NOTIFYs on `channel` that `listener` has received (it LISTENs from its construction).
struct Notifications : pqxx::notification_receiver {
  using notification_receiver::notification_receiver;
  std::vector<std::string> seen;
  void operator()(const std::string& payload, int) override { seen.push_back(payload); }
};

// The outcome of each write, in the order of the writes.
std::vector<store::WriteOutcome> outcomes(const std::vector<store::WriteResult>& results);

}  // namespace govjobd::testing
