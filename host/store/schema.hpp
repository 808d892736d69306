// schema.hpp: the SQLite schema and its versioned migrations.
#pragma once

#include "store/sqlite.hpp"

namespace tributary::host {

int latest_schema_version();

// Brings the database to the latest version, one transaction per step; returns the version.
int migrate_schema(sqlite::database& db);

}  // namespace tributary::host
