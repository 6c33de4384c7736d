#pragma once

#include <memory>
#include <string>

#include <pqxx/pqxx>

namespace govjobd::testing {

// The admin URL of the PostgreSQL the tests run against (GOVJOBD_TEST_DATABASE_URL, set by scripts/test).
// Throws when unset: a missing database fails the tests, it never skips them.
std::string admin_url();

// A fresh database of its own for one test. Migrated (the default) databases are cloned from a template
// that is migrated once per schema version; an empty one is created plain.
class TestDatabase {
 public:
  enum class Kind { Migrated, Empty };
  explicit TestDatabase(Kind kind = Kind::Migrated);
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& name() const { return name_; }
  const std::string& url() const { return url_; }

  // A connection for the test's own SQL (lazily opened, kept).
  pqxx::connection& sql();
  // Runs SQL in its own transaction and returns the first column of the first row ("" when none or NULL).
  std::string scalar(const std::string& query);
  void exec(const std::string& query);
  // A login role of its own for this test, member of `group` (govjobd_daemon, govjobd_writer); the URL of
  // this database as that role. Roles are the cluster's: named after the database, left to the cluster.
  std::string login_as(const std::string& suffix, const std::string& group);
  // Drops the test's own connection (after a server restart); the next call opens a new one.
  void reset_connection() { conn_.reset(); }

 private:
  std::string name_;
  std::string url_;
  std::unique_ptr<pqxx::connection> conn_;
};

// Everything a migration could change about a table (qualified name): its schema, owner, privileges and
// options, its columns, constraints, indexes, sequences, triggers and policies, and (with_rows) its rows.
std::string table_fingerprint(TestDatabase& db, const std::string& table, bool with_rows = true);

// url with its database name replaced.
std::string with_database(const std::string& url, const std::string& database);

// A session that LISTENs and stays in a transaction: it reads no notification, so PostgreSQL's NOTIFY queue
// (the whole cluster's, 8 GB) keeps every one sent after it. 2,000 notifications of 8 kB are sent after it:
// 16 MB, about 0.2 % of the queue. Released with it.
class HeldNotifyQueue {
 public:
  explicit HeldNotifyQueue(const std::string& url);

 private:
  pqxx::connection holder_;
  std::unique_ptr<pqxx::work> held_;
};

}  // namespace govjobd::testing
