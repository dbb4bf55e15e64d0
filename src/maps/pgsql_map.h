// pgsql: tables over libpq. The name is a config file ("name = value" lines):
//   hosts = 127.0.0.1:5432   user = ...   password = ...   dbname = ...
//   query = SELECT value FROM aliases WHERE key = '%s'    (%s %u %d %%, values escaped)
//   timeout = 5              (seconds, fractions allowed; connect and each query)
// Several rows are joined with ", " (Postfix). One connection per table, used under a mutex,
// connected lazily and dropped on any error or timeout so the next lookup reconnects.
// Every failure, including a server that accepts and never answers, is a TempFail after at
// most `timeout`. Edge library (links libpq).
#pragma once

#include <memory>
#include <string>

#include "maps/map.h"

namespace estafeta::maps {

Result<std::unique_ptr<Map>> open_pgsql_map(const std::string& config_file);

}  // namespace estafeta::maps
