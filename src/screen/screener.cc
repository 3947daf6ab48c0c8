#include "screen/screener.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>
#include <unordered_map>

#include "screen/countries.h"
#include "screen/edit_distance.h"
#include "screen/normalize.h"

namespace custodian::screen {

const char* DecisionName(Decision decision) {
  switch (decision) {
    case Decision::kMatch:
      return "match";
    case Decision::kReview:
      return "review";
    case Decision::kClear:
      break;
  }
  return "clear";
}

Status CheckThresholds(const Thresholds& t) {
  if (!(t.match > 0 && t.match <= 1)) {
    return Status::InvalidInput("match threshold: must be in (0, 1]");
  }
  if (!(t.review > 0 && t.review <= 1)) {
    return Status::InvalidInput("review threshold: must be in (0, 1]");
  }
  if (t.review > t.match) {
    return Status::InvalidInput("review threshold: must not exceed the match threshold");
  }
  return Status::Ok();
}

namespace {

using NameId = uint32_t;
using TokenId = uint32_t;

struct IndexedName {
  uint32_t entity = 0;
  bool alias = false;
  std::string text;  // as published
  NormalizedName norm;
  std::vector<float> rarity;  // TokenRarity::Weight of each token, computed once
};

// Character trigrams of a token, padded so short tokens have some ("$ab", "abc", "bc$").
std::vector<std::string> Trigrams(const std::string& token) {
  std::string padded = "$" + token + "$";
  std::vector<std::string> out;
  for (size_t i = 0; i + 3 <= padded.size(); ++i) out.push_back(padded.substr(i, 3));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// "Name (ACRO)" or "Name (ACRO) rest": an upper-case acronym of 3..10 letters/digits in
// parentheses. Place names in parentheses ("(Hong Kong)") are not acronyms and stay.
bool SplitAcronym(const std::string& text, std::string* base, std::string* acronym) {
  size_t open = text.find('(');
  if (open == std::string::npos) return false;
  size_t close = text.find(')', open);
  if (close == std::string::npos) return false;
  std::string inside = text.substr(open + 1, close - open - 1);
  if (inside.size() < 3 || inside.size() > 10) return false;
  bool letters = false;
  for (char c : inside) {
    if (c >= 'A' && c <= 'Z') {
      letters = true;
    } else if (!(c >= '0' && c <= '9') && c != '&' && c != '-') {
      return false;
    }
  }
  if (!letters) return false;
  *acronym = inside;
  *base = text.substr(0, open) + text.substr(close + 1);
  return true;
}

// A query word in at most this many listed names also looks for its typo neighbours.
constexpr size_t kRareDocuments = 8;
constexpr TokenId kNoToken = ~TokenId{0};

// Edits tolerated for candidate retrieval (as in the scorer: none below 4 letters).
int RetrievalEdits(size_t len) {
  return len < 4 ? 0 : len < 8 ? 1 : 2;
}

bool Indexed(const NameToken& t) {
  return t.cls == TokenClass::kWord || t.cls == TokenClass::kGeneric ||
         t.cls == TokenClass::kNumber;
}

}  // namespace

struct Screener::Impl final : TokenRarity {
  ScreenerOptions options;
  std::vector<ListEntity> entities;
  std::vector<std::vector<std::string>> entity_countries;  // normalised alpha-2
  std::vector<IndexedName> names;

  std::unordered_map<std::string, TokenId> vocabulary;
  std::vector<std::string> token_text;
  std::vector<std::vector<NameId>> postings;                       // token -> names
  std::unordered_map<std::string, std::vector<NameId>> phonetic;   // key -> names
  std::unordered_map<std::string, std::vector<NameId>> joined;     // "ab" of adjacent a b -> names
  std::unordered_map<std::string, std::vector<TokenId>> trigrams;  // vocabulary trigrams
  // For rare words (in <= kRareDocuments names): their typo neighbours in the vocabulary.
  std::vector<std::vector<TokenId>> neighbours;
  std::vector<double> idf;
  std::vector<float> name_mass;  // sum of IDF of each name's indexed tokens (>= 1)
  double max_idf = 1;
  IndexStats stats;

  double Weight(const std::string& token) const override {
    auto it = vocabulary.find(token);
    // A word the lists do not contain is as rare as a word can be.
    double v = it == vocabulary.end() ? max_idf : idf[it->second];
    return std::clamp(0.6 + 0.7 * v / max_idf, 0.6, 1.3);
  }

  std::vector<float> RarityOf(const NormalizedName& name) const {
    std::vector<float> out;
    out.reserve(name.tokens.size());
    for (const auto& t : name.tokens) out.push_back(static_cast<float>(Weight(t.text)));
    return out;
  }

