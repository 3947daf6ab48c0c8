#include "screen/importers.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "core/bytes.h"
#include "core/canonical_json.h"
#include "core/crypto.h"
#include "core/csv.h"
#include "core/file.h"
#include "screen/countries.h"

namespace custodian::screen {
namespace {

using nlohmann::json;

// The CSL JSON is the largest list file (tens of MB); a path to something far bigger is a
// mistake, and refusing it keeps memory bounded.
constexpr size_t kMaxFileBytes = 256u << 20;

// ---------------------------------------------------------------------------------------------
// Small text helpers.

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Splits on `sep`, trimming each part and dropping empty ones.
std::vector<std::string> SplitTrimmed(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(sep, start);
    if (end == std::string_view::npos) end = s.size();
    std::string_view part = Trim(s.substr(start, end - start));
    if (!part.empty()) out.emplace_back(part);
    start = end + 1;
  }
  return out;
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const std::string& p : parts) {
    if (p.empty()) continue;
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

std::string Quoted(std::string_view s) {
  constexpr size_t kMax = 80;  // messages quote input; keep them readable on junk input
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < kMax; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
  }
  if (s.size() > kMax) out += "...";
  return out + "\"";
}

std::string Basename(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool IsDate(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// The import in progress: the list being built, its issues, and the progress callback.

class Importer {
 public:
  Importer(const ImportOptions& options, size_t total_bytes)
      : options_(options), total_(total_bytes), step_(std::max<size_t>(1, total_bytes / 100)) {}

  // A row that cannot be imported: skipped and reported, or (kRefuse) the end of the import.
  Status RowError(const std::string& file, int64_t line, std::string field, std::string problem) {
    RowIssue issue{file, line, std::move(field), std::move(problem)};
    if (options_.on_error == OnRowError::kRefuse) {
      return Status::InvalidInput(issue.ToString());
    }
    list.issues.push_back(std::move(issue));
    return Status::Ok();
  }

  // A row imported without one of its values (an unknown country word): reported, never a
  // reason to drop a listed party or to refuse the list.
  void Warn(const std::string& file, int64_t line, std::string field, std::string problem) {
    list.issues.push_back(RowIssue{file, line, std::move(field), std::move(problem)});
  }

  // Maps a country word to ISO alpha-2 and adds it to `e`; an unknown word is a warning.
  void AddCountryWord(ListEntity& e, std::string_view word, const std::string& file, int64_t line,
                      const std::string& field) {
    word = Trim(word);
    if (word.empty()) return;
    std::string code = CountryCode(word);
    if (code.empty()) {
      Warn(file, line, field, "unknown country " + Quoted(word) + "; the entry is kept without it");
      return;
    }
    AddCountry(e, code);
  }

  static void AddCountry(ListEntity& e, const std::string& code) {
    if (code.empty()) return;
    if (std::find(e.countries.begin(), e.countries.end(), code) == e.countries.end()) {
      e.countries.push_back(code);
    }
  }

  // Aliases as published, minus blanks, repeats and copies of the primary name.
  static void AddAlias(ListEntity& e, std::string_view alias) {
    alias = Trim(alias);
    if (alias.empty() || alias == e.name) return;
    if (std::find(e.aliases.begin(), e.aliases.end(), alias) != e.aliases.end()) return;
    e.aliases.emplace_back(alias);
  }

  // A source_id not yet used in this list: `id`, or `id-2`, `id-3` … for repeats (lists
  // without ids can carry the same name twice, e.g. two BIS entries for one name and country).
  std::string UniqueId(const std::string& id) {
    if (ids_.insert(id).second) return id;
    for (int n = 2;; ++n) {
      std::string candidate = id + "-" + std::to_string(n);
      if (ids_.insert(candidate).second) return candidate;
    }
  }

  // A list file from which nothing could be imported is not that list at all (and storing
  // it would replace the list with nothing): InvalidInput, quoting the first problem.
  Status RequireEntries(const std::string& file, size_t entities_before, size_t issues_before) {
    if (list.entities.size() > entities_before) return Status::Ok();
    std::string why = list.issues.size() > issues_before
                          ? "; the first problem: " + list.issues[issues_before].ToString()
                          : "";
    return Status::InvalidInput(file + ": no entry could be imported" + why);
  }

  // Called with bytes processed so far; forwards about every 1 % of the total.
  void Progress(size_t done) {
    if (!options_.progress) return;
    done = std::min(done, total_);
    if (done >= next_report_ || done == total_) {
      if (done == last_reported_ && reported_) return;
      options_.progress(done, total_);
      reported_ = true;
      last_reported_ = done;
      next_report_ = done + step_;
    }
  }

  ImportedList list;

 private:
  const ImportOptions& options_;
  size_t total_;
  size_t step_;
  size_t next_report_ = 0;
  size_t last_reported_ = 0;
  bool reported_ = false;
  std::set<std::string> ids_;
};

// "line 12, column 4: problem" (CsvReader's error) -> "column 4: problem".
std::string CsvProblem(const Status& s) {
  const std::string& m = s.message();
  size_t comma = m.find(", ");
  return StartsWith(m, "line ") && comma != std::string::npos ? m.substr(comma + 2) : m;
}

// Byte offsets of the elements of one JSON array: the value of `key` in the top-level object,
// or the top-level array itself when `key` is empty. The text has been parsed already, so it
// is valid JSON; this only locates elements, to give row issues a line number.
std::vector<size_t> ElementOffsets(std::string_view text, std::string_view key) {
  std::vector<size_t> out;
  std::vector<char> stack;  // '{' or '['
  size_t target_level = 0;  // stack size inside the wanted array, 0 until it opens
  bool expect_element = false;
  std::string last_key;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    bool at_target = target_level != 0 && stack.size() == target_level;
    if (at_target && expect_element && c != ']') {
      out.push_back(i);
      expect_element = false;
    }
    if (c == '"') {
      size_t start = i + 1;
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\') ++i;
      }
      if (stack.size() == 1 && stack[0] == '{') {
        size_t j = i + 1;
        while (j < text.size() && std::isspace(static_cast<unsigned char>(text[j]))) ++j;
        if (j < text.size() && text[j] == ':') {
          last_key.assign(text.substr(start, std::min(i, text.size()) - start));
        }
      }
    } else if (c == '{' || c == '[') {
      stack.push_back(c);
      if (target_level == 0 && c == '[' &&
          ((key.empty() && stack.size() == 1) ||
           (!key.empty() && stack.size() == 2 && stack[0] == '{' && last_key == key))) {
        target_level = stack.size();
        expect_element = true;
      }
    } else if (c == '}' || c == ']') {
      if (target_level != 0 && stack.size() == target_level) break;  // the array closed
      if (!stack.empty()) stack.pop_back();
    } else if (c == ',' && at_target) {
      expect_element = true;
    }
  }
  return out;
}

// 1-based line of each offset (offsets ascending).
std::vector<int64_t> LinesOf(std::string_view text, const std::vector<size_t>& offsets) {
  std::vector<int64_t> lines;
  lines.reserve(offsets.size());
  int64_t line = 1;
  size_t pos = 0;
  for (size_t off : offsets) {
    for (; pos < off && pos < text.size(); ++pos) {
      if (text[pos] == '\n') ++line;
    }
    lines.push_back(line);
  }
  return lines;
}

bool IsBlank(std::string_view text) {
  return Trim(text).empty();
}

// ---------------------------------------------------------------------------------------------
// OFAC legacy CSV (sdn.csv, alt.csv, add.csv).

enum class OfacKind { kSdn, kAlt, kAdd };

// Columns, per OFAC's data specification (the files have no header row):
//   sdn.csv  ent_num, SDN_Name, SDN_Type, Program, Title, Call_Sign, Vess_type, Tonnage, GRT,
//            Vess_flag, Vess_owner, Remarks
//   alt.csv  ent_num, alt_num, alt_type, alt_name, alt_remarks
//   add.csv  ent_num, add_num, Address, City/State/Province/Postal Code, Country, add_remarks
constexpr size_t kSdnColumns = 12;
constexpr size_t kAltColumns = 5;
constexpr size_t kAddColumns = 6;

// OFAC writes null as "-0-" (padded with a space); fields are padded, so trim them.
std::string OfacValue(std::string_view field) {
  std::string_view v = Trim(field);
  return v == "-0-" ? std::string() : std::string(v);
}

// The file's last line is a lone DOS end-of-file mark (0x1A).
bool IsEofMarker(const CsvRecord& r) {
  return r.fields.size() == 1 && Trim(r.fields[0]) == "\x1a";
}

std::optional<int64_t> ParseEntNum(std::string_view s) {
  s = Trim(s);
  if (s.empty() || s.size() > 15) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v <= 0) return std::nullopt;
  return v;
}

