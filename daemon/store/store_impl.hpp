#pragma once

// Private to daemon/store: the connection behind a Store, shared by the files that implement it.

#include <string>

#include <pqxx/pqxx>

#include "daemon/store/sql_files.hpp"
#include "daemon/store/store.hpp"

namespace govjobd::store {

struct Store::Impl {
  Impl(const std::string& url, std::string jobs_schema, config::ContractSettings contract);
  pqxx::connection conn;
  std::string jobs_schema;  // where the jobs table is (valid_schema_name)
  config::ContractSettings contract;  // the contract gate: the claim reads this table when enabled

  // A query or migration's SQL for this jobs schema.
  std::string sql(std::string_view text) const;
  // The claim statement (queries/job_claim.sql) in `t`; the jobs it claimed added to `out` (store_claim.cpp).
  void claim_in(pqxx::transaction_base& t, const JobClaimParams& p, const std::optional<std::string>& only, ClaimResult& out) const;
  // Holds of jobs a committed claim left PENDING: released at once (another claim waits for none of them).
  void release_partial_holds(const ClaimResult& out);
};

}  // namespace govjobd::store
