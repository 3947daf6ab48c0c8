// List importers: official and shared list files -> ImportedList (screen/entity.h).
//
//   ofac-sdn  OFAC legacy CSV: sdn.csv (12 columns, no header, "-0-" = null), plus alt.csv
//             (aliases, 5 columns) and add.csv (addresses/countries, 6 columns) when given;
//             each file is recognised by its column count, so names do not matter. Aliases
//             and nationalities written in sdn.csv's Remarks ("a.k.a. 'BNC'", "nationality
//             Iran") are used too, since alt.csv is often not at hand.
//   bis-json  the BIS Entity List / MEU JSON in ../shared/data/lists ({list_id, extracted,
//             entities:[{name, aliases, country, address, federal_register, notes …}]}).
//   csl-csv   trade.gov Consolidated Screening List, official CSV layout (header row:
//             _id/id, source, entity_number, type, programs, name, title, addresses,
//             …, alt_names, …; multi-valued cells separated by "; ").
//   csl-json  trade.gov CSL JSON ({"results":[{id, source, name, alt_names[], type,
//             addresses[{country …}], programs[] …}]} or a bare array of such objects).
//
// Country names are mapped to ISO 3166-1 alpha-2 (screen/countries.h); an unknown country
// name is a RowIssue of that row, not a failure of the import: the entry is kept without that
// country (a listed party is never dropped over a spelling), the issue is reported in
// ImportedList::issues, and it does not trigger OnRowError::kRefuse. So `issues` holds the
// skipped rows and these kept-row warnings (problem "unknown country … kept without it").
//
// What each format gives (entity.h fields):
//   source_id  ofac-sdn: ent_num (a repeated ent_num is a bad row). csl: _id, else id, else
//              entity_number. bis-json: the first 16 hex digits of SHA-256(name "\n" country),
//              both as published (trimmed). A repeated id (BIS lists three name+country pairs
//              twice) gets "-2", "-3" … in file order, so ids stay unique within the list.
//   schema     OFAC "-0-" org, individual person, vessel, aircraft; CSL type via ParseSchema;
//              BIS has no type: kUnknown.
//   aliases    as published, without blanks, repeats or copies of the name. OFAC: a.k.a./
//              f.k.a./n.k.a. names from Remarks (outer quotes stripped; a name cut off by the
//              legacy format's length limit is left out) plus alt.csv. CSL: alt_names, with
//              the Entity List's "and " before the last alias removed.
//   countries  OFAC: "nationality X", "citizen X", "Nationality of Registration X", Vess_flag,
//              add.csv's Country, and an identifier's issuing country ("Passport A1 (Iran)")
//              when the parenthesis names a country; not places of birth (often former states
//              or provinces). BIS: country. CSL: addresses' countries, nationalities,
//              citizenships, vessel_flag, ids' countries.
//   programs   OFAC Program ("SDGT] [IFSR" -> "SDGT; IFSR"); CSL programs joined "; ", else its
//              federal_register_notice; BIS federal_register, one citation per "; ".
//   address    OFAC add.csv rows ("street, city, country"), CSL addresses, BIS address; several
//              addresses joined with "; ".
//   remarks    OFAC: Title and vessel particulars ("Flag: Iran; …"), then Remarks. CSL: title,
//              remarks. BIS: notes.
// info.version: bis-json "extracted"; csl-json the newest date in "sources_used"; OFAC files
// and the CSL CSV carry no date, so ImportListFiles uses the newest YYYY-MM-DD written in the
// files' names ("ofac_sdn_2024-05-03.csv"), else the newest file's modification date (UTC);
// ImportListTexts leaves it "". info.list_id: "ofac-sdn", "csl", or the BIS file's
// list_id (several BIS files must share it).
// A file from which no entry at all can be imported is InvalidInput naming it (storing it
// would replace the list with nothing). Files over 256 MiB are refused (InvalidInput).
// Thread-safety: free functions without shared state.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "screen/entity.h"

namespace custodian::screen {

enum class OnRowError {
  kSkip,    // report the row in ImportedList::issues and go on
  kRefuse,  // fail the whole import with InvalidInput naming file, line, field, problem
};

struct ImportOptions {
  OnRowError on_error = OnRowError::kSkip;
  // Called now and then with bytes read so far and the total, for a progress bar.
  std::function<void(size_t done_bytes, size_t total_bytes)> progress;
};

// "ofac-sdn", "bis-json", "csl-csv", "csl-json". InvalidInput for another word.
Status CheckFormat(const std::string& format);

// Reads and parses `paths` (one list; for ofac-sdn, sdn.csv and optionally alt.csv/add.csv in
// any order) into one ImportedList. Errors: IoError for an unreadable file, InvalidInput for a
// file that is not the format at all (naming the file and why), or for the first bad row when
// on_error is kRefuse. The result's info.sha256/version/source/format/list_id are filled.
Result<ImportedList> ImportListFiles(const std::string& format,
                                     const std::vector<std::string>& paths,
                                     const ImportOptions& options = {});

// The same from bytes already in memory (file names only label errors); for tests and fuzzing.
struct NamedText {
  std::string name;
  std::string text;
};
Result<ImportedList> ImportListTexts(const std::string& format, const std::vector<NamedText>& files,
                                     const ImportOptions& options = {});

}  // namespace custodian::screen