// Which OFAC file this is, from the column count of its first well-formed records (the files
// carry no header and their names vary).
Result<OfacKind> SniffOfac(const NamedText& file) {
  CsvReader reader(file.text);
  std::string why = "no records";
  for (int seen = 0; seen < 10; ++seen) {
    auto next = reader.Next();
    if (!next.ok()) {
      if (seen == 0) why = "not CSV: " + next.status().message();
      continue;
    }
    if (!next->has_value()) break;
    const CsvRecord& r = **next;
    if (IsEofMarker(r)) continue;
    switch (r.fields.size()) {
      case kSdnColumns:
        return OfacKind::kSdn;
      case kAltColumns:
        return OfacKind::kAlt;
      case kAddColumns:
        return OfacKind::kAdd;
      default:
        if (seen == 0) {
          why = "line " + std::to_string(r.line) + " has " + std::to_string(r.fields.size()) +
                " columns";
        }
    }
  }
  return Status::InvalidInput(file.name +
                              ": not an OFAC sdn.csv, alt.csv or add.csv (expected 12, 5 or 6 "
                              "columns without a header): " +
                              why);
}

// "SDGT] [IFSR" (the legacy CSV drops the outer brackets) -> "SDGT; IFSR".
std::string OfacPrograms(std::string_view program) {
  std::vector<std::string> parts;
  for (std::string& p : SplitTrimmed(program, ']')) {
    std::string_view v = Trim(p);
    while (!v.empty() && (v.front() == '[' || v.front() == ']')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == '[' || v.back() == ']')) v.remove_suffix(1);
    v = Trim(v);
    if (!v.empty()) parts.emplace_back(v);
  }
  return Join(parts, "; ");
}

