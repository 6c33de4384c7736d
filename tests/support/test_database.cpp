#include "tests/support/test_database.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <random>
#include <stdexcept>

#include <fmt/format.h>

#include "daemon/store/sql_files.hpp"
#include "daemon/store/store.hpp"

namespace govjobd::testing {

std::string admin_url() {
  const char* url = std::getenv("GOVJOBD_TEST_DATABASE_URL");
  if (!url || !*url)
    throw std::runtime_error("GOVJOBD_TEST_DATABASE_URL is not set: run the tests through scripts/test");
  return url;
}

HeldNotifyQueue::HeldNotifyQueue(const std::string& url) : holder_(url) {
  pqxx::nontransaction(holder_).exec("LISTEN govjobd_test_held");  // a LISTEN takes effect at its commit
  held_ = std::make_unique<pqxx::work>(holder_);
  held_->exec("SELECT 1");
  pqxx::connection sender(url);
  pqxx::work send(sender);
  send.exec("SELECT pg_notify('govjobd_test_held', g::text || repeat('x', 7900)) FROM generate_series(1, 2000) g");
  send.commit();
}

std::string with_database(const std::string& url, const std::string& database) {
  // URI form only ("postgresql://user@host:port/db?params"), which is what scripts/test provides.
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) throw std::runtime_error("GOVJOBD_TEST_DATABASE_URL must be a postgresql:// URI");
  const auto slash = url.find('/', scheme + 3);
  const auto query = url.find('?', scheme + 3);
  const std::string base = url.substr(0, slash == std::string::npos ? query : slash);
  const std::string params = query == std::string::npos ? "" : url.substr(query);
  return base + "/" + database + params;
}

namespace {

// Named after what it holds, so that a changed migration never reuses a stale template.
std::string template_name() {
  std::size_t h = 0;
  for (const auto& m : store::migrations()) h = h * 31 + std::hash<std::string_view>{}(m.sql);
  return fmt::format("govjobd_template_{}_{:x}", store::latest_schema_version(), h & 0xffffffffff);
}

void ensure_template(pqxx::connection& admin) {
  const std::string name = template_name();
  pqxx::nontransaction n(admin);
  n.exec("SELECT pg_advisory_lock(hashtext('govjobd.test_template'))");
  const bool exists = !n.exec_params("SELECT 1 FROM pg_database WHERE datname = $1", name).empty();
  if (!exists) {
    n.exec("CREATE DATABASE " + n.quote_name(name));
    store::Store::connect(with_database(admin_url(), name))->migrate();
  }
  n.exec("SELECT pg_advisory_unlock(hashtext('govjobd.test_template'))");
}

std::string unique_name() {
  static std::atomic<int> counter{0};
  std::random_device rd;
  return fmt::format("govjobd_test_{}_{}_{:x}", ::getpid(), counter++, rd());
}

}  // namespace

TestDatabase::TestDatabase(Kind kind) : name_(unique_name()) {
  pqxx::connection admin(admin_url());
  if (kind == Kind::Migrated) ensure_template(admin);
  pqxx::nontransaction n(admin);
  n.exec("CREATE DATABASE " + n.quote_name(name_) +
         (kind == Kind::Migrated ? " TEMPLATE " + n.quote_name(template_name()) : std::string()));
  url_ = with_database(admin_url(), name_);
}

TestDatabase::~TestDatabase() {
  try {
    conn_.reset();
    pqxx::connection admin(admin_url());
    pqxx::nontransaction n(admin);
    n.exec("DROP DATABASE IF EXISTS " + n.quote_name(name_) + " WITH (FORCE)");
  } catch (...) {
    // The cluster is thrown away after the run; a leftover database is harmless.
  }
}

std::string TestDatabase::login_as(const std::string& suffix, const std::string& group) {
  const std::string role = name_ + "_" + suffix;
  pqxx::nontransaction n(sql());
  n.exec("CREATE ROLE " + n.quote_name(role) + " LOGIN IN ROLE " + n.quote_name(group));
  const auto scheme = url_.find("://");
  const auto at = url_.find('@', scheme);
  return url_.substr(0, scheme + 3) + role + url_.substr(at);
}

pqxx::connection& TestDatabase::sql() {
  if (!conn_) {
    conn_ = std::make_unique<pqxx::connection>(url_);
    // the test's own SQL names govjobd's tables as an operator in psql would with this search_path
    pqxx::nontransaction(*conn_).exec("SET search_path = public, govjobd");
  }
  return *conn_;
}

std::string TestDatabase::scalar(const std::string& query) {
  pqxx::work w(sql());
  const auto r = w.exec(query);
  w.commit();
  return r.empty() || r[0][0].is_null() ? std::string() : r[0][0].as<std::string>();
}

void TestDatabase::exec(const std::string& query) {
  pqxx::work w(sql());
  w.exec(query);
  w.commit();
}

std::string table_fingerprint(TestDatabase& db, const std::string& table, bool with_rows) {
  const std::string t = "'" + table + "'::regclass";
  return db.scalar(
      "SELECT concat_ws(E'\\n', "
      "(SELECT relnamespace::regnamespace || '.' || relname || ' owner ' || pg_get_userbyid(relowner) || ' acl ' || "
      "  coalesce(relacl::text, '-') || ' rls ' || relrowsecurity || ' rules ' || relhasrules || ' options ' || "
      "  coalesce(reloptions::text, '-') FROM pg_class WHERE oid = " + t + "), "
      "(SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod) || ' not null ' || attnotnull || "
      "  ' default ' || coalesce(pg_get_expr(adbin, adrelid), '-') || ' identity ' || attidentity::text || "
      "  ' acl ' || coalesce(attacl::text, '-'), E'\\n' ORDER BY attnum) "
      "  FROM pg_attribute LEFT JOIN pg_attrdef ON adrelid = attrelid AND adnum = attnum "
      "  WHERE attrelid = " + t + " AND attnum > 0), "
      "(SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid), E'\\n' ORDER BY conname) FROM pg_constraint "
      "  WHERE conrelid = " + t + "), "
      "(SELECT string_agg(pg_get_indexdef(indexrelid), E'\\n' ORDER BY pg_get_indexdef(indexrelid)) FROM pg_index "
      "  WHERE indrelid = " + t + "), "
      "(SELECT string_agg(DISTINCT c.relname, E'\\n') FROM pg_depend d JOIN pg_class c ON c.oid = d.objid "
      "  WHERE d.classid = 'pg_class'::regclass AND d.refobjid = " + t + " AND c.relkind = 'S'), "
      "(SELECT string_agg(pg_get_triggerdef(oid) || ' ' || tgenabled::text, E'\\n' ORDER BY tgname) FROM pg_trigger "
      "  WHERE tgrelid = " + t + "), "
      "(SELECT string_agg(polname, E'\\n' ORDER BY polname) FROM pg_policy WHERE polrelid = " + t + ")" +
      (with_rows ? ", (SELECT string_agg(r::text, E'\\n' ORDER BY r::text) FROM " + table + " r)" : std::string()) + ")");
}

}  // namespace govjobd::testing
