// custodian screen import | query | batch | eval | ownership | lists — restricted-party
// screening (screen/*.h; docs/screening.md).
//
//   screen import --format ofac-sdn|bis-json|csl-csv|csl-json FILE… [--strict]
//                 [--list-version YYYY-MM-DD]
//     ofac-sdn: every FILE together is one list (sdn.csv, optionally alt.csv and add.csv);
//     other formats: each FILE is a list of its own. Malformed rows are reported on stderr
//     ("FILE:LINE: FIELD: problem") and skipped; --strict refuses the import instead (exit 2,
//     nothing stored). Prints one line per list:
//       "imported|unchanged LIST version VERSION: N entities, M names, K rows skipped"
//   screen query NAME [--country CC] [--type org|person] [--limit N] [--json]
//     The decision (match, review or clear) and each hit with its explanation. Exit 0 for every
//     class: finding a match is an answer, not a failure.
//   screen batch --in CSV --out CSV [--threads N]
//     One output row per input row: id,class,score,matched_name,entity_name,source,list_id,
//     source_id,countries,reason (class "error" with the message in reason for a bad row).
//   screen eval --cases CSV [--threshold T] [--json]
//     Precision, recall and F1 of the name scorer on labelled pairs, overall and per schema.
//   screen ownership --parties CSV --edges CSV [--json]
//     Screens each party, then flags parties restricted by ownership (>= 50 % aggregate held by
//     listed parties) and parties with a controlling parent in a country of concern.
//   screen lists [--json]
//     The lists stored in the database.
//
// Every command that touches the database takes --db (default sqlite:custodian.db); query,
// batch and ownership record each decision (screen/list_store.h RecordDecisions, actor "cli")
// and its transparency-log entry before printing it.
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/progress.h"
#include "core/clock.h"
#include "core/csv.h"
#include "core/file.h"
#include "registry/schema.h"
#include "screen/countries.h"
#include "screen/entity.h"
#include "screen/eval.h"
#include "screen/importers.h"
#include "screen/list_store.h"
#include "screen/ownership.h"
#include "screen/screener.h"
#include "store/database.h"
#include "store/migrate.h"

namespace custodian::cli {
namespace {

using nlohmann::json;
using screen::Decision;
using screen::ListInfo;
using screen::ScreenQuery;
using screen::ScreenResult;

constexpr const char* kDefaultDb = "sqlite:custodian.db";
constexpr size_t kMaxInputBytes = size_t{1} << 30;  // batch and ownership CSVs
constexpr size_t kDecisionsPerTransaction = 5000;

// "0.953"
std::string Score3(double score) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", score);
  return buf;
}

std::string Signed3(double delta) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%+.3f", delta);
  return buf;
}

std::string Join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

// The screener's messages name the query field ("country: unknown country \"XX\""); on the
// command line the same field is a flag, or the NAME argument.
Status AsFlagError(const Status& s) {
  if (s.ok()) return s;
  if (s.message().rfind("name:", 0) == 0)
    return Status::InvalidInput("NAME" + s.message().substr(4));
  return Status::InvalidInput("--" + s.message());
}

// --- the database ----------------------------------------------------------------------------

// Opens the database and brings it to the current schema (the same migrations as `serve`).
Result<std::unique_ptr<store::Database>> OpenDb(const std::string& url) {
  auto db = store::Database::Open(url);
  if (!db.ok()) return db.status();
  auto migrated = store::Migrate(**db, registry::RegistryMigrations());
  if (!migrated.ok()) {
    return migrated.status().WithContext("--db " + store::RedactDatabaseUrl(url));
  }
  return std::move(*db);
}

struct ThresholdFlags {
  double match = screen::Thresholds{}.match;
  double review = screen::Thresholds{}.review;
};

void AddThresholdFlags(CLI::App* command, ThresholdFlags* f) {
  command->add_option("--match", f->match, "Score at or above which a hit is a match")
      ->capture_default_str();
  command
      ->add_option("--review", f->review,
                   "Score at or above which a hit needs review (below: clear)")
      ->capture_default_str();
}

Result<screen::Thresholds> ThresholdsFrom(const ThresholdFlags& f) {
  screen::Thresholds t;
  t.match = f.match;
  t.review = f.review;
  Status s = screen::CheckThresholds(t);
  if (!s.ok()) return Status::InvalidInput("--match/--review: " + s.message());
  return t;
}

// The stored lists, indexed.
struct LoadedScreener {
  std::vector<ListInfo> lists;
  std::unique_ptr<screen::Screener> screener;
};