// The quoted names after "a.k.a." / "f.k.a." / "n.k.a." in Remarks. A name may itself contain
// apostrophes ("ABU-'UMAR"), so it ends at the quote followed by ";", ".;", "." at the end, or
// the end. A name with no closing quote was cut off by the legacy format's remarks limit (the
// rest is in sdn_comments.csv): it is left out rather than imported truncated.
std::vector<std::string> OfacRemarkAliases(std::string_view remarks) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos + 6 < remarks.size()) {
    size_t at = remarks.find(".k.a.", pos);
    if (at == std::string_view::npos) break;
    pos = at + 5;
    if (at == 0 || (remarks[at - 1] != 'a' && remarks[at - 1] != 'f' && remarks[at - 1] != 'n')) {
      continue;
    }
    size_t q = pos;
    while (q < remarks.size() && remarks[q] == ' ') ++q;
    if (q >= remarks.size() || remarks[q] != '\'') continue;
    size_t start = q + 1;
    std::optional<size_t> end;
    for (size_t k = start; k < remarks.size(); ++k) {
      if (remarks[k] != '\'') continue;
      std::string_view rest = remarks.substr(k + 1);
      if (rest.empty() || rest[0] == ';' || rest == "." || StartsWith(rest, ".;")) {
        end = k;
        break;
      }
    }
    if (!end) break;
    std::string_view name = Trim(remarks.substr(start, *end - start));
    // Nicknames are sometimes quoted twice (''FOOPIE''): drop one matched pair.
    if (name.size() >= 2 && name.front() == '\'' && name.back() == '\'') {
      name = Trim(name.substr(1, name.size() - 2));
    }
    if (!name.empty()) out.emplace_back(name);
    pos = *end + 1;
  }
  return out;
}

class OfacImport {
 public:
  explicit OfacImport(Importer& imp) : imp_(imp) {}

  Status Sdn(const NamedText& file, size_t base) {
    const size_t entities_before = imp_.list.entities.size();
    const size_t issues_before = imp_.list.issues.size();
    CUSTODIAN_RETURN_IF_ERROR(ForEachRow(file, base, kSdnColumns, "sdn.csv",
                                         [&](const CsvRecord& r) { return SdnRow(file, r); }));
    return imp_.RequireEntries(file.name, entities_before, issues_before);
  }

  Status Alt(const NamedText& file, size_t base) { return Joined(file, base, kAltColumns); }
  Status Add(const NamedText& file, size_t base) { return Joined(file, base, kAddColumns); }

 private:
  Status SdnRow(const NamedText& file, const CsvRecord& r) {
    const auto& f = r.fields;
    std::optional<int64_t> ent_num = ParseEntNum(f[0]);
    if (!ent_num) {
      return imp_.RowError(file.name, r.line, "ent_num",
                           "must be a positive integer, got " + Quoted(Trim(f[0])));
    }
    if (auto it = by_ent_num_.find(*ent_num); it != by_ent_num_.end()) {
      return imp_.RowError(file.name, r.line, "ent_num",
                           "duplicate ent_num " + std::to_string(*ent_num) + " (first on line " +
                               std::to_string(lines_[it->second]) + ")");
    }
    ListEntity e;
    e.list_id = "ofac-sdn";
    e.source_id = std::to_string(*ent_num);
    e.name = OfacValue(f[1]);
    if (e.name.empty()) return imp_.RowError(file.name, r.line, "SDN_Name", "is empty");
    std::string type = Lower(OfacValue(f[2]));
    if (type.empty()) {
      e.schema = Schema::kOrganization;  // OFAC leaves the type of entities null
    } else if (type == "individual") {
      e.schema = Schema::kPerson;
    } else if (type == "vessel") {
      e.schema = Schema::kVessel;
    } else if (type == "aircraft") {
      e.schema = Schema::kAircraft;
    } else {
      return imp_.RowError(
          file.name, r.line, "SDN_Type",
          "must be -0-, individual, vessel or aircraft, got " + Quoted(Trim(f[2])));
    }
    e.programs = OfacPrograms(OfacValue(f[3]));
    std::string flag = OfacValue(f[9]);
    if (!flag.empty() && Lower(flag) != "none identified") {
      imp_.AddCountryWord(e, flag, file.name, r.line, "Vess_flag");
    }
    std::string remarks = OfacValue(f[11]);
    for (const std::string& alias : OfacRemarkAliases(remarks)) Importer::AddAlias(e, alias);
    RemarkCountries(e, remarks, file.name, r.line);
    // Title and vessel particulars have no field of their own in ListEntity: keep them, labelled,
    // in front of the remarks.
    static const std::pair<size_t, const char*> kExtra[] = {
        {4, "Title"}, {5, "Call sign"}, {6, "Vessel type"}, {7, "Tonnage"},
        {8, "GRT"},   {9, "Flag"},      {10, "Owner"}};
    std::vector<std::string> parts;
    for (const auto& [col, label] : kExtra) {
      std::string v = OfacValue(f[col]);
      if (!v.empty()) parts.push_back(std::string(label) + ": " + v);
    }
    parts.push_back(remarks);
    e.remarks = Join(parts, "; ");
    by_ent_num_.emplace(*ent_num, imp_.list.entities.size());
    lines_.push_back(r.line);
    imp_.list.entities.push_back(std::move(e));
    return Status::Ok();
  }

