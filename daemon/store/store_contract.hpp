#pragma once

// Private to daemon/store: the contract gate's reads (store_contract.cpp).

#include <optional>
#include <string>
#include <string_view>

#include <pqxx/pqxx>

#include "daemon/model/contract.hpp"

namespace govjobd::store {

// What a column of the contracts table must be for the claim to read it: none when `type` (as format_type
// writes it) will do, else what was expected. `key` is the column's key under contract.columns.
std::optional<std::string> contract_type_problem(std::string_view key, const std::string& type);

namespace detail {

// The contract columns of a row of queries/job_claim.sql, from column `first` on.
model::ContractFacts contract_facts_of(const pqxx::row& r, int first, const std::string& table);

// An error of the claim statement itself (class 42: a table, column, type or privilege the contracts lookup
// cannot have), not of a row's data: no job is claimed, and the claim is tried again later. A missing grant
// (42501) may be on another table: Store::contract_table_problems says whether it is the contracts table's.
bool contract_statement_error(const pqxx::sql_error& e);

}  // namespace detail

}  // namespace govjobd::store
