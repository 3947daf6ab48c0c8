#include "screen/eval.h"

#include "core/csv.h"
#include "screen/normalize.h"
#include "screen/scorer.h"

namespace custodian::screen {

double EvalCounts::precision() const {
  return tp + fp == 0 ? 0.0 : static_cast<double>(tp) / static_cast<double>(tp + fp);
}
double EvalCounts::recall() const {
  return tp + fn == 0 ? 0.0 : static_cast<double>(tp) / static_cast<double>(tp + fn);
}
double EvalCounts::f1() const {
  double p = precision(), r = recall();
  return p + r == 0 ? 0.0 : 2 * p * r / (p + r);
}

namespace {

void Count(EvalCounts& c, bool predicted, bool actual) {
  if (predicted && actual) ++c.tp;
  if (predicted && !actual) ++c.fp;
  if (!predicted && actual) ++c.fn;
  if (!predicted && !actual) ++c.tn;
}

}  // namespace

Result<EvalReport> EvaluateCases(const std::string& csv_text, double threshold) {
  if (!(threshold > 0 && threshold <= 1)) {
    return Status::InvalidInput("threshold: must be in (0, 1]");
  }
  CsvReader reader(csv_text);
  auto header_record = reader.Next();
  if (!header_record.ok()) return header_record.status();
  if (!*header_record) return Status::InvalidInput("cases: empty file (a header row is required)");
  CsvHeader header((*header_record)->fields);
  auto col_schema = header.Find("schema"), col_1 = header.Find("name1"),
       col_2 = header.Find("name2"), col_match = header.Find("is_match");
  for (auto [col, name] : {std::pair{col_schema, "schema"}, std::pair{col_1, "name1"},
                           std::pair{col_2, "name2"}, std::pair{col_match, "is_match"}}) {
    if (!col)
      return Status::InvalidInput(std::string("cases: header has no column '") + name + "'");
  }
  const Normalizer& normalizer = Normalizer::Default();
  EvalReport report;
  report.threshold = threshold;
  while (true) {
    auto record = reader.Next();
    if (!record.ok()) return record.status();
    if (!*record) break;
    const auto& f = (*record)->fields;
    int64_t line = (*record)->line;
    size_t need = std::max({*col_schema, *col_1, *col_2, *col_match}) + 1;
    if (f.size() < need) {
      return Status::InvalidInput("cases line " + std::to_string(line) + ": has " +
                                  std::to_string(f.size()) + " columns, expected at least " +
                                  std::to_string(need));
    }
    EvalCase c;
    c.line = line;
    c.schema = f[*col_schema];
    c.name1 = f[*col_1];
    c.name2 = f[*col_2];
    const std::string& label = f[*col_match];
    if (label == "true" || label == "True" || label == "TRUE" || label == "1") {
      c.is_match = true;
    } else if (label == "false" || label == "False" || label == "FALSE" || label == "0") {
      c.is_match = false;
    } else {
      return Status::InvalidInput("cases line " + std::to_string(line) +
                                  ": is_match: must be true or false, got \"" + label + "\"");
    }
    auto schema = ParseSchema(c.schema);
    Schema s = schema.ok() ? *schema : Schema::kUnknown;
    NormalizedName n1 = normalizer.Normalize(c.name1, s);
    NormalizedName n2 = normalizer.Normalize(c.name2, s);
    c.score = ScoreNames({&n1, s}, {&n2, s}, nullptr, /*explain=*/false).score;
    bool predicted = c.score >= threshold;
    Count(report.overall, predicted, c.is_match);
    Count(report.by_schema[c.schema], predicted, c.is_match);
    if (predicted != c.is_match) report.errors.push_back(std::move(c));
  }
  return report;
}

}  // namespace custodian::screen
