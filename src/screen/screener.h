// The screener: an in-memory index over every listed name and alias, and the decisions it
// gives (DESIGN §7).
//
// Build normalises every primary name and alias once and indexes their tokens, phonetic keys
// and character trigrams in postings lists weighted by rarity (IDF). Screen retrieves
// candidates from those postings only (never a scan of the whole list), scores the best
// candidates with ScoreNames (scorer.h) and classes the result:
//   match   score >= thresholds.match
//   review  thresholds.review <= score < thresholds.match
//   clear   below review (no hit is reported)
// Thread-safety: a built Screener is immutable; Screen/ScreenBatch may run concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "screen/entity.h"
#include "screen/scorer.h"

namespace custodian::screen {

enum class Decision { kClear, kReview, kMatch };
const char* DecisionName(Decision decision);  // "clear", "review", "match"

struct Thresholds {
  double match = 0.80;
  double review = 0.70;
};
// Both in (0, 1] and review <= match; InvalidInput naming the flag otherwise.
Status CheckThresholds(const Thresholds& thresholds);

struct ScreenQuery {
  std::string id;       // caller's id (batch), echoed back
  std::string name;     // any script; InvalidInput if empty after trimming
  std::string country;  // alpha-2 or a country name; "" = unknown
  Schema schema = Schema::kUnknown;
  size_t limit = 5;  // hits returned at most (1..100)
};

struct Hit {
  size_t entity_index = 0;  // into Screener::entities()
  size_t name_id = 0;       // the indexed name (primary or alias) that matched
  std::string list_id;
  std::string source_id;
  std::string source_list;
  std::string entity_name;   // the entity's primary name
  std::string matched_name;  // the list name or alias that matched
  bool matched_alias = false;
  Schema schema = Schema::kUnknown;
  std::vector<std::string> countries;
  std::string programs;
  double score = 0;
  Decision decision = Decision::kClear;
  Explanation explanation;
};

struct ScreenResult {
  ScreenQuery query;
  Decision decision = Decision::kClear;  // of the best hit; clear when there is none
  double score = 0;                      // of the best hit; 0 when there is none
  std::vector<Hit> hits;                 // score >= thresholds.review, best first
  Status status;                         // InvalidInput for a bad query (batch rows go on)
};

struct ScreenerOptions {
  Thresholds thresholds;
  size_t candidates = 40;  // candidates scored per query (from the postings)
  // Called during Build with names indexed so far and the total.
  std::function<void(size_t done, size_t total)> progress;
};

struct IndexStats {
  size_t entities = 0;
  size_t names = 0;     // primary names + aliases indexed
  size_t tokens = 0;    // distinct tokens
  size_t postings = 0;  // entries in all postings lists
  double build_ms = 0;
};

class Screener {
 public:
  static Result<std::unique_ptr<Screener>> Build(std::vector<ListEntity> entities,
                                                 ScreenerOptions options = {});
  ~Screener();
  Screener(const Screener&) = delete;
  Screener& operator=(const Screener&) = delete;

  ScreenResult Screen(const ScreenQuery& query) const;
  // Screens every query with `threads` workers (0 = hardware concurrency); results in input
  // order. `progress` is called with queries done so far.
  std::vector<ScreenResult> ScreenBatch(
      const std::vector<ScreenQuery>& queries, size_t threads = 0,
      const std::function<void(size_t done)>& progress = {}) const;
  // Scores every entity name without the index: the naive baseline for the benchmark (and a
  // cross-check in tests that the index loses no match). Same result shape.
  ScreenResult ScreenExhaustive(const ScreenQuery& query) const;

  const std::vector<ListEntity>& entities() const;
  const Thresholds& thresholds() const;
  IndexStats stats() const;

 private:
  struct Impl;
  explicit Screener(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The JSON shape used by `screen query --json`, GET/POST /v1/screen and the decision records:
// {"query":{"id","name","country","type"},"class","score","hits":[{"class","score","list",
//  "source_id","source_list","entity_name","matched_name","alias","type","countries",
//  "programs","explanation":{"name_score","alignments":[{"query","list","how","similarity",
//  "weight"}],"unmatched_query","unmatched_list","adjustments":[{"reason","delta"}]}}]}
// and, for a bad query, {"query":…, "error":"…"}.
nlohmann::json ResultToJson(const ScreenResult& result);

}  // namespace custodian::screen
