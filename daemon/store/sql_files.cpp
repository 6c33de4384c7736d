#include "daemon/store/sql_files.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace govjobd::store {

std::vector<Migration> migrations() {
  constexpr std::string_view prefix = "migrations/";
  std::vector<Migration> out;
  for (const auto& [path, sql] : embedded_sql()) {
    if (!path.starts_with(prefix)) continue;
    const std::string_view name = path.substr(prefix.size());
    int version = 0;
    const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), version);
    if (ec != std::errc() || end == name.data() || *end != '_')
      throw std::logic_error("migration file without a numeric prefix: " + std::string(name));
    out.push_back({version, name, sql});
  }
  std::sort(out.begin(), out.end(), [](const Migration& a, const Migration& b) { return a.version < b.version; });
  for (std::size_t i = 0; i < out.size(); ++i)
    if (out[i].version != static_cast<int>(i) + 1)
      throw std::logic_error("migrations must be numbered 1, 2, 3, ... without gaps: " + std::string(out[i].name));
  return out;
}

std::string_view query(std::string_view name) {
  const std::string wanted = "queries/" + std::string(name) + ".sql";
  for (const auto& [path, sql] : embedded_sql())
    if (path == wanted) return sql;
  throw std::logic_error("no embedded query " + std::string(name));
}

}  // namespace govjobd::store