  // Countries named in Remarks. "nationality X", "citizen X" (with "alt." forms) and
  // "Nationality of Registration X" are explicit, so an unknown X is reported. The issuing
  // country of an identifier ("Passport A123 (Iran)", "Registration Number 7707 (Russia)")
  // ties the party to that country too; those parentheses hold other things as well ("(iv)"),
  // so there only words that name a country count, silently. Places of birth ("POB Tehran,
  // Iran") are not used: they are often former states or provinces ("USSR", "Chechen Ingush",
  // "Serbia and Montenegro"), and a birthplace says less about a party than its nationality.
  void RemarkCountries(ListEntity& e, std::string_view remarks, const std::string& file,
                       int64_t line) {
    for (const std::string& segment : SplitTrimmed(remarks, ';')) {
      std::string_view s = segment;
      while (!s.empty() && s.back() == '.') s.remove_suffix(1);
      s = Trim(s);
      if (StartsWith(s, "alt. ")) s.remove_prefix(5);
      std::string_view rest;
      for (std::string_view kw : {"nationality ", "citizen ", "Nationality of Registration "}) {
        if (StartsWith(s, kw)) {
          rest = Trim(s.substr(kw.size()));
          break;
        }
      }
      if (!rest.empty()) {
        // "possibly Palestinian": a possible nationality still ties the party to it.
        if (StartsWith(rest, "possibly ")) rest.remove_prefix(9);
        imp_.AddCountryWord(e, rest, file, line, "Remarks");
        continue;
      }
      if (s.size() < 4 || s.back() != ')' || StartsWith(s.substr(1), ".k.a.")) continue;
      if (std::none_of(s.begin(), s.end(), [](char c) { return std::isdigit(uint8_t(c)); })) {
        continue;
      }
      size_t open = s.rfind('(');
      if (open == std::string_view::npos) continue;
      Importer::AddCountry(e, CountryCode(s.substr(open + 1, s.size() - open - 2)));
    }
  }

  // Every row of one of OFAC's CSV files with the expected number of columns, in order, with
  // progress; a malformed CSV record or a row with another number of columns is a RowIssue.
  // A file in which no row has the columns is not that file at all (InvalidInput).
  Status ForEachRow(const NamedText& file, size_t base, size_t columns, const char* kind,
                    const std::function<Status(const CsvRecord&)>& row) {
    CsvReader reader(file.text);
    int64_t good_shape = 0;
    for (;;) {
      imp_.Progress(base + reader.offset());
      auto next = reader.Next();
      if (!next.ok()) {
        CUSTODIAN_RETURN_IF_ERROR(
            imp_.RowError(file.name, reader.record_line(), "", CsvProblem(next.status())));
        continue;
      }
      if (!next->has_value()) break;
      const CsvRecord& r = **next;
      if (IsEofMarker(r)) continue;
      if (r.fields.size() != columns) {
        CUSTODIAN_RETURN_IF_ERROR(imp_.RowError(file.name, r.line, "",
                                                "has " + std::to_string(r.fields.size()) +
                                                    " columns, expected " +
                                                    std::to_string(columns) + " (" + kind + ")"));
        continue;
      }
      ++good_shape;
      CUSTODIAN_RETURN_IF_ERROR(row(r));
    }
    if (good_shape == 0) {
      return Status::InvalidInput(file.name + ": no row has the " + std::to_string(columns) +
                                  " columns of " + kind);
    }
    return Status::Ok();
  }

  // alt.csv (5 columns) and add.csv (6 columns): rows joined to sdn.csv on ent_num.
  Status Joined(const NamedText& file, size_t base, size_t columns) {
    const char* kind = columns == kAltColumns ? "alt.csv" : "add.csv";
    return ForEachRow(file, base, columns, kind, [&](const CsvRecord& r) {
      std::optional<int64_t> ent_num = ParseEntNum(r.fields[0]);
      if (!ent_num) {
        return imp_.RowError(file.name, r.line, "ent_num",
                             "must be a positive integer, got " + Quoted(Trim(r.fields[0])));
      }
      auto it = by_ent_num_.find(*ent_num);
      if (it == by_ent_num_.end()) {
        return imp_.RowError(file.name, r.line, "ent_num",
                             "unknown ent_num " + std::to_string(*ent_num) + ": not in sdn.csv");
      }
      ListEntity& e = imp_.list.entities[it->second];
      if (columns == kAltColumns) {
        std::string alias = OfacValue(r.fields[3]);
        if (alias.empty()) return imp_.RowError(file.name, r.line, "alt_name", "is empty");
        Importer::AddAlias(e, alias);
      } else {
        std::string country = OfacValue(r.fields[4]);
        std::string address = Join({OfacValue(r.fields[2]), OfacValue(r.fields[3]), country}, ", ");
        if (!address.empty()) {
          e.address = e.address.empty() ? address : e.address + "; " + address;
        }
        imp_.AddCountryWord(e, country, file.name, r.line, "Country");
      }
      return Status::Ok();
    });
  }

  Importer& imp_;
  std::unordered_map<int64_t, size_t> by_ent_num_;  // ent_num -> index in entities
  std::vector<int64_t> lines_;                      // sdn.csv line of each entity
};

Status ImportOfac(Importer& imp, const std::vector<NamedText>& files) {
  imp.list.info.list_id = "ofac-sdn";
  struct Part {
    const NamedText* file;
    size_t base;
    OfacKind kind;
  };
  std::vector<Part> parts;
  const NamedText* sdn = nullptr;
  size_t base = 0;
  for (const NamedText& f : files) {
    auto kind = SniffOfac(f);
    if (!kind.ok()) return kind.status();
    if (*kind == OfacKind::kSdn) {
      if (sdn != nullptr) {
        return Status::InvalidInput(f.name + ": a second sdn.csv (12 columns) besides " +
                                    sdn->name + "; import one list at a time");
      }
      sdn = &f;
    }
    parts.push_back({&f, base, *kind});
    base += f.text.size();
  }
  if (sdn == nullptr) {
    return Status::InvalidInput(
        "ofac-sdn: no sdn.csv (12 columns) among the files; alt.csv and "
        "add.csv only add to it");
  }
  OfacImport ofac(imp);
  // sdn.csv first, whatever the order given: the others join to it.
  for (OfacKind kind : {OfacKind::kSdn, OfacKind::kAlt, OfacKind::kAdd}) {
    for (const Part& p : parts) {
      if (p.kind != kind) continue;
      Status s = kind == OfacKind::kSdn   ? ofac.Sdn(*p.file, p.base)
                 : kind == OfacKind::kAlt ? ofac.Alt(*p.file, p.base)
                                          : ofac.Add(*p.file, p.base);
      CUSTODIAN_RETURN_IF_ERROR(s);
    }
  }
  // OFAC's legacy files carry no date: the version is left to the caller (file dates).
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// JSON helpers shared by bis-json and csl-json.

// A string member, trimmed: missing or null is "", anything else but a string is an error.
// Ids may also be integers (the CSL writes entity_number as a number).
Result<std::string> JsonString(const json& obj, const char* key, bool integer_ok = false) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::string();
  if (it->is_string()) return std::string(Trim(it->get_ref<const std::string&>()));
  if (integer_ok && it->is_number_integer()) return it->dump();
  return Status::InvalidInput(integer_ok ? "must be a string or an integer" : "must be a string");
}

