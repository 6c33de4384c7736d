#pragma once

#include <optional>
#include <string>
#include <vector>

#include "daemon/model/timestamp.hpp"

namespace govjobd::model {

// What a job's contract row held when the job was claimed with the contract gate on (docs/contract.md):
// the creating system's data, untrusted, bounded by the claim (queries/job_claim.sql).
struct ContractFacts {
  std::string table;  // the contracts table, schema-qualified, for reason texts
  bool found = false;
  bool duplicated = false;  // more than one row holds the job's contract_id: which of them governs is unknown
  std::optional<std::string> status;  // none: NULL; at most 100 characters of it
  // none: NULL, or more than the claim reads (then capabilities_count says how many)
  std::optional<std::vector<std::string>> capabilities;
  std::optional<long long> capabilities_count;  // entries in the column; none: NULL
  std::optional<Timestamp> window_start;        // none: NULL, open on that side
  std::optional<Timestamp> window_end;
};

// The claim reads at most this many affected capabilities, and this many bytes of them as text.
inline constexpr long long kMaxContractCapabilities = 1000;
inline constexpr long long kMaxContractCapabilitiesBytes = 65536;

}  // namespace govjobd::model