Result<LoadedScreener> LoadScreener(store::Database& db, const screen::Thresholds& thresholds) {
  LoadedScreener out;
  auto lists = screen::LoadListInfos(db);
  if (!lists.ok()) return lists.status();
  if (lists->empty()) {
    return Status::InvalidInput("--db " + db.redacted_url() +
                                ": no restricted-party lists imported (see custodian screen "
                                "import --help)");
  }
  out.lists = std::move(*lists);
  auto entities = screen::LoadEntities(db);
  if (!entities.ok()) return entities.status();
  screen::ScreenerOptions options;
  options.thresholds = thresholds;
  auto bar = std::make_shared<ProgressBar>("indexing", 0);
  if (bar->enabled()) {
    options.progress = [bar](size_t done, size_t total) { bar->Update(done, total); };
  }
  auto screener = screen::Screener::Build(std::move(*entities), std::move(options));
  bar->Finish();
  if (!screener.ok()) return screener.status();
  out.screener = std::move(*screener);
  return out;
}

// Records decisions in transactions of at most kDecisionsPerTransaction.
Result<std::vector<int64_t>> Record(store::Database& db, const std::vector<ScreenResult>& results,
                                    const std::vector<ListInfo>& lists,
                                    const std::string& channel) {
  std::vector<int64_t> ids;
  ids.reserve(results.size());
  screen::DecisionContext context{"cli", channel};
  for (size_t start = 0; start < results.size(); start += kDecisionsPerTransaction) {
    size_t end = std::min(results.size(), start + kDecisionsPerTransaction);
    std::vector<ScreenResult> chunk(results.begin() + long(start), results.begin() + long(end));
    auto got = screen::RecordDecisions(db, chunk, lists, context);
    if (!got.ok()) return got.status().WithContext("recording decisions");
    ids.insert(ids.end(), got->begin(), got->end());
  }
  return ids;
}

// --- CSV input with a header -----------------------------------------------------------------

// A CSV file's rows after its header, each either fields by column name or a syntax error.
struct CsvRow {
  int64_t line = 0;
  std::map<std::string, std::string> fields;  // by the wanted column names
  std::string error;                          // "" unless the row could not be read
};

