// Evaluation of the name scorer on labelled pairs, e.g. nomenklatura's name_bench cases.csv
// (columns case_group, schema, name1, name2, is_match[, quality, category, notes]; extra
// columns are ignored, the header is required).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"

namespace custodian::screen {

struct EvalCounts {
  int64_t tp = 0, fp = 0, tn = 0, fn = 0;
  double precision() const;
  double recall() const;
  double f1() const;
};

struct EvalCase {
  int64_t line = 0;
  std::string schema, name1, name2;
  bool is_match = false;
  double score = 0;
};

struct EvalReport {
  double threshold = 0;
  EvalCounts overall;
  std::map<std::string, EvalCounts> by_schema;  // keyed by the file's schema word
  std::vector<EvalCase> errors;                 // false positives and false negatives
};

// Scores name1 against name2 for every case (schema mapped with ParseSchema, unknown words
// as kUnknown) and counts score >= threshold as a predicted match. InvalidInput names the
// line and column of a malformed row (missing column, is_match not true/false).
Result<EvalReport> EvaluateCases(const std::string& csv_text, double threshold);

}  // namespace custodian::screen
