// Store::migrate and the schema version checks: forward-only numbered migrations, each in its own
// transaction together with its row in govjobd_schema_migrations.
#include <fmt/format.h>

#include "daemon/store/pg_errors.hpp"
#include "daemon/store/sql_files.hpp"
#include "daemon/store/store_impl.hpp"
#include "govjobd/version.hpp"

namespace govjobd::store {

namespace {

int read_version(pqxx::transaction_base& t) {
  if (!t.exec1(std::string(query("schema_migrations_exists")))[0].as<bool>()) return 0;
  return t.exec1(std::string(query("schema_version")))[0].as<int>();
}

void refuse_newer(int found) {
  if (found > latest_schema_version())
    throw SchemaMismatch(fmt::format(
        "the database schema is at version {}, newer than this govjobd ({}) knows ({}); upgrade govjobd",
        found, kVersion, latest_schema_version()));
}

}  // namespace

int Store::schema_version() {
  return detail::translate_errors([&] {
    pqxx::read_transaction r(impl_->conn);
    return read_version(r);
  });
}

void Store::check_schema_version() {
  const int found = schema_version();
  refuse_newer(found);
  if (found < latest_schema_version())
    throw SchemaMismatch(fmt::format("the database schema is at version {}, this govjobd needs {}: run govjobd migrate",
                                     found, latest_schema_version()));
}

MigrationReport Store::migrate() {
  return detail::translate_errors([&] {
    MigrationReport report;
    {
      pqxx::work w(impl_->conn);
      w.exec(std::string(query("schema_lock")));
      w.exec(impl_->sql(query("schema_migrations_create")));
      report.previous_version = read_version(w);
      w.commit();
    }
    refuse_newer(report.previous_version);
    report.current_version = report.previous_version;
    for (const Migration& m : migrations()) {
      if (m.version <= report.current_version) continue;
      pqxx::work w(impl_->conn);
      w.exec(std::string(query("schema_lock")));
      const int now_at = read_version(w);  // another host may have applied it meanwhile
      refuse_newer(now_at);
      if (now_at >= m.version) {
        report.current_version = now_at;
        continue;
      }
      try {
        w.exec(std::string("SET LOCAL search_path = ") + kMigrationSearchPath);
        w.exec(impl_->sql(m.sql));
      } catch (const pqxx::sql_error& e) {
        throw SchemaMismatch(fmt::format("migration {} failed: {}", m.name, detail::first_line(e.what())));
      }
      w.exec_params(std::string(query("schema_migration_record")), m.version, std::string(m.name),
                    std::string(kVersion));
      w.commit();
      report.current_version = m.version;
      report.applied.emplace_back(m.name);
    }
    return report;
  });
}

}  // namespace govjobd::store