// Reads `path` (named by `flag` in errors): the header must name every column in `required`;
// `optional` columns may be absent. Extra columns are ignored; missing trailing cells are "".
Result<std::vector<CsvRow>> ReadCsvWithHeader(const std::string& path, const std::string& flag,
                                              const std::vector<std::string>& required,
                                              const std::vector<std::string>& optional,
                                              std::string* text_out) {
  auto text = ReadFile(path, kMaxInputBytes);
  if (!text.ok()) return text.status().WithContext(flag);
  *text_out = std::move(*text);
  CsvReader reader(*text_out);
  auto header = reader.Next();
  if (!header.ok()) return header.status().WithContext(flag + " " + path);
  std::string wanted = Join(required, ",");
  for (const auto& o : optional) wanted += ",[" + o + "]";
  if (!header->has_value()) {
    return Status::InvalidInput(flag + " " + path + ": empty; expected a header row " + wanted);
  }
  CsvHeader columns((*header)->fields);
  std::map<std::string, size_t> at;
  for (const auto& name : required) {
    auto c = columns.Find(name);
    if (!c) {
      return Status::InvalidInput(flag + " " + path + ":" + std::to_string((*header)->line) +
                                  ": header has no column \"" + name + "\" (expected " + wanted +
                                  ")");
    }
    at[name] = *c;
  }
  for (const auto& name : optional) {
    if (auto c = columns.Find(name)) at[name] = *c;
  }
  std::vector<CsvRow> rows;
  for (;;) {
    auto rec = reader.Next();
    if (!rec.ok()) {
      CsvRow bad;
      bad.line = reader.record_line();
      bad.error = rec.status().message();
      rows.push_back(std::move(bad));
      continue;
    }
    if (!rec->has_value()) break;
    CsvRow row;
    row.line = (*rec)->line;
    for (const auto& [name, column] : at) {
      row.fields[name] = column < (*rec)->fields.size() ? (*rec)->fields[column] : "";
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// --- screen import ---------------------------------------------------------------------------

struct ImportFlags {
  std::string db = kDefaultDb;
  std::string format;
  std::vector<std::string> files;
  std::string list_version;  // overrides the version the importer found (YYYY-MM-DD)
  bool strict = false;
};

bool IsDate(const std::string& s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

std::string BaseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

int RunImport(const ImportFlags& f) {
  if (Status s = screen::CheckFormat(f.format); !s.ok()) return Fail(AsFlagError(s));
  if (!f.list_version.empty() && !IsDate(f.list_version)) {
    return Fail(Status::InvalidInput("--list-version: must be a date YYYY-MM-DD, got \"" +
                                     f.list_version + "\""));
  }
  // ofac-sdn: the files are the parts of one list; other formats: one list per file.
  std::vector<std::vector<std::string>> groups;
  if (f.format == "ofac-sdn") {
    groups.push_back(f.files);
  } else {
    for (const auto& file : f.files) groups.push_back({file});
  }
  // Every file is read and checked before the database is touched.
  std::vector<screen::ImportedList> lists;
  for (const auto& group : groups) {
    screen::ImportOptions options;
    options.on_error = f.strict ? screen::OnRowError::kRefuse : screen::OnRowError::kSkip;
    std::string label = "reading " + BaseName(group.front()) + (group.size() > 1 ? " …" : "");
    auto bar = std::make_shared<ProgressBar>(label, 0);
    if (bar->enabled()) {
      options.progress = [bar](size_t done, size_t total) { bar->Update(done, total); };
    }
    auto imported = screen::ImportListFiles(f.format, group, options);
    bar->Finish();
    if (!imported.ok()) {
      return Fail(f.strict && imported.status().code() == StatusCode::kInvalidInput
                      ? imported.status().WithContext("--strict: import refused")
                      : imported.status());
    }
    for (const auto& issue : imported->issues) {
      std::cerr << "custodian: skipped " << issue.ToString() << "\n";
    }
    if (imported->entities.empty()) {
      return Fail(Status::InvalidInput(Join(group, ", ") + ": no entity could be read (" +
                                       std::to_string(imported->issues.size()) + " rows skipped)"));
    }
    if (!f.list_version.empty()) imported->info.version = f.list_version;
    lists.push_back(std::move(*imported));
  }
  auto db = OpenDb(f.db);
  if (!db.ok()) return Fail(db.status());
  for (const auto& list : lists) {
    auto report = screen::SaveList(**db, list);
    if (!report.ok()) return Fail(report.status().WithContext("storing " + list.info.list_id));
    const ListInfo& info = report->info;
    std::cout << (report->unchanged ? "unchanged " : "imported ") << info.list_id << " version "
              << info.version << ": " << info.entity_count << " entities, " << info.name_count
              << " names, " << list.issues.size() << " rows skipped";
    if (report->replaced > 0) std::cout << " (replaced " << report->replaced << " entities)";
    std::cout << "\n";
  }
  return 0;
}

// --- screen query ----------------------------------------------------------------------------

struct QueryFlags {
  std::string db = kDefaultDb;
  std::string name, country, type;
  int limit = 5;
  bool json = false;
  ThresholdFlags thresholds;
};

std::string AlignmentText(const screen::TokenAlignment& a) {
  std::string rel = a.how == "exact" ? "=" : "~";
  return a.query + rel + a.list + " (" + a.how + " " + Score3(a.similarity) + ", weight " +
         Score3(a.weight) + ")";
}

void PrintHit(std::ostream& out, size_t rank, const screen::Hit& h) {
  out << "  " << rank << ". " << screen::DecisionName(h.decision) << " " << Score3(h.score) << "  "
      << h.entity_name << "\n";
  out << "     matched:     \"" << h.matched_name << "\""
      << (h.matched_alias ? " (alias)" : " (primary name)") << "\n";
  out << "     list:        " << h.list_id;
  if (!h.source_list.empty()) out << " — " << h.source_list;
  out << ", source id " << h.source_id << "\n";
  out << "     type:        " << screen::SchemaName(h.schema) << "\n";
  out << "     countries:   " << (h.countries.empty() ? "-" : Join(h.countries, ", ")) << "\n";
  if (!h.programs.empty()) out << "     programs:    " << h.programs << "\n";
  const auto& e = h.explanation;
  out << "     name score:  " << Score3(e.name_score) << "\n";
  for (const auto& a : e.alignments) out << "       aligned    " << AlignmentText(a) << "\n";
  if (!e.unmatched_query.empty()) {
    out << "       unmatched in the query: " << Join(e.unmatched_query, " ") << "\n";
  }
  if (!e.unmatched_list.empty()) {
    out << "       unmatched in the list name: " << Join(e.unmatched_list, " ") << "\n";
  }
  for (const auto& adj : e.adjustments) {
    out << "       adjusted   " << Signed3(adj.delta) << "  " << adj.reason << "\n";
  }
}

void PrintResult(std::ostream& out, const ScreenResult& r, const screen::Thresholds& t) {
  out << screen::DecisionName(r.decision) << "  score " << Score3(r.score) << "  \"" << r.query.name
      << "\"";
  std::vector<std::string> about;
  if (!r.query.country.empty()) about.push_back("country " + r.query.country);
  if (r.query.schema != screen::Schema::kUnknown) {
    about.push_back(std::string("type ") + screen::SchemaName(r.query.schema));
  }
  if (!about.empty()) out << " (" << Join(about, ", ") << ")";
  out << "\n";
  if (r.hits.empty()) {
    out << "  no listed name scores " << Score3(t.review) << " (the review threshold) or more\n";
    return;
  }
  for (size_t i = 0; i < r.hits.size(); ++i) PrintHit(out, i + 1, r.hits[i]);
}

int RunQuery(const QueryFlags& f) {
  auto thresholds = ThresholdsFrom(f.thresholds);
  if (!thresholds.ok()) return Fail(thresholds.status());
  if (f.limit < 1 || f.limit > 100) {
    return Fail(Status::InvalidInput("--limit: must be in 1..100, got " + std::to_string(f.limit)));
  }
  ScreenQuery q;
  q.name = f.name;
  q.country = f.country;
  q.limit = size_t(f.limit);
  auto schema = screen::ParseSchema(f.type);
  if (!schema.ok()) return Fail(AsFlagError(schema.status()));
  q.schema = *schema;
  auto db = OpenDb(f.db);
  if (!db.ok()) return Fail(db.status());
  auto loaded = LoadScreener(**db, *thresholds);
  if (!loaded.ok()) return Fail(loaded.status());
  ScreenResult r = loaded->screener->Screen(q);
  if (!r.status.ok()) return Fail(AsFlagError(r.status));
  auto ids = Record(**db, {r}, loaded->lists, "query");
  if (!ids.ok()) return Fail(ids.status());
  if (f.json) {
    json j = screen::ResultToJson(r);
    j["decision_id"] = ids->front();
    std::cout << j.dump(2) << "\n";
  } else {
    PrintResult(std::cout, r, *thresholds);
    std::cout << "decision " << ids->front() << " recorded (lists: ";
    std::vector<std::string> lists;
    for (const auto& l : loaded->lists) lists.push_back(l.list_id + " " + l.version);
    std::cout << Join(lists, ", ") << ")\n";
  }
  return 0;
}

// --- screen batch ----------------------------------------------------------------------------

struct BatchFlags {
  std::string db = kDefaultDb;
  std::string in, out;
  int threads = 0;
  ThresholdFlags thresholds;
};

const std::vector<std::string> kBatchColumns = {"id",          "class",  "score",   "matched_name",
                                                "entity_name", "source", "list_id", "source_id",
                                                "countries",   "reason"};

// "alias; huawei=huawei exact; …; country agrees (CN) +0.020": the best hit's explanation on
// one line.
std::string ReasonText(const screen::Hit& h) {
  std::vector<std::string> parts;
  parts.push_back(h.matched_alias ? "alias" : "primary name");
  for (const auto& a : h.explanation.alignments) {
    parts.push_back(a.query + (a.how == "exact" ? "=" : "~") + a.list + " " + a.how);
  }
  if (!h.explanation.unmatched_query.empty()) {
    parts.push_back("unmatched query: " + Join(h.explanation.unmatched_query, " "));
  }
  if (!h.explanation.unmatched_list.empty()) {
    parts.push_back("unmatched list: " + Join(h.explanation.unmatched_list, " "));
  }
  for (const auto& adj : h.explanation.adjustments) {
    parts.push_back(adj.reason + " " + Signed3(adj.delta));
  }
  return Join(parts, "; ");
}

std::string SourceText(const screen::Hit& h) {
  return h.source_list.empty() ? h.list_id : h.list_id + ": " + h.source_list;
}

int RunBatch(const BatchFlags& f) {
  auto thresholds = ThresholdsFrom(f.thresholds);
  if (!thresholds.ok()) return Fail(thresholds.status());
  if (f.threads < 0) return Fail(Status::InvalidInput("--threads: must be 0 (all cores) or more"));
  std::string text;
  auto rows = ReadCsvWithHeader(f.in, "--in", {"id", "name"}, {"country", "type"}, &text);
  if (!rows.ok()) return Fail(rows.status());

  // Each row is a query, or an error of its own (a row that cannot be read, a bad type).
  std::vector<ScreenQuery> queries;
  std::vector<long> query_of(rows->size(), -1);
  std::vector<std::string> row_error(rows->size());
  for (size_t i = 0; i < rows->size(); ++i) {
    const CsvRow& row = (*rows)[i];
    if (!row.error.empty()) {
      row_error[i] = row.error;
      continue;
    }
    ScreenQuery q;
    q.id = row.fields.at("id");
    q.name = row.fields.at("name");
    auto country = row.fields.find("country");
    if (country != row.fields.end()) q.country = Trim(country->second);
    auto type = row.fields.find("type");
    if (type != row.fields.end()) {
      auto schema = screen::ParseSchema(type->second);
      if (!schema.ok()) {
        row_error[i] = "line " + std::to_string(row.line) + ": " + schema.status().message();
        continue;
      }
      q.schema = *schema;
    }
    q.limit = 1;
    query_of[i] = long(queries.size());
    queries.push_back(std::move(q));
  }

  auto db = OpenDb(f.db);
  if (!db.ok()) return Fail(db.status());
  auto loaded = LoadScreener(**db, *thresholds);
  if (!loaded.ok()) return Fail(loaded.status());

  int64_t start_ns = MonotonicNs();
  std::vector<ScreenResult> results;
  {
    ProgressBar bar("screening", queries.size());
    results = loaded->screener->ScreenBatch(queries, size_t(f.threads),
                                            [&bar](size_t done) { bar.Update(done); });
    bar.Finish();
  }
  double seconds = double(MonotonicNs() - start_ns) / 1e9;
  // Recorded before anything is written: no answer leaves without its record.
  auto ids = Record(**db, results, loaded->lists, "batch");
  if (!ids.ok()) return Fail(ids.status());

  std::map<std::string, size_t> counts;
  std::string out = CsvLine(kBatchColumns) + "\n";
  for (size_t i = 0; i < rows->size(); ++i) {
    const CsvRow& row = (*rows)[i];
    std::vector<std::string> cells(kBatchColumns.size());
    if (query_of[i] < 0) {
      cells[0] = row.error.empty() ? row.fields.at("id") : "";
      cells[1] = "error";
      cells[9] = row_error[i];
      ++counts["error"];
      out += CsvLine(cells) + "\n";
      continue;
    }
    const ScreenResult& r = results[size_t(query_of[i])];
    cells[0] = r.query.id;
    if (!r.status.ok()) {
      cells[1] = "error";
      cells[9] = "line " + std::to_string(row.line) + ": " + r.status.message();
      ++counts["error"];
      out += CsvLine(cells) + "\n";
      continue;
    }
    cells[1] = screen::DecisionName(r.decision);
    cells[2] = Score3(r.score);
    ++counts[cells[1]];
    if (!r.hits.empty()) {
      const screen::Hit& h = r.hits.front();
      cells[3] = h.matched_name;
      cells[4] = h.entity_name;
      cells[5] = SourceText(h);
      cells[6] = h.list_id;
      cells[7] = h.source_id;
      cells[8] = Join(h.countries, ";");
      cells[9] = ReasonText(h);
    }
    out += CsvLine(cells) + "\n";
  }
  if (f.out == "-") {
    std::cout << out << std::flush;
  } else if (Status s = WriteFileAtomic(f.out, out, 0644); !s.ok()) {
    return Fail(s.WithContext("--out"));
  }
  char rate[32];
  std::snprintf(rate, sizeof(rate), "%.0f", seconds > 0 ? double(queries.size()) / seconds : 0.0);
  char secs[32];
  std::snprintf(secs, sizeof(secs), "%.2f", seconds);
  std::cerr << "screened " << rows->size() << " rows: " << counts["match"] << " match, "
            << counts["review"] << " review, " << counts["clear"] << " clear, " << counts["error"]
            << " error in " << secs << " s (" << rate << " names/s)\n";
  return 0;
}

// --- screen eval -----------------------------------------------------------------------------

struct EvalFlags {
  std::string cases;
  double threshold = screen::Thresholds{}.match;
  bool json = false;
};

json CountsJson(const screen::EvalCounts& c) {
  auto r = [](double v) { return std::round(v * 10000) / 10000; };
  return {{"precision", r(c.precision())},
          {"recall", r(c.recall())},
          {"f1", r(c.f1())},
          {"tp", c.tp},
          {"fp", c.fp},
          {"fn", c.fn},
          {"tn", c.tn}};
}

int RunEval(const EvalFlags& f) {
  if (!(f.threshold > 0 && f.threshold <= 1)) {
    return Fail(Status::InvalidInput("--threshold: must be in (0, 1]"));
  }
  auto text = ReadFile(f.cases);
  if (!text.ok()) return Fail(text.status().WithContext("--cases"));
  auto report = screen::EvaluateCases(*text, f.threshold);
  if (!report.ok()) return Fail(report.status().WithContext("--cases " + f.cases));
  const screen::EvalCounts& all = report->overall;
  int64_t cases = all.tp + all.fp + all.fn + all.tn;
  if (f.json) {
    json j = CountsJson(all);
    j["threshold"] = report->threshold;
    j["cases"] = cases;
    j["by_schema"] = json::object();
    for (const auto& [schema, counts] : report->by_schema)
      j["by_schema"][schema] = CountsJson(counts);
    j["errors"] = json::array();
    for (const auto& e : report->errors) {
      j["errors"].push_back({{"line", e.line},
                             {"schema", e.schema},
                             {"name1", e.name1},
                             {"name2", e.name2},
                             {"is_match", e.is_match},
                             {"score", std::round(e.score * 1000) / 1000},
                             {"error", e.is_match ? "false negative" : "false positive"}});
    }
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  auto line = [](const std::string& label, const screen::EvalCounts& c) {
    char buf[160];
    std::snprintf(buf, sizeof(buf), "%-14s %6lld %5lld %5lld %5lld %5lld %9.3f %7.3f %7.3f\n",
                  label.c_str(), static_cast<long long>(c.tp + c.fp + c.fn + c.tn),
                  static_cast<long long>(c.tp), static_cast<long long>(c.fp),
                  static_cast<long long>(c.fn), static_cast<long long>(c.tn), c.precision(),
                  c.recall(), c.f1());
    return std::string(buf);
  };
  std::cout << f.cases << ": " << cases << " cases, threshold " << Score3(report->threshold)
            << "\n";
  char head[160];
  std::snprintf(head, sizeof(head), "%-14s %6s %5s %5s %5s %5s %9s %7s %7s\n", "schema", "cases",
                "tp", "fp", "fn", "tn", "precision", "recall", "f1");
  std::cout << head;
  for (const auto& [schema, counts] : report->by_schema) std::cout << line(schema, counts);
  std::cout << line("overall", all);
  std::cout << report->errors.size()
            << " errors (false positives and negatives: --json lists them)\n";
  return 0;
}

// --- screen ownership ------------------------------------------------------------------------

struct OwnershipFlags {
  std::string db = kDefaultDb;
  std::string parties, edges;
  bool json = false;
  ThresholdFlags thresholds;
};

Result<double> ParsePercent(std::string text) {
  text = Trim(text);
  if (!text.empty() && text.back() == '%') text = Trim(text.substr(0, text.size() - 1));
  double v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
    return Status::InvalidInput("percent: must be a number, got \"" + text + "\"");
  }
  return v;
}

int RunOwnership(const OwnershipFlags& f) {
  auto thresholds = ThresholdsFrom(f.thresholds);
  if (!thresholds.ok()) return Fail(thresholds.status());
  std::string parties_text, edges_text;
  auto party_rows =
      ReadCsvWithHeader(f.parties, "--parties", {"id", "name"}, {"country", "type"}, &parties_text);
  if (!party_rows.ok()) return Fail(party_rows.status());
  auto edge_rows =
      ReadCsvWithHeader(f.edges, "--edges", {"owner", "owned", "percent"}, {}, &edges_text);
  if (!edge_rows.ok()) return Fail(edge_rows.status());

  screen::OwnershipGraph graph;
  std::vector<screen::Party> parties;
  for (const CsvRow& row : *party_rows) {
    std::string where = "--parties " + f.parties + ":" + std::to_string(row.line);
    if (!row.error.empty())
      return Fail(Status::InvalidInput("--parties " + f.parties + ": " + row.error));
    screen::Party p;
    p.id = Trim(row.fields.at("id"));
    p.name = row.fields.at("name");
    auto country = row.fields.find("country");
    if (country != row.fields.end() && !Trim(country->second).empty()) {
      p.country = screen::CountryCode(Trim(country->second));
      if (p.country.empty()) {
        return Fail(
            Status::InvalidInput(where + ": country: unknown country \"" + country->second + "\""));
      }
    }
    auto type = row.fields.find("type");
    if (type != row.fields.end()) {
      auto schema = screen::ParseSchema(type->second);
      if (!schema.ok()) return Fail(schema.status().WithContext(where));
      p.schema = *schema;
    }
    if (Status s = graph.AddParty(p); !s.ok()) return Fail(s.WithContext(where));
    parties.push_back(std::move(p));
  }
  for (const CsvRow& row : *edge_rows) {
    std::string where = "--edges " + f.edges + ":" + std::to_string(row.line);
    if (!row.error.empty())
      return Fail(Status::InvalidInput("--edges " + f.edges + ": " + row.error));
    screen::OwnershipEdge e;
    e.owner = Trim(row.fields.at("owner"));
    e.owned = Trim(row.fields.at("owned"));
    auto percent = ParsePercent(row.fields.at("percent"));
    if (!percent.ok()) return Fail(percent.status().WithContext(where));
    e.percent = *percent;
    if (Status s = graph.AddEdge(e); !s.ok()) return Fail(s.WithContext(where));
  }

  auto db = OpenDb(f.db);
  if (!db.ok()) return Fail(db.status());
  auto loaded = LoadScreener(**db, *thresholds);
  if (!loaded.ok()) return Fail(loaded.status());
  std::vector<ScreenQuery> queries;
  for (const auto& p : parties) {
    ScreenQuery q;
    q.id = p.id;
    q.name = p.name;
    q.country = p.country;
    q.schema = p.schema;
    q.limit = 1;
    queries.push_back(std::move(q));
  }
  std::vector<ScreenResult> results = loaded->screener->ScreenBatch(queries);
  auto ids = Record(**db, results, loaded->lists, "ownership");
  if (!ids.ok()) return Fail(ids.status());
  std::set<std::string> listed;
  for (const auto& r : results) {
    if (r.status.ok() && r.decision == Decision::kMatch) listed.insert(r.query.id);
  }
  const auto& concern = screen::DefaultCountriesOfConcern();
  std::vector<screen::OwnershipFlag> flags = graph.Analyze(listed, concern);

  if (f.json) {
    json j_parties = json::array();
    for (size_t i = 0; i < parties.size(); ++i) {
      const auto& p = parties[i];
      const ScreenResult& r = results[i];
      json jp = {{"id", p.id},
                 {"name", p.name},
                 {"country", p.country},
                 {"type", screen::SchemaName(p.schema)},
                 {"listed", listed.count(p.id) != 0}};
      if (!r.status.ok()) {
        jp["class"] = "error";
        jp["error"] = r.status.message();
      } else {
        jp["class"] = screen::DecisionName(r.decision);
        jp["score"] = std::round(r.score * 1000) / 1000;
        jp["decision_id"] = (*ids)[i];
        if (r.hits.empty()) {
          jp["hit"] = nullptr;
        } else {
          const auto& h = r.hits.front();
          jp["hit"] = {{"list", h.list_id},
                       {"source_id", h.source_id},
                       {"entity_name", h.entity_name},
                       {"matched_name", h.matched_name}};
        }
      }
      j_parties.push_back(std::move(jp));
    }
    json j_flags = json::array();
    for (const auto& fl : flags) {
      json jf = {
          {"party", fl.party_id}, {"kind", fl.kind}, {"reason", fl.reason}, {"paths", fl.paths}};
      if (fl.kind == "restricted-by-ownership") jf["aggregate_percent"] = fl.aggregate_percent;
      if (!fl.country.empty()) jf["country"] = fl.country;
      j_flags.push_back(std::move(jf));
    }
    json out = {{"parties", j_parties},
                {"flags", j_flags},
                {"countries_of_concern", std::vector<std::string>(concern.begin(), concern.end())}};
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::cout << "parties (screened against ";
  std::vector<std::string> lists;
  for (const auto& l : loaded->lists) lists.push_back(l.list_id + " " + l.version);
  std::cout << Join(lists, ", ") << "):\n";
  for (size_t i = 0; i < parties.size(); ++i) {
    const auto& p = parties[i];
    const ScreenResult& r = results[i];
    std::cout << "  " << p.id << "  " << p.name;
    if (!p.country.empty()) std::cout << " (" << p.country << ")";
    if (!r.status.ok()) {
      std::cout << ": error: " << r.status.message() << "\n";
      continue;
    }
    std::cout << ": " << screen::DecisionName(r.decision) << " " << Score3(r.score);
    if (!r.hits.empty()) {
      const auto& h = r.hits.front();
      std::cout << " — " << h.entity_name << " [" << h.list_id << " " << h.source_id << "]";
    }
    std::cout << "\n";
  }
  if (flags.empty()) {
    std::cout << "no ownership flags\n";
    return 0;
  }
  std::cout << "flags:\n";
  for (const auto& fl : flags) {
    std::cout << "  " << fl.party_id << "  " << fl.kind << ": " << fl.reason << "\n";
    for (const auto& path : fl.paths) std::cout << "      path: " << Join(path, " -> ") << "\n";
  }
  return 0;
}

// --- screen lists ----------------------------------------------------------------------------

struct ListsFlags {
  std::string db = kDefaultDb;
  bool json = false;
};

int RunLists(const ListsFlags& f) {
  auto db = OpenDb(f.db);
  if (!db.ok()) return Fail(db.status());
  auto lists = screen::LoadListInfos(**db);
  if (!lists.ok()) return Fail(lists.status());
  if (f.json) {
    json out = json::array();
    for (const auto& l : *lists) {
      out.push_back({{"list_id", l.list_id},
                     {"format", l.format},
                     {"version", l.version},
                     {"source", l.source},
                     {"sha256", l.sha256},
                     {"imported_ms", l.imported_ms},
                     {"imported_at", FormatUtc(l.imported_ms * 1'000'000)},
                     {"entity_count", l.entity_count},
                     {"name_count", l.name_count}});
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  if (lists->empty()) {
    std::cout << "no lists imported (custodian screen import --help)\n";
    return 0;
  }
  char head[200];
  std::snprintf(head, sizeof(head), "%-18s %-9s %-10s %9s %9s  %-24s  %s\n", "list", "format",
                "version", "entities", "names", "imported", "source");
  std::cout << head;
  for (const auto& l : *lists) {
    char row[400];
    std::snprintf(row, sizeof(row), "%-18s %-9s %-10s %9lld %9lld  %-24s  %s (sha256 %.12s…)\n",
                  l.list_id.c_str(), l.format.c_str(), l.version.c_str(),
                  static_cast<long long>(l.entity_count), static_cast<long long>(l.name_count),
                  FormatUtc(l.imported_ms * 1'000'000).c_str(), l.source.c_str(), l.sha256.c_str());
    std::cout << row;
  }
  return 0;
}

void AddDbFlag(CLI::App* command, std::string* db) {
  command->add_option("--db", *db, "Database: sqlite:PATH or postgresql://…")
      ->capture_default_str();
}

}  // namespace

void AddScreenCommands(CLI::App& app) {
  auto* screen = app.add_subcommand(
      "screen",
      "Restricted-party screening against the BIS Entity List, MEU list, OFAC SDN list and the "
      "Consolidated Screening List (docs/screening.md)");
  screen->require_subcommand(1);

  {
    auto f = std::make_shared<ImportFlags>();
    auto* c = screen->add_subcommand(
        "import",
        "Import a list file into the database (re-importing the same bytes changes nothing). "
        "ofac-sdn: all FILEs are one list (sdn.csv [alt.csv] [add.csv]); other formats: one list "
        "per FILE. Malformed rows are reported with their line and skipped (--strict: refused)");
    c->add_option("--format", f->format, "ofac-sdn, bis-json, csl-csv or csl-json")->required();
    c->add_option("files", f->files, "List file(s)")->required();
    AddDbFlag(c, &f->db);
    c->add_flag("--strict", f->strict, "Refuse the whole import at the first malformed row");
    c->add_option("--list-version", f->list_version,
                  "The data's date (YYYY-MM-DD) to record as the list's version, for files that "
                  "do not state one (OFAC's legacy CSV): default, the file's modification date");
    OnRun(c, [f] { return RunImport(*f); });
  }
  {
    auto f = std::make_shared<QueryFlags>();
    auto* c = screen->add_subcommand(
        "query",
        "Screen one name: match, review or clear, with each hit explained. Exit 0 whatever the "
        "class (a match is an answer, not a failure); the decision is recorded");
    c->add_option("name", f->name, "The name to screen (any script)")->required();
    c->add_option("--country", f->country, "Country of the party (ISO alpha-2 or a name)");
    c->add_option("--type", f->type, "org or person (also vessel, aircraft)");
    c->add_option("--limit", f->limit, "Hits shown at most (1..100)")->capture_default_str();
    c->add_flag("--json", f->json, "Machine-readable output");
    AddDbFlag(c, &f->db);
    AddThresholdFlags(c, &f->thresholds);
    OnRun(c, [f] { return RunQuery(*f); });
  }
  {
    auto f = std::make_shared<BatchFlags>();
    auto* c = screen->add_subcommand(
        "batch",
        "Screen a CSV of names (header id,name[,country][,type]); writes one row per input row: "
        "id,class,score,matched_name,entity_name,source,list_id,source_id,countries,reason");
    c->add_option("--in", f->in, "Input CSV")->required();
    c->add_option("--out", f->out, "Output CSV (- for stdout)")->required();
    c->add_option("--threads", f->threads, "Worker threads (0: every core)")->capture_default_str();
    AddDbFlag(c, &f->db);
    AddThresholdFlags(c, &f->thresholds);
    OnRun(c, [f] { return RunBatch(*f); });
  }
  {
    auto f = std::make_shared<EvalFlags>();
    auto* c = screen->add_subcommand(
        "eval",
        "Precision, recall and F1 of the name scorer on labelled pairs (e.g. "
        "../shared/data/matching/nomenklatura_name_bench_cases.csv)");
    c->add_option("--cases", f->cases, "Cases CSV: case_group,schema,name1,name2,is_match,…")
        ->required();
    c->add_option("--threshold", f->threshold, "Score counted as a predicted match")
        ->capture_default_str();
    c->add_flag("--json", f->json, "Machine-readable output");
    OnRun(c, [f] { return RunEval(*f); });
  }
  {
    auto f = std::make_shared<OwnershipFlags>();
    auto* c = screen->add_subcommand(
        "ownership",
        "Screen parties and flag those restricted by ownership (>= 50 % held by listed parties) "
        "or with a controlling parent in a country of concern");
    c->add_option("--parties", f->parties, "Parties CSV: id,name[,country][,type]")->required();
    c->add_option("--edges", f->edges, "Ownership CSV: owner,owned,percent")->required();
    c->add_flag("--json", f->json, "Machine-readable output");
    AddDbFlag(c, &f->db);
    AddThresholdFlags(c, &f->thresholds);
    OnRun(c, [f] { return RunOwnership(*f); });
  }
  {
    auto f = std::make_shared<ListsFlags>();
    auto* c = screen->add_subcommand("lists", "The restricted-party lists in the database");
    c->add_flag("--json", f->json, "Machine-readable output");
    AddDbFlag(c, &f->db);
    OnRun(c, [f] { return RunLists(*f); });
  }
}

}  // namespace custodian::cli
