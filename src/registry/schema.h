// The registry's schema as versioned migrations (store/migrate.h), the same SQL on SQLite and
// PostgreSQL. Append new migrations; never edit one that has shipped.
#pragma once

#include <vector>

#include "store/migrate.h"

namespace custodian::registry {

const std::vector<store::Migration>& RegistryMigrations();

}  // namespace custodian::registry
