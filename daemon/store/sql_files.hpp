#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/settings.hpp"

namespace govjobd::store {

// The .sql files of daemon/store, embedded at build time (cmake/embed_sql.cmake): (file name, text).
const std::vector<std::pair<std::string_view, std::string_view>>& embedded_sql();

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

// migrations/NNNN_name.sql in version order.
std::vector<Migration> migrations();

// queries/NAME.sql (NAME without ".sql"); throws std::logic_error for a name that was not embedded (a build bug).
std::string_view query(std::string_view name);

// The schema of govjobd's own objects. Every connection runs with the search_path kSearchPath: no schema the
// job writer can create objects in (its functions, operators or temp tables named like ours or like
// built-ins are never used), the built-ins first and pg_temp last; the writer's table is named with its
// schema, as below. Migrations run with kMigrationSearchPath, so that what they create lands in govjobd.
inline constexpr const char* kOwnSchema = "govjobd";
inline constexpr const char* kSearchPath = "pg_catalog, govjobd, pg_temp";
inline constexpr const char* kMigrationSearchPath = "govjobd, pg_catalog, pg_temp";

// The SQL of a query or migration for a jobs table in `schema` (config::valid_schema_name): every bare `governance_jobs` (not part of a
// longer name, not quoted, not already qualified) becomes `schema.governance_jobs`; @jobs_schema@ becomes the
// schema's name and @jobs_schema_literal@ its name as a string literal.
std::string for_jobs_schema(std::string_view sql, std::string_view schema);

// A name put into SQL: double-quoted, as written (config::valid_sql_identifier).
std::string quoted_identifier(std::string_view name);

// The contracts table as the claim names it: contract.table, in `jobs_schema` when not schema-qualified; quoted
// (`"public"."system_contracts"`), or for messages plain (`public.system_contracts`).
std::string contract_table_name(const config::ContractSettings& contract, std::string_view jobs_schema, bool quoted);

// The SQL of a query with the contract gate's names put in (queries/job_claim.sql): @contract_table@ and
// @contract.COLUMN@, quoted, @contract.window_start_at@ and @contract.window_end_at@ (the column as a timestamp,
// infinity past what one holds), and @contract_enabled@ (true or false). With the gate off, @contract_table@
// becomes an empty relation with the same columns: no table is read.
std::string for_contracts(std::string_view sql, const config::ContractSettings& contract, std::string_view jobs_schema);
// queries/job_claim.sql's walk: of the PENDING jobs not parked for their contract's window (a claim of the
// oldest jobs, through their index), or of every PENDING job (a claim of one job by its id); and, with the
// contract gate on, the unparking of jobs whose opening came (queries/job_claim_unpark.sql).
std::string for_claim(std::string_view sql, bool by_id, bool contract_enabled);

}  // namespace govjobd::store
