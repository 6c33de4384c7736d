#pragma once

#include <string_view>

#include "config/settings.hpp"
#include "config/yaml_reader.hpp"

namespace govjobd::config {

// The `contract:` section (the contract gate, docs/contract.md).
void read_contract(MapReader& section, ContractSettings& out);

// A name govjobd accepts for the contracts table, its schema or a column: 1 to 63 bytes (PostgreSQL's
// limit), ASCII letters, digits, '_' and '$', not starting with a digit or '$'. It is always quoted in SQL,
// so upper case is kept as written (the creator's names are lower case).
bool valid_sql_identifier(std::string_view name);

}  // namespace govjobd::config
