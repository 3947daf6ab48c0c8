// Screening data in the database (SQLite or PostgreSQL, store/database.h).
//
// Tables (ScreenMigration, part of the one versioned schema: registry/schema.cc lists it):
//   screen_lists(list_id PK, format, version, source, sha256, imported_ms, entity_count,
//                name_count)                                 the current import of each list
//   screen_entities(list_id, source_id, name, aliases JSON, schema, countries JSON, programs,
//                   source_list, address, remarks; PK (list_id, source_id))
//   screen_decisions(id, decided_ms, actor, channel, query_id, query_name, query_country,
//                    query_type, class, score, list_id, source_id, entity_name, matched_name,
//                    result JSON, lists JSON, nonce)         every decision, with its reasons
//
// Every write is one transaction and also appends to the transparency log (tlog_pending) in
// that transaction: "screen-list" (list id, version, sha256, counts) and "screen-decision".
// A decision's log entry carries the class, score, the listed entity hit (public data), the
// list versions and the SHA-256 of the full stored record — but not the screened name in
// clear (customers' names are not published; the record in the database opens the
// commitment for an auditor). The record includes 32 random bytes (`nonce`), so a guessed
// name cannot be confirmed against the published hash.
// Thread-safety: functions are as thread-safe as the Database.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "screen/entity.h"
#include "screen/screener.h"
#include "store/database.h"
#include "store/migrate.h"

namespace custodian::screen {

store::Migration ScreenMigration(int version);

struct SaveReport {
  ListInfo info;           // as stored
  bool unchanged = false;  // the same list_id with the same sha256 was already stored
  int64_t replaced = 0;    // entities of the previous version removed
};

// Stores `list` as the current version of its list_id, replacing any earlier version's
// entities, in one transaction (a failure leaves the previous version intact). Importing the
// same bytes again is a no-op (unchanged = true).
Result<SaveReport> SaveList(store::Database& db, const ImportedList& list);

Result<std::vector<ListInfo>> LoadListInfos(store::Database& db);
// Every stored entity, ordered by list_id then source_id.
Result<std::vector<ListEntity>> LoadEntities(store::Database& db);

struct DecisionContext {
  std::string actor;    // who asked: "cli", or the API token's name
  std::string channel;  // "query", "batch", "api"
};

// Records each result (and a log entry per result) in one transaction. Results with a
// non-OK status are not decisions and are skipped. Returns the ids given, in order (0 for a
// skipped result).
Result<std::vector<int64_t>> RecordDecisions(store::Database& db,
                                             const std::vector<ScreenResult>& results,
                                             const std::vector<ListInfo>& lists,
                                             const DecisionContext& context);

}  // namespace custodian::screen
