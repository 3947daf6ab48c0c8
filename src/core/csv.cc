#include "core/csv.h"

#include <cctype>

namespace custodian {
namespace {

// "line 3, column 7: <problem>": the prefix importers cut off to build a RowIssue.
Status CsvError(int64_t line, size_t column, const std::string& problem) {
  return Status::InvalidInput("line " + std::to_string(line) + ", column " +
                              std::to_string(column) + ": " + problem);
}

std::string Trimmed(std::string_view s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  std::string out(s.substr(b, e - b));
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

CsvReader::CsvReader(std::string_view text) : text_(text) {
  if (text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
}

Result<std::optional<CsvRecord>> CsvReader::Next() {
  // Empty lines between records carry nothing; skip them (counting them for line numbers).
  while (pos_ < text_.size() && (text_[pos_] == '\n' || text_[pos_] == '\r')) {
    if (text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') ++pos_;
    ++pos_;
    ++line_;
  }
  if (pos_ >= text_.size()) return std::optional<CsvRecord>();

  const size_t record_pos = pos_;
  const int64_t record_line = line_;
  record_line_ = record_line;
  size_t line_start = pos_;  // byte where the current physical line starts, for columns
  CsvRecord record;
  record.line = record_line;
  std::string field;

  // On a malformed record, resume after the physical line it started on, so a caller that
  // skips bad rows can go on (an unterminated quote would otherwise swallow the rest).
  auto fail = [&](size_t at, const std::string& problem) -> Result<std::optional<CsvRecord>> {
    Status s = CsvError(line_, at - line_start + 1, problem);
    pos_ = record_pos;
    while (pos_ < text_.size() && text_[pos_] != '\n' && text_[pos_] != '\r') ++pos_;
    if (pos_ < text_.size()) {
      if (text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') ++pos_;
      ++pos_;
    }
    line_ = record_line + 1;
    return s;
  };

  for (;;) {
    field.clear();
    if (pos_ < text_.size() && text_[pos_] == '"') {
      const size_t open = pos_;
      const int64_t open_line = line_;
      const size_t open_line_start = line_start;
      ++pos_;
      bool closed = false;
      while (pos_ < text_.size()) {
        char c = text_[pos_];
        if (c == '"') {
          if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
            field += '"';
            pos_ += 2;
            continue;
          }
          ++pos_;
          closed = true;
          break;
        }
        if (c == '\n' || (c == '\r' && (pos_ + 1 >= text_.size() || text_[pos_ + 1] != '\n'))) {
          ++line_;
          line_start = pos_ + 1;
        }
        field += c;
        ++pos_;
      }
      if (!closed) {
        line_ = open_line;
        line_start = open_line_start;
        return fail(open, "quoted field is not terminated");
      }
      if (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '\n' && text_[pos_] != '\r') {
        return fail(pos_, "text after the closing quote of a field");
      }
    } else {
      size_t start = pos_;
      while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '\n' &&
             text_[pos_] != '\r') {
        if (text_[pos_] == '"') return fail(pos_, "quote inside an unquoted field");
        ++pos_;
      }
      field.assign(text_.substr(start, pos_ - start));
    }
    record.fields.push_back(std::move(field));
    if (pos_ >= text_.size()) break;
    if (text_[pos_] == ',') {
      ++pos_;
      continue;
    }
    // End of record: LF, CRLF or a lone CR.
    if (text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') ++pos_;
    ++pos_;
    ++line_;
    break;
  }
  return std::optional<CsvRecord>(std::move(record));
}

Result<std::vector<CsvRecord>> ParseCsv(std::string_view text) {
  CsvReader reader(text);
  std::vector<CsvRecord> out;
  for (;;) {
    auto next = reader.Next();
    if (!next.ok()) return next.status();
    if (!next->has_value()) return out;
    out.push_back(std::move(**next));
  }
}

std::string CsvEscape(std::string_view field) {
  bool quote = !field.empty() && (std::isspace(static_cast<unsigned char>(field.front())) ||
                                  std::isspace(static_cast<unsigned char>(field.back())));
  for (char c : field) {
    if (c == ',' || c == '"' || c == '\r' || c == '\n') quote = true;
  }
  if (!quote) return std::string(field);
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string CsvLine(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += ',';
    out += CsvEscape(fields[i]);
  }
  return out;
}

CsvHeader::CsvHeader(const std::vector<std::string>& names) {
  names_.reserve(names.size());
  for (const std::string& n : names) names_.push_back(Trimmed(n));
}

std::optional<size_t> CsvHeader::Find(std::string_view name) const {
  std::string want = Trimmed(name);
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == want) return i;
  }
  return std::nullopt;
}

}  // namespace custodian