// A list of strings: an array of strings, or one string of "; "-separated values (the CSV
// layout, which some JSON exports keep); missing or null is empty.
Result<std::vector<std::string>> JsonStrings(const json& obj, const char* key) {
  std::vector<std::string> out;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return out;
  if (it->is_string()) return SplitTrimmed(it->get_ref<const std::string&>(), ';');
  if (!it->is_array()) return Status::InvalidInput("must be an array of strings");
  for (const json& v : *it) {
    if (v.is_null()) continue;
    if (!v.is_string()) return Status::InvalidInput("must be an array of strings");
    std::string_view s = Trim(v.get_ref<const std::string&>());
    if (!s.empty()) out.emplace_back(s);
  }
  return out;
}

// First 16 hex digits of SHA-256(name "\n" country): a stable id for lists without ids, as
// long as the list keeps the entry's name and country as published.
std::string DerivedId(const std::string& name, const std::string& country) {
  Sha256Digest d = Sha256(AsBytes(name + "\n" + country));
  return HexEncode(d).substr(0, 16);
}

// ---------------------------------------------------------------------------------------------
// BIS Entity List / MEU JSON (../shared/data/lists/bis_*.json).

Status ImportBis(Importer& imp, const std::vector<NamedText>& files) {
  size_t base = 0;
  for (const NamedText& file : files) {
    auto parsed = ParseJson(file.text);
    if (!parsed.ok()) {
      return Status::InvalidInput(file.name + ": not BIS list JSON: " + parsed.status().message());
    }
    const json& doc = *parsed;
    if (!doc.is_object() || !doc.contains("entities") || !doc["entities"].is_array()) {
      return Status::InvalidInput(file.name +
                                  ": not BIS list JSON: expected an object with an \"entities\" "
                                  "array");
    }
    auto list_id = JsonString(doc, "list_id");
    if (!list_id.ok() || list_id->empty()) {
      return Status::InvalidInput(file.name + ": list_id: must be a non-empty string");
    }
    if (imp.list.info.list_id.empty()) {
      imp.list.info.list_id = *list_id;
    } else if (imp.list.info.list_id != *list_id) {
      return Status::InvalidInput(file.name + ": list_id " + Quoted(*list_id) +
                                  " differs from the earlier file's " +
                                  Quoted(imp.list.info.list_id) + "; import one list at a time");
    }
    auto extracted = JsonString(doc, "extracted");
    if (extracted.ok() && IsDate(*extracted) && *extracted > imp.list.info.version) {
      imp.list.info.version = *extracted;
    }
    const json& entities = doc["entities"];
    const size_t entities_before = imp.list.entities.size();
    const size_t issues_before = imp.list.issues.size();
    std::vector<size_t> offsets = ElementOffsets(file.text, "entities");
    if (offsets.size() != entities.size()) offsets.assign(entities.size(), 0);
    std::vector<int64_t> lines = LinesOf(file.text, offsets);
    for (size_t i = 0; i < entities.size(); ++i) {
      imp.Progress(base + offsets[i]);
      const json& item = entities[i];
      const int64_t line = lines[i];
      if (!item.is_object()) {
        CUSTODIAN_RETURN_IF_ERROR(imp.RowError(
            file.name, line, "entities[" + std::to_string(i) + "]", "must be an object"));
        continue;
      }
      ListEntity e;
      e.list_id = *list_id;
      // Each string member, with the field named on failure.
      std::string country_raw, address, federal_register, notes;
      bool bad = false;
      for (auto [key, target] :
           {std::pair{"name", &e.name}, std::pair{"country", &country_raw},
            std::pair{"address", &address}, std::pair{"federal_register", &federal_register},
            std::pair{"notes", &notes}}) {
        auto v = JsonString(item, key);
        if (!v.ok()) {
          CUSTODIAN_RETURN_IF_ERROR(imp.RowError(file.name, line, key, v.status().message()));
          bad = true;
          break;
        }
        *target = std::move(v).value();
      }
      if (bad) continue;
      if (e.name.empty()) {
        CUSTODIAN_RETURN_IF_ERROR(imp.RowError(file.name, line, "name", "is empty"));
        continue;
      }
      auto aliases = JsonStrings(item, "aliases");
      if (!aliases.ok()) {
        CUSTODIAN_RETURN_IF_ERROR(
            imp.RowError(file.name, line, "aliases", aliases.status().message()));
        continue;
      }
      for (const std::string& a : *aliases) Importer::AddAlias(e, a);
      // The list has no type field, and guessing person vs. organisation from the name is the
      // scorer's business, not the importer's.
      e.schema = Schema::kUnknown;
      imp.AddCountryWord(e, country_raw, file.name, line, "country");
      e.source_id = imp.UniqueId(DerivedId(e.name, country_raw));
      // Several Federal Register citations come one per line.
      e.programs = Join(SplitTrimmed(federal_register, '\n'), "; ");
      e.address = address;
      e.remarks = notes;
      imp.list.entities.push_back(std::move(e));
    }
    CUSTODIAN_RETURN_IF_ERROR(imp.RequireEntries(file.name, entities_before, issues_before));
    base += file.text.size();
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// trade.gov Consolidated Screening List, CSV and JSON.

// One CSL record, with each field as text (the JSON importer flattens into this too).
struct CslRow {
  std::string id, source, type, name, title, remarks, vessel_flag, federal_register_notice;
  std::vector<std::string> programs, alt_names, nationalities, citizenships;
  std::string address;                     // all addresses, "; "-separated
  std::vector<std::string> address_words;  // country written in each address (explicit)
  std::vector<std::string> address_tails;  // last part of each address (country if it maps)
  std::vector<std::string> id_countries;   // issuing country of each identifier, if any
};

// "and CETC Research Institute 13": the last alias of an Entity List entry keeps the
// conjunction of the published sentence; it is not part of the name.
std::string StripLeadingAnd(std::string_view alias) {
  alias = Trim(alias);
  if (StartsWith(alias, "and ") && alias.size() > 4) alias.remove_prefix(4);
  return std::string(Trim(alias));
}

Status AddCslRow(Importer& imp, const std::string& file, int64_t line, const CslRow& row) {
  if (row.id.empty()) return imp.RowError(file, line, "_id", "is empty");
  if (row.name.empty()) return imp.RowError(file, line, "name", "is empty");
  auto schema = ParseSchema(row.type);
  if (!schema.ok()) {
    return imp.RowError(file, line, "type",
                        "must be Individual, Entity, Vessel or Aircraft, got " + Quoted(row.type));
  }
  ListEntity e;
  e.list_id = "csl";
  e.source_id = imp.UniqueId(row.id);
  e.name = row.name;
  e.schema = *schema;
  e.source_list = row.source;
  for (const std::string& a : row.alt_names) Importer::AddAlias(e, StripLeadingAnd(a));
  e.programs = Join(row.programs, "; ");
  if (e.programs.empty()) e.programs = row.federal_register_notice;
  e.address = row.address;
  for (const std::string& w : row.address_words) imp.AddCountryWord(e, w, file, line, "addresses");
  for (const std::string& t : row.address_tails) Importer::AddCountry(e, CountryCode(t));
  for (const std::string& n : row.nationalities) {
    imp.AddCountryWord(e, n, file, line, "nationalities");
  }
  for (const std::string& c : row.citizenships) {
    imp.AddCountryWord(e, c, file, line, "citizenships");
  }
  imp.AddCountryWord(e, row.vessel_flag, file, line, "vessel_flag");
  for (const std::string& c : row.id_countries) Importer::AddCountry(e, CountryCode(c));
  e.remarks = Join({row.title.empty() ? "" : "Title: " + row.title, row.remarks}, "; ");
  imp.list.entities.push_back(std::move(e));
  return Status::Ok();
}

// The CSV writes each address as "street, city, state, postal code, country" (empty parts
// left out) and joins addresses with "; ". Entity List addresses are free text that may
// contain ";" themselves, so a part's last element is a country only when it names one.
void CslCsvAddresses(std::string_view cell, CslRow& row) {
  row.address = std::string(Trim(cell));
  for (const std::string& part : SplitTrimmed(cell, ';')) {
    size_t comma = part.rfind(',');
    row.address_tails.emplace_back(Trim(comma == std::string::npos
                                            ? std::string_view(part)
                                            : std::string_view(part).substr(comma + 1)));
  }
}

// The CSV's ids cell: "Passport, 836238033, KP; Gender, Male": type, number, country.
void CslCsvIds(std::string_view cell, CslRow& row) {
  for (const std::string& id : SplitTrimmed(cell, ';')) {
    std::vector<std::string> parts = SplitTrimmed(id, ',');
    if (parts.size() >= 3) row.id_countries.push_back(parts.back());
  }
}

Status ImportCslCsv(Importer& imp, const std::vector<NamedText>& files) {
  size_t base = 0;
  for (const NamedText& file : files) {
    CsvReader reader(file.text);
    auto first = reader.Next();
    if (!first.ok() || !first->has_value()) {
      return Status::InvalidInput(
          file.name + ": not a CSL CSV: " +
          (first.ok() ? std::string("no header row") : first.status().message()));
    }
    const std::vector<std::string> header_names = (*first)->fields;
    CsvHeader header(header_names);
    if (!header.Find("name") || !header.Find("source")) {
      return Status::InvalidInput(file.name +
                                  ": not a CSL CSV: the header row has no \"name\" and "
                                  "\"source\" columns");
    }
    const size_t entities_before = imp.list.entities.size();
    const size_t issues_before = imp.list.issues.size();
    auto col = [&](const CsvRecord& r, std::string_view name) -> std::string_view {
      auto c = header.Find(name);
      return c && *c < r.fields.size() ? Trim(r.fields[*c]) : std::string_view();
    };
    for (;;) {
      imp.Progress(base + reader.offset());
      auto next = reader.Next();
      if (!next.ok()) {
        CUSTODIAN_RETURN_IF_ERROR(
            imp.RowError(file.name, reader.record_line(), "", CsvProblem(next.status())));
        continue;
      }
      if (!next->has_value()) break;
      const CsvRecord& r = **next;
      if (r.fields.size() != header_names.size()) {
        CUSTODIAN_RETURN_IF_ERROR(
            imp.RowError(file.name, r.line, "",
                         "has " + std::to_string(r.fields.size()) + " columns, expected " +
                             std::to_string(header_names.size()) + " (as in the header)"));
        continue;
      }
      CslRow row;
      row.id = col(r, "_id");
      if (row.id.empty()) row.id = col(r, "id");
      if (row.id.empty()) row.id = col(r, "entity_number");
      row.source = col(r, "source");
      row.type = col(r, "type");
      row.name = col(r, "name");
      row.title = col(r, "title");
      row.remarks = col(r, "remarks");
      row.vessel_flag = col(r, "vessel_flag");
      row.federal_register_notice = col(r, "federal_register_notice");
      row.programs = SplitTrimmed(col(r, "programs"), ';');
      row.alt_names = SplitTrimmed(col(r, "alt_names"), ';');
      row.nationalities = SplitTrimmed(col(r, "nationalities"), ';');
      row.citizenships = SplitTrimmed(col(r, "citizenships"), ';');
      CslCsvAddresses(col(r, "addresses"), row);
      CslCsvIds(col(r, "ids"), row);
      CUSTODIAN_RETURN_IF_ERROR(AddCslRow(imp, file.name, r.line, row));
    }
    CUSTODIAN_RETURN_IF_ERROR(imp.RequireEntries(file.name, entities_before, issues_before));
    base += file.text.size();
  }
  return Status::Ok();
}

// One JSON result -> CslRow; the error names the field.
Status CslJsonRow(const json& item, CslRow& row, std::string& bad_field) {
  struct Text {
    const char* key;
    std::string* target;
  };
  for (const Text& t : {Text{"source", &row.source}, Text{"type", &row.type},
                        Text{"name", &row.name}, Text{"title", &row.title},
                        Text{"remarks", &row.remarks}, Text{"vessel_flag", &row.vessel_flag},
                        Text{"federal_register_notice", &row.federal_register_notice}}) {
    auto v = JsonString(item, t.key);
    if (!v.ok()) {
      bad_field = t.key;
      return v.status();
    }
    *t.target = std::move(v).value();
  }
  for (const char* key : {"id", "_id", "entity_number"}) {
    auto v = JsonString(item, key, /*integer_ok=*/true);
    if (!v.ok()) {
      bad_field = key;
      return v.status();
    }
    if (row.id.empty()) row.id = *v;
  }
  struct List {
    const char* key;
    std::vector<std::string>* target;
  };
  for (const List& l :
       {List{"programs", &row.programs}, List{"alt_names", &row.alt_names},
        List{"nationalities", &row.nationalities}, List{"citizenships", &row.citizenships}}) {
    auto v = JsonStrings(item, l.key);
    if (!v.ok()) {
      bad_field = l.key;
      return v.status();
    }
    *l.target = std::move(v).value();
  }
  // A top-level "country" appears in some exports; it is explicit, like a nationality.
  auto country = JsonString(item, "country");
  if (!country.ok()) {
    bad_field = "country";
    return country.status();
  }
  if (!country->empty()) row.address_words.push_back(*country);

  auto addresses = item.find("addresses");
  if (addresses != item.end() && !addresses->is_null()) {
    if (!addresses->is_array()) {
      bad_field = "addresses";
      return Status::InvalidInput("must be an array");
    }
    std::vector<std::string> texts;
    for (const json& a : *addresses) {
      if (a.is_string()) {  // a flattened export: "street, city, country"
        CslRow tmp;
        CslCsvAddresses(a.get_ref<const std::string&>(), tmp);
        texts.push_back(tmp.address);
        row.address_tails.insert(row.address_tails.end(), tmp.address_tails.begin(),
                                 tmp.address_tails.end());
        continue;
      }
      if (!a.is_object()) {
        bad_field = "addresses";
        return Status::InvalidInput("must be an array of objects");
      }
      std::vector<std::string> parts;
      for (const char* key : {"address", "city", "state", "postal_code", "country"}) {
        auto v = JsonString(a, key);
        if (!v.ok()) {
          bad_field = std::string("addresses.") + key;
          return v.status();
        }
        parts.push_back(*v);
      }
      if (!parts[4].empty()) row.address_words.push_back(parts[4]);
      texts.push_back(Join(parts, ", "));
    }
    row.address = Join(texts, "; ");
  }
  auto ids = item.find("ids");
  if (ids != item.end() && ids->is_array()) {
    for (const json& id : *ids) {
      if (!id.is_object()) continue;
      auto c = JsonString(id, "country");
      if (c.ok() && !c->empty()) row.id_countries.push_back(*c);
    }
  }
  return Status::Ok();
}

Status ImportCslJson(Importer& imp, const std::vector<NamedText>& files) {
  size_t base = 0;
  for (const NamedText& file : files) {
    auto parsed = ParseJson(file.text);
    if (!parsed.ok()) {
      return Status::InvalidInput(file.name + ": not CSL JSON: " + parsed.status().message());
    }
    const json& doc = *parsed;
    const json* results = nullptr;
    std::string key;
    if (doc.is_array()) {
      results = &doc;
    } else if (doc.is_object() && doc.contains("results") && doc["results"].is_array()) {
      results = &doc["results"];
      key = "results";
      // The API's envelope says when each source was imported: the newest date is the
      // data's version.
      auto used = doc.find("sources_used");
      if (used != doc.end() && used->is_array()) {
        for (const json& s : *used) {
          if (!s.is_object()) continue;
          for (const char* k : {"last_imported", "source_last_updated"}) {
            auto v = JsonString(s, k);
            if (v.ok() && v->size() >= 10 && IsDate(v->substr(0, 10)) &&
                v->substr(0, 10) > imp.list.info.version) {
              imp.list.info.version = v->substr(0, 10);
            }
          }
        }
      }
    } else {
      return Status::InvalidInput(file.name +
                                  ": not CSL JSON: expected {\"results\": [...]} or an array");
    }
    const size_t entities_before = imp.list.entities.size();
    const size_t issues_before = imp.list.issues.size();
    std::vector<size_t> offsets = ElementOffsets(file.text, key);
    if (offsets.size() != results->size()) offsets.assign(results->size(), 0);
    std::vector<int64_t> lines = LinesOf(file.text, offsets);
    for (size_t i = 0; i < results->size(); ++i) {
      imp.Progress(base + offsets[i]);
      const json& item = (*results)[i];
      if (!item.is_object()) {
        CUSTODIAN_RETURN_IF_ERROR(imp.RowError(
            file.name, lines[i], (key.empty() ? "[" : key + "[") + std::to_string(i) + "]",
            "must be an object"));
        continue;
      }
      CslRow row;
      std::string bad_field;
      Status s = CslJsonRow(item, row, bad_field);
      if (!s.ok()) {
        CUSTODIAN_RETURN_IF_ERROR(imp.RowError(file.name, lines[i], bad_field, s.message()));
        continue;
      }
      CUSTODIAN_RETURN_IF_ERROR(AddCslRow(imp, file.name, lines[i], row));
    }
    CUSTODIAN_RETURN_IF_ERROR(imp.RequireEntries(file.name, entities_before, issues_before));
    base += file.text.size();
  }
  return Status::Ok();
}

// Newest modification date of `paths`, "YYYY-MM-DD" (UTC), or "".
// A YYYY-MM-DD date written in a file's name ("ofac_sdn_2024-05-03.csv", as archives and
// scrapes name their copies), the newest of the files; "" if none has one.
std::string NewestDateInFileNames(const std::vector<std::string>& paths) {
  std::string newest;
  for (const std::string& p : paths) {
    std::string name = std::filesystem::path(p).filename().string();
    for (size_t i = 0; i + 10 <= name.size(); ++i) {
      std::string candidate = name.substr(i, 10);
      if (IsDate(candidate) && candidate > newest) newest = candidate;
    }
  }
  return newest;
}

std::string NewestFileDate(const std::vector<std::string>& paths) {
  time_t newest = 0;
  for (const std::string& p : paths) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0) newest = std::max(newest, st.st_mtim.tv_sec);
  }
  if (newest == 0) return "";
  struct tm tm {};
  if (gmtime_r(&newest, &tm) == nullptr) return "";
  char buf[16];
  if (std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm) == 0) return "";
  return buf;
}

}  // namespace

