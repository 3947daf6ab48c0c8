// The screening data model: restricted-party lists and their entities (DESIGN §7).
//
// A list (the BIS Entity List, the MEU list, the OFAC SDN list, the trade.gov Consolidated
// Screening List …) is imported from a file into ListEntity values, stored in the database
// (screen/list_store.h) and indexed in memory (screen/screener.h). Everything here is plain data.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace custodian::screen {

// What kind of party a name belongs to. Lists say it in different words (OFAC "individual",
// CSL "Individual"/"Entity"/"Vessel", the bench cases' "Company"/"LegalEntity" …).
enum class Schema { kUnknown, kOrganization, kPerson, kVessel, kAircraft };

// "unknown", "org", "person", "vessel", "aircraft" (the CLI's --type words).
const char* SchemaName(Schema schema);
// Accepts the names above and the common synonyms, case-insensitively: organization,
// organisation, company, legalentity, entity, individual, … ; "" is kUnknown. InvalidInput
// naming the word otherwise.
Result<Schema> ParseSchema(std::string_view word);

// One listed party as published.
struct ListEntity {
  std::string list_id;    // the list it came from: "bis-entity-list", "bis-meu", "ofac-sdn",
                          // "csl" (the CSL's own sub-list is in `source_list`)
  std::string source_id;  // the list's id for it (OFAC ent_num, CSL id); for lists without
                          // ids, a stable id derived from name + country
  std::string name;       // primary name, exactly as published
  std::vector<std::string> aliases;  // a.k.a./f.k.a./n.k.a. names, as published
  Schema schema = Schema::kUnknown;
  std::vector<std::string> countries;  // ISO 3166-1 alpha-2, upper case, no duplicates
  std::string programs;                // OFAC programs, CSL programs, BIS Federal Register cite
  std::string source_list;             // CSL "source" (e.g. "Entity List (EL) - …"), else ""
  std::string address;                 // free text, may be ""
  std::string remarks;                 // free text, may be ""
};

// Where a list came from. `list_id` + `version` identify an import; importing the same file
// again changes nothing (same sha256), a new version replaces the list's entities.
struct ListInfo {
  std::string list_id;      // as in ListEntity::list_id
  std::string format;       // "ofac-sdn", "bis-json", "csl-csv", "csl-json"
  std::string version;      // the data's date (YYYY-MM-DD) when the file says it, else the
                            // newest file's modification date
  std::string source;       // the file names imported, comma-separated (no directories)
  std::string sha256;       // hex SHA-256 over the files' bytes, in the order given
  int64_t imported_ms = 0;  // set when stored
  int64_t entity_count = 0;
  int64_t name_count = 0;  // primary names + aliases
};

// A malformed row: reported with its line (1-based, in `file`) and never dropped silently.
struct RowIssue {
  std::string file;  // file name as given
  int64_t line = 0;
  std::string field;             // the column/key at fault, e.g. "SDN_Name"
  std::string problem;           // "is empty", "has 9 columns, expected 12" …
  std::string ToString() const;  // "sdn.csv:42: SDN_Name: is empty"
};

struct ImportedList {
  ListInfo info;
  std::vector<ListEntity> entities;
  // Rows skipped (ImportOptions::on_error == kSkip), and warnings about rows kept (an unknown
  // country word: the entity is kept without that country).
  std::vector<RowIssue> issues;
};

}  // namespace custodian::screen
