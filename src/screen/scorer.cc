#include "screen/scorer.h"

#include "screen/edit_distance.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdio>

namespace custodian::screen {

namespace {

// Evidence each token class carries before rarity. Generic words and legal forms are weak:
// "Trading", "Group" or "Co., Ltd." say little about which company is meant, and a legal form
// changes with the jurisdiction a shell company is registered in.
double ClassWeight(TokenClass cls) {
  switch (cls) {
    case TokenClass::kWord:
      return 1.0;
    case TokenClass::kNumber:
      return 0.6;
    case TokenClass::kGeneric:
      return 0.3;
    case TokenClass::kLegalForm:
      return 0.08;
    case TokenClass::kStop:
      return 0.0;
  }
  return 0.0;
}

// Edits tolerated in a word of `len` letters: none below 4 (short words differ by one letter
// from many others), then about one per four letters.
int AllowedEdits(size_t len) {
  if (len < 4) return 0;
  if (len < 8) return 1;
  if (len < 13) return 2;
  return 3;
}

// Levenshtein distance between two UTF-8 strings counted in code points (short names only).
int CodePointDistance(const std::string& a, const std::string& b) {
  auto decode = [](const std::string& s) {
    std::vector<uint32_t> out;
    for (size_t i = 0; i < s.size();) {
      auto c = static_cast<unsigned char>(s[i]);
      int len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
      uint32_t cp = 0;
      for (int k = 0; k < len && i + k < s.size(); ++k)
        cp = (cp << 8) | static_cast<unsigned char>(s[i + k]);
      out.push_back(cp);
      i += static_cast<size_t>(len);
    }
    return out;
  };
  std::vector<uint32_t> x = decode(a), y = decode(b);
  if (x.size() > 64 || y.size() > 64) return x == y ? 0 : 1;
  std::vector<int> prev(y.size() + 1), cur(y.size() + 1);
  for (size_t j = 0; j <= y.size(); ++j) prev[j] = static_cast<int>(j);
  for (size_t i = 1; i <= x.size(); ++i) {
    cur[0] = static_cast<int>(i);
    for (size_t j = 1; j <= y.size(); ++j) {
      cur[j] =
          std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[y.size()];
}

struct Similarity {
  double value = 0;
  const char* how = "";
};

// How alike two word strings are (texts and phonetic keys given).
// The set of letters in a word, one bit each: an edit changes at most two bits of the
// symmetric difference of two words' sets, so a cheap lower bound on the edit distance.
uint32_t LetterSet(const std::string& w) {
  uint32_t m = 0;
  for (char c : w) m |= 1u << (static_cast<unsigned char>(c) % 32);
  return m;
}

int MinEdits(const std::string& a, const std::string& b) {
  return (std::popcount(LetterSet(a) ^ LetterSet(b)) + 1) / 2;
}

Similarity CompareText(const std::string& a, const std::string& pa, const std::string& b,
                       const std::string& pb) {
  if (a == b) return {1.0, "exact"};
  const size_t longer = std::max(a.size(), b.size());
  const int allowed = AllowedEdits(std::min(a.size(), b.size()));
  // Half the longer word may change for a phonetic or partial match (a skeleton alone is too
  // coarse: "zavod" and "swid" share one); one distance computation serves all three tests.
  const int half = std::max<int>(1, static_cast<int>(longer) / 2);
  const int limit = std::max(allowed, half);
  if (MinEdits(a, b) > limit) return {};
  const int d = EditDistance(a, b, limit);
  if (d > limit) return {};
  Similarity best;
  if (d <= allowed) {
    best = {1.0 - static_cast<double>(d) / static_cast<double>(longer) * 0.9, "typo"};
  }
  // Romanisation variants share a consonant skeleton; worth a little less than a typo of the
  // same word, and only for keys long enough to mean something.
  // Up to half the letters may differ in long words (Mohammed / Muhammad), one in short ones,
  // which share skeletons by chance ("smic" / "xmc").
  if (!pa.empty() && pa == pb && (pa.size() >= 2 || longer <= 3) && d <= (longer <= 5 ? 1 : half)) {
    double v = pa.size() >= 3 ? 0.86 : 0.8;
    if (v > best.value) best = {v, "phonetic"};
  }
  if (best.value > 0) return best;
  // Beyond a typo: partial credit for words that still share most letters (Sechin / Sechev,
  // Merkel / Merkur), so one changed name part lowers the score instead of zeroing it.
  if (std::min(a.size(), b.size()) >= 3 && d <= static_cast<int>(longer) / 2) {
    double v = 0.75 * (1.0 - static_cast<double>(d) / static_cast<double>(longer));
    if (v >= 0.35) return {v, "partial"};
  }
  return {};
}

struct Tok {
  const NameToken* token;
  double weight;
  size_t index;  // position among the kept tokens
};

std::vector<Tok> Weighted(const ScoreInput& input, const TokenRarity* rarity) {
  std::vector<Tok> out;
  const auto& tokens = input.name->tokens;
  out.reserve(tokens.size());
  for (size_t k = 0; k < tokens.size(); ++k) {
    const NameToken& t = tokens[k];
    double w = ClassWeight(t.cls);
    if (w <= 0) continue;
    if (t.cls == TokenClass::kWord) {
      if (input.token_rarity != nullptr && k < input.token_rarity->size()) {
        w *= (*input.token_rarity)[k];
      } else if (rarity != nullptr) {
        w *= rarity->Weight(t.text);
      }
    }
    out.push_back({&t, w, out.size()});
  }
  return out;
}

struct Pair {
  size_t q_begin, q_end;  // [begin, end) of query tokens
  size_t l_begin, l_end;  // of list tokens
  Similarity sim;
};

bool HasDigit(const std::string& t) {
  return std::any_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool IsWordLike(const NameToken& t) {
  return t.cls == TokenClass::kWord || t.cls == TokenClass::kGeneric;
}

// Compares token `a` with `b` by class: numbers and legal forms only exactly; syllables of
// Han/Hangul/Kana names only exactly too (`exact_only`).
Similarity CompareTokens(const NameToken& a, const NameToken& b, bool exact_only) {
  if (exact_only) return a.text == b.text ? Similarity{1.0, "exact"} : Similarity{};
  if (a.cls == TokenClass::kNumber || b.cls == TokenClass::kNumber) {
    if (a.cls == b.cls && a.text == b.text) return {1.0, "number"};
    return {};
  }
  if (a.cls == TokenClass::kLegalForm || b.cls == TokenClass::kLegalForm) {
    if (a.cls == b.cls && a.text == b.text) return {1.0, "legal-form"};
    return {};
  }
  // Words with digits in them ("sky17", "a380") differ when any character does.
  if (HasDigit(a.text) || HasDigit(b.text)) {
    return a.text == b.text ? Similarity{1.0, "exact"} : Similarity{};
  }
  Similarity s = CompareText(a.text, a.phonetic, b.text, b.phonetic);
  // An initial meets a word that starts with it ("J" / "John"): weak, persons mostly.
  if ((a.text.size() == 1 || b.text.size() == 1) && a.text[0] == b.text[0] && s.value < 0.7) {
    return {0.7, "initial"};
  }
  return s;
}

std::string Concat(const std::vector<Tok>& toks, size_t begin, size_t end, const char* sep) {
  std::string s;
  for (size_t i = begin; i < end; ++i) {
    if (i > begin) s += sep;
    s += toks[i].token->text;
  }
  return s;
}

bool AllWordLike(const std::vector<Tok>& toks, size_t begin, size_t end) {
  for (size_t i = begin; i < end; ++i) {
    if (!IsWordLike(*toks[i].token)) return false;
  }
  return true;
}

// A run of 2-3 adjacent tokens on one side written as one token on the other ("hua wei" /
// "huawei", "jin ping" / "jinping", "co operation" / "cooperation").
// A run of adjacent tokens written as one word, with its phonetic key made on first use.
struct JoinedRun {
  explicit JoinedRun(std::string joined) : text(std::move(joined)) {}
  std::string text;
  std::string key;
  bool has_key = false;
  const std::string& Key() {
    if (!has_key) {
      key = PhoneticKey(text);
      has_key = true;
    }
    return key;
  }
};

Similarity CompareJoined(JoinedRun& run, const NameToken& one, bool exact_only) {
  const std::string& joined = run.text;
  if (joined.size() > one.text.size() + 3 || joined.size() + 3 < one.text.size()) return {};
  if (exact_only) return joined == one.text ? Similarity{1.0, "joined"} : Similarity{};
  if (MinEdits(joined, one.text) > AllowedEdits(one.text.size()) &&
      (one.phonetic.empty() || run.Key() != one.phonetic)) {
    return {};
  }
  Similarity s = CompareText(joined, run.Key(), one.text, one.phonetic);
  if (std::string_view(s.how) == "partial") return {};
  if (s.value > 0) s.how = s.value == 1.0 ? "joined" : "joined+typo";
  return s;
}

constexpr double kMinTokenSimilarity = 0.35;

std::vector<Pair> CandidatePairs(const std::vector<Tok>& q, const std::vector<Tok>& l,
                                 bool exact_only) {
  std::vector<Pair> pairs;
  for (size_t i = 0; i < q.size(); ++i) {
    for (size_t j = 0; j < l.size(); ++j) {
      Similarity s = CompareTokens(*q[i].token, *l[j].token, exact_only);
      if (s.value >= kMinTokenSimilarity) pairs.push_back({i, i + 1, j, j + 1, s});
    }
  }
  // Joined/split forms: only between word-like tokens.
  for (size_t len = 2; len <= 3; ++len) {
    for (size_t i = 0; i + len <= q.size(); ++i) {
      if (!AllWordLike(q, i, i + len)) continue;
      JoinedRun run(Concat(q, i, i + len, ""));
      for (size_t j = 0; j < l.size(); ++j) {
        if (!IsWordLike(*l[j].token)) continue;
        Similarity s = CompareJoined(run, *l[j].token, exact_only);
        if (s.value >= kMinTokenSimilarity) pairs.push_back({i, i + len, j, j + 1, s});
      }
    }
    for (size_t j = 0; j + len <= l.size(); ++j) {
      if (!AllWordLike(l, j, j + len)) continue;
      JoinedRun run(Concat(l, j, j + len, ""));
      for (size_t i = 0; i < q.size(); ++i) {
        if (!IsWordLike(*q[i].token)) continue;
        Similarity s = CompareJoined(run, *q[i].token, exact_only);
        if (s.value >= kMinTokenSimilarity) pairs.push_back({i, i + 1, j, j + len, s});
      }
    }
  }
  return pairs;
}

double WeightOf(const std::vector<Tok>& toks, size_t begin, size_t end) {
  double w = 0;
  for (size_t i = begin; i < end; ++i) w += toks[i].weight;
  return w;
}

bool CountriesOverlap(const std::vector<std::string>& a, const std::vector<std::string>& b,
                      std::string* common) {
  for (const auto& x : a) {
    if (std::find(b.begin(), b.end(), x) != b.end()) {
      *common = x;
      return true;
    }
  }
  return false;
}

std::string JoinList(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

}  // namespace

NameScore ScoreNames(const ScoreInput& query, const ScoreInput& listed, const TokenRarity* rarity,
                     bool explain) {
  NameScore out;
  if (query.name == nullptr || listed.name == nullptr) return out;
  const NormalizedName& qn = *query.name;
  const NormalizedName& ln = *listed.name;
  std::vector<Tok> q = Weighted(query, rarity);
  std::vector<Tok> l = Weighted(listed, rarity);
  if (q.empty() || l.empty()) return out;

  // Greedy alignment: best pairs first (similarity, then evidence), each token used once.
  std::vector<Pair> pairs = CandidatePairs(q, l, qn.syllabic_script && ln.syllabic_script);
  std::stable_sort(pairs.begin(), pairs.end(), [&](const Pair& a, const Pair& b) {
    if (a.sim.value != b.sim.value) return a.sim.value > b.sim.value;
    return WeightOf(q, a.q_begin, a.q_end) > WeightOf(q, b.q_begin, b.q_end);
  });
  std::vector<bool> q_used(q.size(), false), l_used(l.size(), false);
  double matched_q = 0, matched_l = 0;
  size_t matched_words = 0, partial_pairs = 0;
  for (const Pair& p : pairs) {
    bool free = true;
    for (size_t i = p.q_begin; i < p.q_end; ++i) free = free && !q_used[i];
    for (size_t j = p.l_begin; j < p.l_end; ++j) free = free && !l_used[j];
    if (!free) continue;
    for (size_t i = p.q_begin; i < p.q_end; ++i) q_used[i] = true;
    for (size_t j = p.l_begin; j < p.l_end; ++j) l_used[j] = true;
    double wq = WeightOf(q, p.q_begin, p.q_end), wl = WeightOf(l, p.l_begin, p.l_end);
    double credit = p.sim.value;
    matched_q += credit * wq;
    matched_l += credit * wl;
    const bool partial = std::string_view(p.sim.how) == "partial";
    for (size_t i = p.q_begin; i < p.q_end; ++i) {
      if (q[i].token->cls == TokenClass::kWord && !partial) ++matched_words;
    }
    if (partial) ++partial_pairs;
    if (!explain) continue;
    TokenAlignment a;
    a.query = Concat(q, p.q_begin, p.q_end, " ");
    a.list = Concat(l, p.l_begin, p.l_end, " ");
    a.how = p.sim.how;
    a.similarity = p.sim.value;
    a.weight = std::max(wq, wl);
    out.explanation.alignments.push_back(std::move(a));
  }
  double total_q = WeightOf(q, 0, q.size()), total_l = WeightOf(l, 0, l.size());
  size_t unmatched_q_words = 0, unmatched_l_words = 0;
  for (size_t i = 0; i < q.size(); ++i) {
    if (!q_used[i]) {
      if (explain) out.explanation.unmatched_query.push_back(q[i].token->text);
      if (q[i].token->cls == TokenClass::kWord) ++unmatched_q_words;
    }
  }
  for (size_t j = 0; j < l.size(); ++j) {
    if (!l_used[j]) {
      if (explain) out.explanation.unmatched_list.push_back(l[j].token->text);
      if (l[j].token->cls == TokenClass::kWord) ++unmatched_l_words;
    }
  }

  // Coverage of each side; the name score leans on the worse-covered side, because a name is
  // only the same name when neither side has much the other lacks.
  double cov_q = matched_q / total_q, cov_l = matched_l / total_l;
  double lo = std::min(cov_q, cov_l), hi = std::max(cov_q, cov_l);
  double name_score = 0.6 * lo + 0.4 * hi;
  const bool person = query.schema == Schema::kPerson || listed.schema == Schema::kPerson;
  // A person's name written in full on one side and shortened on the other (middle names,
  // patronymics, an extra family name): when every part of the shorter name is found, with at
  // least two distinctive parts, the extra parts of the longer one say little.
  if (person && hi >= 0.97 && matched_words >= 2) {
    name_score = std::max(name_score, 0.84 + 0.16 * lo);
  }
  out.explanation.name_score = name_score;
  double score = name_score;
  // Reasons are built only when explaining (they are most of the cost of a cheap score).
  auto adjust = [&](auto&& reason, double delta) {
    score += delta;
    if (explain) out.explanation.adjustments.push_back({std::string(reason()), delta});
  };

  // A name whose only matching evidence is generic words and legal forms is not a match,
  // however well it covers ("China National Trading Co." / "Global Trading Co.").
  if (matched_words == 0 && name_score > 0 && unmatched_q_words + unmatched_l_words > 0) {
    adjust([] { return "no distinctive word in common"; }, -std::min(name_score, 0.3));
  }
  // Persons: a given name or surname present on both sides but different is strong evidence
  // of a different person (Bashar / Hafez al-Assad), more than a missing middle name.
  if (person && unmatched_q_words > 0 && unmatched_l_words > 0) {
    adjust([] { return "different name parts on both sides"; },
           -0.08 * static_cast<double>(std::min(unmatched_q_words, unmatched_l_words)));
  }
  // A single distinctive word matching one of several is weak for a person's full name.
  if (person && matched_words == 1 && (q.size() == 1 || l.size() == 1) &&
      std::max(q.size(), l.size()) >= 3) {
    adjust([] { return "one name part against a full name"; }, -0.1);
  }
  // Two names in Han/Hangul/Kana whose romanisations agree can still be different characters
  // (高石 / 高市 are both "gao shi" once tones are dropped): each character that differs in the
  // original script is a different syllable of the name.
  if (qn.syllabic_script && ln.syllabic_script && qn.script_form != ln.script_form) {
    int differ = CodePointDistance(qn.script_form, ln.script_form);
    if (differ > 0) {
      adjust(
          [&] { return "original script differs in " + std::to_string(differ) + " character(s)"; },
          -0.2 * differ);
    }
  }
  if (query.schema != Schema::kUnknown && listed.schema != Schema::kUnknown &&
      query.schema != listed.schema) {
    adjust(
        [&] {
          return std::string("types differ (") + SchemaName(query.schema) + " / " +
                 SchemaName(listed.schema) + ")";
        },
        -0.1);
  }
  if (query.countries != nullptr && listed.countries != nullptr && !query.countries->empty() &&
      !listed.countries->empty()) {
    std::string common;
    if (CountriesOverlap(*query.countries, *listed.countries, &common)) {
      adjust([&] { return "country agrees (" + common + ")"; }, 0.03);
    } else {
      adjust(
          [&] {
            return "country differs (" + JoinList(*query.countries) + " / " +
                   JoinList(*listed.countries) + ")";
          },
          -0.08);
    }
  }
  if (explain && !qn.legal_form.empty() && !ln.legal_form.empty() &&
      qn.legal_form != ln.legal_form) {
    // Reported, not penalised: a shell company re-registered in another jurisdiction changes
    // exactly this.
    out.explanation.adjustments.push_back(
        {"legal forms differ (" + qn.legal_form + " / " + ln.legal_form + "), weak evidence", 0});
  }
  out.score = std::clamp(score, 0.0, 1.0);
  return out;
}

}  // namespace custodian::screen
