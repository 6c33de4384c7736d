#pragma once

// Private to daemon/store: a result field as a plain value, NULL as none (or as the caller's default); a
// list parameter as text.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <pqxx/pqxx>

#include "daemon/model/timestamp.hpp"

namespace govjobd::store::detail {

template <class T>
std::optional<T> or_null(const pqxx::field& f) {
  return f.is_null() ? std::nullopt : std::optional<T>(f.as<T>());
}

template <class T>
T or_default(const pqxx::field& f, T fallback = T{}) {
  return f.is_null() ? fallback : f.as<T>();
}

inline std::optional<std::string> text_or_null(const pqxx::field& f) { return or_null<std::string>(f); }

// A `timestamp` column, as PostgreSQL writes it with DateStyle ISO (set on every connection).
inline std::optional<model::Timestamp> time_or_null(const pqxx::field& f) {
  return f.is_null() ? std::nullopt : model::parse_timestamp(f.c_str());
}

// A time the writer sets that bounds a job (timeout_at, its contract's window), as model::parse_bound reads
// it: PostgreSQL's infinity and years past 9999 or BC as the last or first instant, never as none. Other
// text cannot come with DateStyle ISO (set on every connection); it would read as the first instant.
inline std::optional<model::Timestamp> bound_or_null(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return model::parse_bound(f.c_str()).value_or(model::first_instant());
}

// A text[] column or list read as JSON (to_jsonb(...)::text): its strings (JSON nulls in it left out); none
// when NULL, JSON null, or text that does not parse.
inline std::optional<std::vector<std::string>> texts_or_null(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  const auto array = nlohmann::json::parse(f.c_str(), nullptr, false);
  if (!array.is_array()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& item : array)
    if (item.is_string()) out.push_back(item.get<std::string>());
  return out;
}

// A list of strings as a JSON array (the queries read text[] parameters from JSON: any text is safe).
inline std::string json_list(const std::vector<std::string>& items) {
  return nlohmann::json(items).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace govjobd::store::detail
