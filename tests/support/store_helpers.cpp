#include "tests/support/store_helpers.hpp"

namespace govjobd::testing {

store::JobWrite end_write(const std::string& job_id, const std::string& worker, const std::string& status,
                          const std::string& reason) {
  store::JobWrite w;
  w.job_id = job_id;
  w.worker_id = worker;
  w.terminal_status = status;
  w.status_reason = reason;
  return w;
}

store::JobClaimParams noop_claim(const std::string& worker, int limit) {
  store::JobClaimParams claim;
  claim.worker_id = worker;
  claim.limit = limit;
  claim.step_types = {"noop"};
  return claim;
}

std::vector<store::WriteOutcome> outcomes(const std::vector<store::WriteResult>& results) {
  std::vector<store::WriteOutcome> out;
  for (const auto& r : results) out.push_back(r.outcome);
  return out;
}

}  // namespace govjobd::testing
