#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

}  // namespace govjobd::store