Status CheckFormat(const std::string& format) {
  if (format == "ofac-sdn" || format == "bis-json" || format == "csl-csv" || format == "csl-json") {
    return Status::Ok();
  }
  return Status::InvalidInput("format: must be ofac-sdn, bis-json, csl-csv or csl-json, got " +
                              Quoted(format));
}

Result<ImportedList> ImportListTexts(const std::string& format, const std::vector<NamedText>& files,
                                     const ImportOptions& options) {
  CUSTODIAN_RETURN_IF_ERROR(CheckFormat(format));
  if (files.empty()) return Status::InvalidInput("no list files given");
  size_t total = 0;
  for (const NamedText& f : files) {
    if (IsBlank(f.text)) return Status::InvalidInput(f.name + ": is empty");
    total += f.text.size();
  }
  Importer imp(options, total);
  Status s;
  if (format == "ofac-sdn") {
    s = ImportOfac(imp, files);
  } else if (format == "bis-json") {
    s = ImportBis(imp, files);
  } else if (format == "csl-csv") {
    imp.list.info.list_id = "csl";
    s = ImportCslCsv(imp, files);
  } else {
    imp.list.info.list_id = "csl";
    s = ImportCslJson(imp, files);
  }
  CUSTODIAN_RETURN_IF_ERROR(s);
  imp.Progress(total);

  ListInfo& info = imp.list.info;
  info.format = format;
  Sha256Hasher hasher;
  std::vector<std::string> names;
  for (const NamedText& f : files) {
    hasher.Update(AsBytes(f.text));
    names.push_back(Basename(f.name));
  }
  info.sha256 = HexEncode(hasher.Finish());
  info.source = Join(names, ",");
  info.entity_count = static_cast<int64_t>(imp.list.entities.size());
  info.name_count = 0;
  for (const ListEntity& e : imp.list.entities) {
    info.name_count += 1 + static_cast<int64_t>(e.aliases.size());
  }
  return std::move(imp.list);
}

Result<ImportedList> ImportListFiles(const std::string& format,
                                     const std::vector<std::string>& paths,
                                     const ImportOptions& options) {
  CUSTODIAN_RETURN_IF_ERROR(CheckFormat(format));
  if (paths.empty()) return Status::InvalidInput("no list files given");
  std::vector<NamedText> files;
  for (const std::string& path : paths) {
    auto text = ReadFile(path, kMaxFileBytes);
    if (!text.ok()) return text.status();
    files.push_back({path, std::move(text).value()});
  }
  auto list = ImportListTexts(format, files, options);
  if (!list.ok()) return list.status();
  if (list->info.version.empty()) list->info.version = NewestDateInFileNames(paths);
  if (list->info.version.empty()) list->info.version = NewestFileDate(paths);
  return list;
}

}  // namespace custodian::screen
