// Name normalisation for screening (DESIGN §7).
//
// A name is turned into a NormalizedName: its original-script form (ICU NFKC + case folding),
// its Latin-ASCII form (ICU "Any-Latin; Latin-ASCII", so 华为 -> "hua wei", Лукашенко ->
// "lukasenko", Müller -> "muller") and the Latin tokens the scorer compares:
//   - punctuation splits tokens except inside numbers ("2004-1" stays one token) and
//     apostrophes are dropped ("Xi'an" -> "xian");
//   - "LAST, First" (one comma, persons) is reordered to "first last";
//   - "&" is "and"; abbreviations are expanded (co -> company, intl -> international,
//     tech -> technology, corp -> corporation, mfg -> manufacturing …);
//   - legal forms are recognised from the rigour dictionary (third_party/rigour) by the
//     longest run of tokens that spells one ("sdn bhd", "pte ltd", "co ltd", "ooo",
//     "obshchestvo s ogranichennoi otvetstvennostyu" …) and replaced by one token, its compare
//     token of class kLegalForm: its generic kind where the dictionary gives one ("llc" for
//     Ltd, Co. Ltd, Pte. Ltd, Sdn. Bhd, GmbH, OOO …, "jsc" for AG, PLC, OAO …), so a company
//     re-registered under another jurisdiction's form still compares equal; the specific form
//     is kept in `legal_form`. Original-script forms (有限公司, ООО) are found after
//     transliteration, since the dictionary is normalised the same way;
//   - numbers are kept as tokens of class kNumber (they distinguish "Trust 2004-1" from
//     "Trust 2004-2"); English number words and ordinals become digits ("Forty-Four" -> "44",
//     "First"/"1st" -> "1"), as do Roman numerals of I, V and X in organisation names
//     ("Partners VII" -> "7"); a digit between letters is read as the letter it imitates
//     ("Sech1n" -> "sechin", "Ig0r" -> "igor");
//   - generic words of organisation names ("technology", "trading", "group", "international",
//     "industrial" …) get class kGeneric and stop words ("the", "of", "and" …) kStop, so the
//     scorer can weigh them as weak evidence.
// Each token also carries a phonetic key (a simplified Metaphone-like consonant skeleton) for
// romanisation variants (Jinping/Chinping, Mohammed/Muhammad).
//
// Thread-safety: a Normalizer is immutable after Create and may be shared; Normalize is
// thread-safe (ICU transliterators are cloned per thread).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "screen/entity.h"

namespace custodian::screen {

enum class TokenClass {
  kWord,       // distinctive
  kGeneric,    // common in organisation names; weak evidence
  kLegalForm,  // a canonical legal form (one token for "co ltd", "sdn bhd" …)
  kNumber,     // digits (with inner - / .)
  kStop,       // the, of, and …: ignored by the scorer
};
const char* TokenClassName(TokenClass c);

struct NameToken {
  std::string text;      // Latin-ASCII, lower case
  std::string phonetic;  // phonetic key of text ("" for numbers and legal forms)
  TokenClass cls = TokenClass::kWord;
  std::string original;  // the span of the input it came from (for explanations)
};

struct NormalizedName {
  std::string original;           // input, trimmed, valid UTF-8 (invalid bytes -> U+FFFD)
  std::string script_form;        // NFKC + case fold of the original script
  std::string latin;              // Latin-ASCII, lower case, single spaces
  std::vector<NameToken> tokens;  // in order
  std::string legal_form;         // compare form of the legal form found, "" if none
  bool non_latin_script = false;  // the input had letters outside Latin
  // Han, Hangul or Kana letters: one character is one syllable, and a different syllable is a
  // different name (习近平 / 习近朋), so the scorer allows no typos between two such names.
  bool syllabic_script = false;
};

// The phonetic key of one Latin-ASCII token (what NameToken::phonetic holds); "" for numbers.
std::string PhoneticKey(const std::string& token);

class Normalizer {
 public:
  // Loads the compiled-in legal-form dictionary and the ICU transliterators. Internal if ICU
  // lacks a transform (it is part of libicu72, so this means a broken installation).
  static Result<std::shared_ptr<const Normalizer>> Create();
  // A process-wide instance (created on first use; aborts with a message if Create fails).
  static const Normalizer& Default();

  // Never fails: empty or unreadable input gives a NormalizedName without tokens. Inputs
  // longer than kMaxNameBytes are cut (at a character boundary) before normalising.
  NormalizedName Normalize(std::string_view name, Schema schema = Schema::kUnknown) const;

  static constexpr size_t kMaxNameBytes = 1024;

  ~Normalizer();
  Normalizer(const Normalizer&) = delete;
  Normalizer& operator=(const Normalizer&) = delete;

 private:
  struct Impl;
  explicit Normalizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace custodian::screen
