#pragma once

// Private to daemon/store: the connection behind a Store, shared by the files that implement it.

#include <string>

#include <pqxx/pqxx>

#include "daemon/store/store.hpp"

namespace govjobd::store {

struct Store::Impl {
  explicit Impl(const std::string& url);
  pqxx::connection conn;
};

}  // namespace govjobd::store
