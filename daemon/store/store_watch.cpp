// The store's methods for `govjobd jobs watch` (the transitions table read forward) and job id prefixes.
#include <pqxx/pqxx>

#include "daemon/store/pg_errors.hpp"
#include "daemon/store/rows.hpp"
#include "daemon/store/store_impl.hpp"

namespace govjobd::store {

using namespace detail;  // the row readers and translate_errors

std::vector<TransitionRow> Store::transitions_after(long long after_id, const std::optional<std::string>& job_id,
                                                    int limit) {
  return translate_errors([&] {
    pqxx::read_transaction r(impl_->conn);
    std::vector<TransitionRow> out;
    for (const auto& row : r.exec_prepared("job_transitions_after", after_id, job_id, limit))
      out.push_back({row[0].as<long long>(), row[1].c_str(), text_or_null(row[2]), row[3].c_str(),
                     or_null<int>(row[4]), row[5].c_str(), row[6].c_str(), time_or_null(row[7])});
    return out;
  });
}

long long Store::transition_last_id() {
  return translate_errors([&] {
    pqxx::read_transaction r(impl_->conn);
    return r.exec_prepared1("transition_last_id")[0].as<long long>();
  });
}

std::optional<std::string> Store::job_status(const std::string& job_id) {
  return translate_errors([&]() -> std::optional<std::string> {
    pqxx::read_transaction r(impl_->conn);
    const auto rows = r.exec_prepared("job_status", job_id);
    if (rows.empty()) return std::nullopt;
    return text_or_null(rows[0][0]);
  });
}

std::vector<std::string> Store::job_ids_between(const std::string& low, const std::string& high) {
  return translate_errors([&] {
    pqxx::read_transaction r(impl_->conn);
    std::vector<std::string> out;
    for (const auto& row : r.exec_prepared("job_ids_between", low, high)) out.emplace_back(row[0].c_str());
    return out;
  });
}

}  // namespace govjobd::store
