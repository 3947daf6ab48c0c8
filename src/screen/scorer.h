// Name-pair scoring with an explanation (DESIGN §7).
//
// ScoreNames compares a query name with one list name (both normalised) and returns a score
// in [0, 1] with the reasons: which query token was aligned with which list token and how
// (exact, typo, phonetic, joined/split, initial, legal form), which tokens stayed unmatched,
// and each adjustment (country agreement, legal-form or number mismatch, person-name rules).
// Rare distinctive tokens carry the weight; generic words and legal forms are weak evidence;
// reordering costs nothing. The score is meant to be compared with Thresholds (screener.h).
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "screen/entity.h"
#include "screen/normalize.h"

namespace custodian::screen {

struct TokenAlignment {
  std::string query;  // query token (normalised), several joined by " " for a split
  std::string list;   // list token(s) it was aligned with
  std::string how;    // "exact", "typo", "phonetic", "joined", "initial", "legal-form", "number"
  double similarity = 0;  // 0..1
  double weight = 0;      // the evidence it carries (rarity x class)
};

struct Adjustment {
  std::string reason;  // "country agrees (CN)", "legal form differs (llc / jsc)" …
  double delta = 0;    // added to the score (negative = penalty)
};

struct Explanation {
  double name_score = 0;  // before adjustments
  std::vector<TokenAlignment> alignments;
  std::vector<std::string> unmatched_query;
  std::vector<std::string> unmatched_list;
  std::vector<Adjustment> adjustments;
};

// Rarity of a token in the indexed lists, so shared rare tokens count more than common ones.
// Without one (pairwise evaluation), every distinctive token weighs the same.
class TokenRarity {
 public:
  virtual ~TokenRarity() = default;
  // A multiplier around 1 (about 0.5 for very common tokens, up to ~1.5 for unique ones).
  virtual double Weight(const std::string& token) const = 0;
};

struct ScoreInput {
  const NormalizedName* name = nullptr;
  Schema schema = Schema::kUnknown;
  const std::vector<std::string>* countries = nullptr;  // alpha-2; null or empty = unknown
  // TokenRarity::Weight of each of name->tokens, computed once (the index keeps them for every
  // listed name); when null, ScoreNames asks `rarity` itself.
  const std::vector<float>* token_rarity = nullptr;
};

struct NameScore {
  double score = 0;  // 0..1 after adjustments
  Explanation explanation;
};

// `explain` = false skips building the explanation's strings (the score is the same): for
// ranking many candidates before explaining the few that are reported.
NameScore ScoreNames(const ScoreInput& query, const ScoreInput& listed,
                     const TokenRarity* rarity = nullptr, bool explain = true);

}  // namespace custodian::screen