  // Vocabulary words within RetrievalEdits of `word` (other than `self`), through shared
  // trigrams: each edit changes at most three of a word's trigrams.
  std::vector<TokenId> TypoNeighbours(const std::string& word, TokenId self) const;

  void Build();
  std::vector<NameId> Candidates(const NormalizedName& query) const;
  // Screens `query` against the candidates from the postings, or against every name.
  ScreenResult Run(const ScreenQuery& query, bool exhaustive) const;
  ScreenResult Finish(const ScreenQuery& query, const NormalizedName& qn,
                      const std::vector<std::string>& countries,
                      const std::vector<NameId>& candidates) const;
};

void Screener::Impl::Build() {
  const Normalizer& normalizer = Normalizer::Default();
  size_t total = 0;
  for (const auto& e : entities) total += 1 + e.aliases.size();
  names.reserve(total);
  entity_countries.reserve(entities.size());
  for (uint32_t i = 0; i < entities.size(); ++i) {
    const ListEntity& e = entities[i];
    std::vector<std::string> countries;
    for (const auto& c : e.countries) {
      std::string code = CountryCode(c);
      if (!code.empty() && std::find(countries.begin(), countries.end(), code) == countries.end()) {
        countries.push_back(code);
      }
    }
    entity_countries.push_back(std::move(countries));
    // `compared` is what is normalised and scored; `text` the published name it comes from.
    auto add_form = [&](const std::string& text, const std::string& compared, bool alias) {
      IndexedName n;
      n.entity = i;
      n.alias = alias;
      n.text = text;
      n.norm = normalizer.Normalize(compared, e.schema);
      if (n.norm.tokens.empty()) return;
      names.push_back(std::move(n));
      if (options.progress && names.size() % 2048 == 0) options.progress(names.size(), total);
    };
    auto add = [&](const std::string& text, bool alias) {
      add_form(text, text, alias);
      // Lists write an entity's acronym after its name ("Beijing University of Posts and
      // Telecommunications (BUPT)"): the acronym and the name without it are names too.
      std::string acronym, base;
      if (SplitAcronym(text, &base, &acronym)) {
        add_form(text, acronym, true);
        add_form(text, base, alias);
      }
    };
    add(e.name, false);
    for (const auto& a : e.aliases) {
      if (a != e.name) add(a, true);
    }
  }
  for (NameId id = 0; id < names.size(); ++id) {
    const auto& tokens = names[id].norm.tokens;
    std::vector<TokenId> seen;
    for (size_t k = 0; k < tokens.size(); ++k) {
      const NameToken& t = tokens[k];
      if (!Indexed(t)) continue;
      auto [it, inserted] = vocabulary.emplace(t.text, static_cast<TokenId>(token_text.size()));
      if (inserted) {
        token_text.push_back(t.text);
        postings.emplace_back();
      }
      if (std::find(seen.begin(), seen.end(), it->second) != seen.end()) continue;
      seen.push_back(it->second);
      postings[it->second].push_back(id);
      if (t.phonetic.size() >= 2) {
        auto& p = phonetic[t.phonetic];
        if (p.empty() || p.back() != id) p.push_back(id);
      }
      // Adjacent word pairs written as one word on the query side ("hua wei" / "huawei").
      if (k + 1 < tokens.size() && t.cls == TokenClass::kWord &&
          tokens[k + 1].cls == TokenClass::kWord) {
        auto& j = joined[t.text + tokens[k + 1].text];
        if (j.empty() || j.back() != id) j.push_back(id);
      }
    }
  }
  idf.resize(token_text.size());
  const double n = static_cast<double>(std::max<size_t>(names.size(), 1));
  max_idf = std::log(n + 1);
  for (TokenId t = 0; t < token_text.size(); ++t) {
    idf[t] = std::log((n + 1) / static_cast<double>(postings[t].size()));
    if (token_text[t].size() >= 3) {
      for (const auto& g : Trigrams(token_text[t])) trigrams[g].push_back(t);
    }
  }
  neighbours.resize(token_text.size());
  for (TokenId t = 0; t < token_text.size(); ++t) {
    if (token_text[t].size() >= 4 && postings[t].size() <= kRareDocuments) {
      neighbours[t] = TypoNeighbours(token_text[t], t);
    }
  }
  name_mass.reserve(names.size());
  for (auto& indexed : names) {
    indexed.rarity = RarityOf(indexed.norm);
    double mass = 0;
    for (const auto& t : indexed.norm.tokens) {
      if (!Indexed(t)) continue;
      mass += (t.cls == TokenClass::kGeneric ? 0.3 : 1.0) * idf[vocabulary.at(t.text)];
    }
    name_mass.push_back(static_cast<float>(std::max(mass, 1.0)));
  }
  stats.entities = entities.size();
  stats.names = names.size();
  stats.tokens = token_text.size();
  for (const auto& list : postings) stats.postings += list.size();
  if (options.progress) options.progress(names.size(), total);
}

std::vector<TokenId> Screener::Impl::TypoNeighbours(const std::string& word, TokenId self) const {
  thread_local std::vector<uint8_t> shared;
  thread_local std::vector<TokenId> seen;
  if (shared.size() < token_text.size()) shared.assign(token_text.size(), 0);
  seen.clear();
  auto grams = Trigrams(word);
  for (const auto& g : grams) {
    auto tg = trigrams.find(g);
    if (tg == trigrams.end()) continue;
    for (TokenId v : tg->second) {
      if (shared[v] == 0) seen.push_back(v);
      if (shared[v] < 255) ++shared[v];
    }
  }
  const int limit = RetrievalEdits(word.size());
  const int need = std::max<int>(1, static_cast<int>(grams.size()) - 3 * limit);
  std::vector<TokenId> out;
  for (TokenId v : seen) {
    int count = shared[v];
    shared[v] = 0;
    if (count < need || v == self) continue;
    if (EditDistance(word, token_text[v], limit) <= limit) out.push_back(v);
  }
  return out;
}

namespace {

// Share of a query's retrieval evidence (IDF of its words) below which a name is not scored.
constexpr double kMinEvidence = 0.25;

}  // namespace

std::vector<NameId> Screener::Impl::Candidates(const NormalizedName& query) const {
  // Accumulated evidence per name; scratch kept per thread.
  thread_local std::vector<float> acc;
  thread_local std::vector<NameId> touched;
  if (acc.size() < names.size()) acc.assign(names.size(), 0.0f);
  touched.clear();
  auto credit = [&](const std::vector<NameId>& ids, float w) {
    for (NameId id : ids) {
      if (acc[id] == 0.0f) touched.push_back(id);
      acc[id] += w;
    }
  };
  bool has_word = std::any_of(query.tokens.begin(), query.tokens.end(), [](const NameToken& t) {
    return t.cls == TokenClass::kWord || t.cls == TokenClass::kNumber;
  });
  const auto& tokens = query.tokens;
  for (size_t k = 0; k < tokens.size(); ++k) {
    const NameToken& t = tokens[k];
    if (!Indexed(t)) continue;
    // Generic words only retrieve when there is nothing better (they are in thousands of names).
    if (t.cls == TokenClass::kGeneric && has_word) continue;
    float cls_w = t.cls == TokenClass::kGeneric ? 0.3f : 1.0f;
    auto it = vocabulary.find(t.text);
    const bool known = it != vocabulary.end();
    if (known) credit(postings[it->second], cls_w * static_cast<float>(idf[it->second]));
    // A word the lists do not contain, or contain rarely (a typo of one listed name can be
    // another listed name: "Coral" / "Corad"): vocabulary words within a typo or two, found
    // through shared trigrams.
    if (t.text.size() >= 4 && (!known || postings[it->second].size() <= kRareDocuments)) {
      // Known rare words had their neighbours found at build time.
      const std::vector<TokenId> found =
          known ? std::vector<TokenId>() : TypoNeighbours(t.text, kNoToken);
      for (TokenId v : known ? neighbours[it->second] : found) {
        credit(postings[v], 0.8f * cls_w * static_cast<float>(idf[v]));
      }
    }
    if (t.phonetic.size() >= 2) {
      if (auto p = phonetic.find(t.phonetic); p != phonetic.end()) {
        float w = static_cast<float>(max_idf) * 0.5f * cls_w;
        if (p->second.size() > 1)
          w = 0.7f * cls_w * static_cast<float>(std::log((names.size() + 1.0) / p->second.size()));
        credit(p->second, w);
      }
    }
    if (auto j = joined.find(t.text); j != joined.end()) {
      credit(j->second, static_cast<float>(max_idf) * 0.8f);
    }
    // The query writes as two words what a list writes as one.
    if (k + 1 < tokens.size() && t.cls == TokenClass::kWord &&
        tokens[k + 1].cls == TokenClass::kWord) {
      if (auto v = vocabulary.find(t.text + tokens[k + 1].text); v != vocabulary.end()) {
        credit(postings[v->second], static_cast<float>(idf[v->second]));
      }
    }
  }
  // Names whose retrieval evidence is a small part of what the query's words could give
  // cannot reach the review threshold: not worth scoring.
  double query_mass = 0;
  for (const auto& t : tokens) {
    if (t.cls != TokenClass::kWord && t.cls != TokenClass::kNumber) continue;
    auto it = vocabulary.find(t.text);
    query_mass += it == vocabulary.end() ? max_idf : idf[it->second];
  }
  const float floor = static_cast<float>(kMinEvidence * query_mass);
  std::vector<NameId> out;
  out.reserve(touched.size());
  for (NameId id : touched) {
    if (acc[id] >= floor) out.push_back(id);
  }
  size_t k = std::min(options.candidates, out.size());
  // Ranked by evidence relative to the name's own (cosine-like): among the many names that
  // share "zavod", the ones with little else win, as they will in the scorer.
  auto rank = [&](NameId id) { return acc[id] / std::sqrt(name_mass[id]); };
  std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(k), out.end(),
                    [&](NameId a, NameId b) {
                      float ra = rank(a), rb = rank(b);
                      return ra > rb || (ra == rb && a < b);
                    });
  out.resize(k);
  for (NameId id : touched) acc[id] = 0.0f;
  return out;
}

ScreenResult Screener::Impl::Finish(const ScreenQuery& query, const NormalizedName& qn,
                                    const std::vector<std::string>& countries,
                                    const std::vector<NameId>& candidates) const {
  ScreenResult result;
  result.query = query;
  // Best name per entity.
  std::unordered_map<uint32_t, Hit> best;
  const std::vector<float> query_rarity = RarityOf(qn);
  const ScoreInput q{&qn, query.schema, &countries, &query_rarity};
  auto listed = [&](const IndexedName& n) {
    return ScoreInput{&n.norm, entities[n.entity].schema, &entity_countries[n.entity], &n.rarity};
  };
  for (NameId id : candidates) {
    const IndexedName& n = names[id];
    const ListEntity& e = entities[n.entity];
    NameScore s = ScoreNames(q, listed(n), this, /*explain=*/false);
    if (s.score < options.thresholds.review) continue;
    auto it = best.find(n.entity);
    if (it != best.end() && it->second.score >= s.score) continue;
    Hit h;
    h.entity_index = n.entity;
    h.name_id = id;
    h.list_id = e.list_id;
    h.source_id = e.source_id;
    h.source_list = e.source_list;
    h.entity_name = e.name;
    h.matched_name = n.text;
    h.matched_alias = n.alias;
    h.schema = e.schema;
    h.countries = e.countries;
    h.programs = e.programs;
    h.score = s.score;
    h.decision = s.score >= options.thresholds.match ? Decision::kMatch : Decision::kReview;
    best[n.entity] = std::move(h);
  }
  for (auto& [entity, hit] : best) result.hits.push_back(std::move(hit));
  // Explanations only for the hits reported (the ranking above skipped building them).
  auto explain = [&](Hit& h, NameId id) {
    h.explanation = ScoreNames(q, listed(names[id]), this).explanation;
  };
  std::sort(result.hits.begin(), result.hits.end(), [](const Hit& a, const Hit& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.list_id != b.list_id) return a.list_id < b.list_id;
    return a.source_id < b.source_id;
  });
  if (result.hits.size() > query.limit) result.hits.resize(query.limit);
  for (Hit& h : result.hits) explain(h, h.name_id);
  if (!result.hits.empty()) {
    result.score = result.hits[0].score;
    result.decision = result.hits[0].decision;
  }
  return result;
}

