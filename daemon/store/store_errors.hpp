#pragma once

#include <stdexcept>
#include <string>

namespace govjobd::store {

// The database cannot be reached, the connection broke, or it rolled the transaction back (deadlock,
// serialization failure): the work can be run again.
class DatabaseUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The database's schema is not the one this govjobd knows (newer, or not migrated yet).
class SchemaMismatch : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The request was refused for what it asked: unknown job, duplicate contract, a rule of the state machine.
class RequestRejected : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace govjobd::store
