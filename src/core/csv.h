// CSV (RFC 4180) reading and writing.
//
// Fields separated by ",", optionally quoted with '"' ("" inside quotes is one quote; quoted
// fields may span lines); records end with LF, CRLF or a lone CR (old spreadsheet exports).
// Every record carries the line number it starts on, so importers can name the line of a bad
// row. A UTF-8 byte-order mark at the start is skipped. Malformed input (a quote inside an
// unquoted field, text after a closing quote, an unterminated quoted field) is InvalidInput
// "line L, column C: problem".
// Thread-safety: CsvReader belongs to one thread; the free functions are pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace custodian {

struct CsvRecord {
  int64_t line = 0;  // 1-based line the record starts on
  std::vector<std::string> fields;
};

class CsvReader {
 public:
  // `text` must outlive the reader.
  explicit CsvReader(std::string_view text);
  // The next record; std::nullopt at the end of the text. Empty lines are skipped.
  // After an error the reader resumes on the line after the one the bad record started on,
  // so a caller that skips bad rows can call Next() again.
  Result<std::optional<CsvRecord>> Next();
  size_t offset() const { return pos_; }  // bytes consumed so far (for progress)
  // Line the record last returned (or refused) by Next() starts on, 0 before the first.
  int64_t record_line() const { return record_line_; }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  int64_t line_ = 1;
  int64_t record_line_ = 0;
};

// Every record of `text` (InvalidInput at the first malformed one).
Result<std::vector<CsvRecord>> ParseCsv(std::string_view text);

// One field quoted when it needs to be (contains , " CR or LF, or leading/trailing space).
std::string CsvEscape(std::string_view field);
// Fields joined with "," and escaped, without a line ending.
std::string CsvLine(const std::vector<std::string>& fields);

// Maps header names to column positions, for files with a header row.
class CsvHeader {
 public:
  explicit CsvHeader(const std::vector<std::string>& names);
  // Column of `name` (case-insensitive, surrounding spaces ignored), or nullopt.
  std::optional<size_t> Find(std::string_view name) const;

 private:
  std::vector<std::string> names_;
};

}  // namespace custodian
