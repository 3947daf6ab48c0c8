// Internal to src/store: the constructors of the two backends, called by Database::Open.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "store/database.h"

namespace custodian::store::internal {

// `spec` is the part after "sqlite:": PATH, optionally followed by "?sync=full|normal".
Result<std::unique_ptr<Database>> OpenSqlite(const std::string& spec);
// `url` is postgresql://…, postgres://… or "postgresql:" followed by libpq key=value pairs.
// Our own parameter `pool=N` is removed before libpq sees it.
Result<std::unique_ptr<Database>> OpenPostgres(const std::string& url);

// Shortest text that reads back as exactly `v` ("0.1", "1e+300", "Infinity", "NaN").
std::string FormatDouble(double v);

}  // namespace custodian::store::internal