Screener::Screener(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Screener::~Screener() = default;

Result<std::unique_ptr<Screener>> Screener::Build(std::vector<ListEntity> entities,
                                                  ScreenerOptions options) {
  CUSTODIAN_RETURN_IF_ERROR(CheckThresholds(options.thresholds));
  if (options.candidates == 0 || options.candidates > 10000) {
    return Status::InvalidInput("candidates: must be in 1..10000");
  }
  if (entities.size() >= (size_t{1} << 31)) return Status::InvalidInput("too many entities");
  auto start = std::chrono::steady_clock::now();
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->entities = std::move(entities);
  impl->Build();
  impl->stats.build_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return std::unique_ptr<Screener>(new Screener(std::move(impl)));
}

namespace {

// Checks the query; fills the normalised name and the query's countries.
Status PrepareQuery(const ScreenQuery& query, NormalizedName* qn,
                    std::vector<std::string>* countries) {
  if (query.limit == 0 || query.limit > 100) {
    return Status::InvalidInput("limit: must be in 1..100");
  }
  *qn = Normalizer::Default().Normalize(query.name, query.schema);
  if (qn->original.empty()) return Status::InvalidInput("name: is empty");
  if (qn->tokens.empty()) {
    return Status::InvalidInput("name: has no letters or digits to compare");
  }
  if (!query.country.empty()) {
    std::string code = CountryCode(query.country);
    if (code.empty()) {
      return Status::InvalidInput("country: unknown country \"" + query.country + "\"");
    }
    countries->push_back(code);
  }
  return Status::Ok();
}

}  // namespace

ScreenResult Screener::Impl::Run(const ScreenQuery& query, bool exhaustive) const {
  NormalizedName qn;
  std::vector<std::string> countries;
  if (Status s = PrepareQuery(query, &qn, &countries); !s.ok()) {
    ScreenResult r;
    r.query = query;
    r.status = s;
    return r;
  }
  if (!exhaustive) return Finish(query, qn, countries, Candidates(qn));
  std::vector<NameId> all(names.size());
  for (NameId i = 0; i < all.size(); ++i) all[i] = i;
  return Finish(query, qn, countries, all);
}

ScreenResult Screener::Screen(const ScreenQuery& query) const {
  return impl_->Run(query, /*exhaustive=*/false);
}

ScreenResult Screener::ScreenExhaustive(const ScreenQuery& query) const {
  return impl_->Run(query, /*exhaustive=*/true);
}

std::vector<ScreenResult> Screener::ScreenBatch(
    const std::vector<ScreenQuery>& queries, size_t threads,
    const std::function<void(size_t done)>& progress) const {
  std::vector<ScreenResult> results(queries.size());
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = std::min(threads, std::max<size_t>(1, queries.size() / 64));
  std::atomic<size_t> next{0}, done{0};
  auto work = [&](bool reporter) {
    constexpr size_t kChunk = 64;
    while (true) {
      size_t begin = next.fetch_add(kChunk);
      if (begin >= queries.size()) break;
      size_t end = std::min(begin + kChunk, queries.size());
      for (size_t i = begin; i < end; ++i) results[i] = Screen(queries[i]);
      size_t now = done.fetch_add(end - begin) + (end - begin);
      if (reporter && progress) progress(now);
    }
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work, false);
  work(true);
  for (auto& t : pool) t.join();
  if (progress) progress(queries.size());
  return results;
}

const std::vector<ListEntity>& Screener::entities() const {
  return impl_->entities;
}
const Thresholds& Screener::thresholds() const {
  return impl_->options.thresholds;
}
IndexStats Screener::stats() const {
  return impl_->stats;
}

nlohmann::json ResultToJson(const ScreenResult& result) {
  using nlohmann::json;
  json query = {{"id", result.query.id},
                {"name", result.query.name},
                {"country", result.query.country},
                {"type", SchemaName(result.query.schema)}};
  if (!result.status.ok()) return {{"query", query}, {"error", result.status.message()}};
  json hits = json::array();
  for (const Hit& h : result.hits) {
    json alignments = json::array();
    for (const auto& a : h.explanation.alignments) {
      alignments.push_back({{"query", a.query},
                            {"list", a.list},
                            {"how", a.how},
                            {"similarity", std::round(a.similarity * 1000) / 1000},
                            {"weight", std::round(a.weight * 1000) / 1000}});
    }
    json adjustments = json::array();
    for (const auto& a : h.explanation.adjustments) {
      adjustments.push_back({{"reason", a.reason}, {"delta", std::round(a.delta * 1000) / 1000}});
    }
    hits.push_back({{"class", DecisionName(h.decision)},
                    {"score", std::round(h.score * 1000) / 1000},
                    {"list", h.list_id},
                    {"source_id", h.source_id},
                    {"source_list", h.source_list},
                    {"entity_name", h.entity_name},
                    {"matched_name", h.matched_name},
                    {"alias", h.matched_alias},
                    {"type", SchemaName(h.schema)},
                    {"countries", h.countries},
                    {"programs", h.programs},
                    {"explanation",
                     {{"name_score", std::round(h.explanation.name_score * 1000) / 1000},
                      {"alignments", alignments},
                      {"unmatched_query", h.explanation.unmatched_query},
                      {"unmatched_list", h.explanation.unmatched_list},
                      {"adjustments", adjustments}}}});
  }
  return {{"query", query},
          {"class", DecisionName(result.decision)},
          {"score", std::round(result.score * 1000) / 1000},
          {"hits", hits}};
}

}  // namespace custodian::screen
