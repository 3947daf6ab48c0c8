#include "screen/countries.h"

#include <unicode/locdspnm.h>
#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <memory>
#include <set>
#include <sstream>
#include <unordered_map>
#include <utility>

namespace custodian::screen {
namespace {

// Spellings the lists use that ICU's display names lack, or that name a territory the lists
// treat as part of a country. Checked before ICU's names, so they win a clash. Sources: the
// country words in ../shared/data/lists (BIS "country", OFAC "nationality"/"citizen"/
// "Nationality of Registration"/vessel flags) and the CSL's usual forms.
constexpr std::pair<const char*, const char*> kListSpellings[] = {
    // Short and official forms.
    {"Russia", "RU"},
    {"Russian Federation", "RU"},
    {"Burma", "MM"},
    {"Myanmar", "MM"},
    {"UAE", "AE"},
    {"U.A.E.", "AE"},
    {"Emirates", "AE"},
    {"Korea, North", "KP"},
    {"North Korea", "KP"},
    {"DPRK", "KP"},
    {"Democratic People's Republic of Korea", "KP"},
    {"Korea, Democratic People's Republic of", "KP"},
    {"Korea, South", "KR"},
    {"South Korea", "KR"},
    {"Republic of Korea", "KR"},
    {"Korea, Republic of", "KR"},
    {"Iran", "IR"},
    {"Iran, Islamic Republic of", "IR"},
    {"Islamic Republic of Iran", "IR"},
    {"Syria", "SY"},
    {"Syrian Arab Republic", "SY"},
    {"Hong Kong", "HK"},
    {"Hong Kong SAR", "HK"},
    {"Hong Kong, China", "HK"},
    {"Macau", "MO"},
    {"Macao", "MO"},
    {"Macau SAR", "MO"},
    {"Macao SAR", "MO"},
    {"Taiwan", "TW"},
    {"Taiwan, Province of China", "TW"},
    {"Chinese Taipei", "TW"},
    {"People's Republic of China", "CN"},
    {"PRC", "CN"},
    {"Mainland China", "CN"},
    {"Turkey", "TR"},
    {"Turkiye", "TR"},
    {"Vietnam", "VN"},
    {"Viet Nam", "VN"},
    {"Laos", "LA"},
    {"Lao PDR", "LA"},
    {"Lao People's Democratic Republic", "LA"},
    {"Moldova", "MD"},
    {"Moldova, Republic of", "MD"},
    {"Republic of Moldova", "MD"},
    {"Czech Republic", "CZ"},
    {"Congo, Democratic Republic of the", "CD"},
    {"Democratic Republic of the Congo", "CD"},
    {"DRC", "CD"},
    {"DR Congo", "CD"},
    {"Congo (Kinshasa)", "CD"},
    {"Congo, Republic of the", "CG"},
    {"Republic of the Congo", "CG"},
    {"Congo (Brazzaville)", "CG"},
    {"North Macedonia, The Republic of", "MK"},
    {"Republic of North Macedonia", "MK"},
    {"Macedonia", "MK"},
    {"Former Yugoslav Republic of Macedonia", "MK"},
    {"Cabo Verde", "CV"},
    {"Ivory Coast", "CI"},
    {"Swaziland", "SZ"},
    {"East Timor", "TL"},
    {"Holy See", "VA"},
    {"Vatican", "VA"},
    {"Micronesia, Federated States of", "FM"},
    {"Federated States of Micronesia", "FM"},
    {"Bosnia-Herzegovina", "BA"},
    {"Bosnia and Herzegovina", "BA"},
    {"Man, Isle of", "IM"},
    {"Virgin Islands, British", "VG"},
    {"Virgin Islands, U.S.", "VI"},
    {"Saint Kitts and Nevis", "KN"},
    {"Saint Vincent and the Grenadines", "VC"},
    {"Sao Tome and Principe", "ST"},
    {"Gambia, The", "GM"},
    {"Bahamas, The", "BS"},
    {"Kosovo", "XK"},
    // The Palestinian territories: OFAC writes a nationality "Palestinian" and places such as
    // "West Bank" and "Gaza"; ISO 3166-1 codes them all PS.
    {"Palestinian", "PS"},
    {"Palestinian Authority", "PS"},
    {"Palestinian Territory", "PS"},
    {"Occupied Palestinian Territory", "PS"},
    {"Palestine", "PS"},
    {"West Bank", "PS"},
    {"Gaza", "PS"},
    {"Gaza Strip", "PS"},
    {"Region: Gaza", "PS"},
    {"Region: West Bank", "PS"},
    // BIS lists Crimea under its own heading; in ISO 3166-1 it is part of Ukraine.
    {"Crimea Region of Ukraine", "UA"},
    {"Crimea", "UA"},
    {"Region: Crimea", "UA"},
    // The United Kingdom and the United States in their many short forms.
    {"UK", "GB"},
    {"U.K.", "GB"},
    {"Great Britain", "GB"},
    {"Britain", "GB"},
    {"England", "GB"},
    {"Scotland", "GB"},
    {"Wales", "GB"},
    {"Northern Ireland", "GB"},
    {"United Kingdom of Great Britain and Northern Ireland", "GB"},
    {"USA", "US"},
    {"U.S.", "US"},
    {"U.S.A.", "US"},
    {"United States of America", "US"},
};

// Locales whose display names are accepted too, after English: lists written by or for
// other jurisdictions (and customers' own inputs) use their own language's country names.
constexpr const char* kOtherLocales[] = {"fr", "de", "es", "pt", "it", "nl", "ru", "zh", "ar"};

// ISO 3166-1 alpha-2 codes, plus XK (Kosovo), the user-assigned code CLDR, the EU and the
// US lists use. ICU also lists DG, EA and IC (exceptionally reserved, not countries): left out.
bool IsExtraIcuRegion(std::string_view code) {
  return code == "DG" || code == "EA" || code == "IC";
}

std::string ToUtf8(const icu::UnicodeString& u) {
  std::string out;
  u.toUTF8String(out);
  return out;
}

// Matching key: compatibility-decomposed, accents and case dropped, "." and apostrophes
// removed ("U.A.E." = "UAE", "Côte d’Ivoire" = "Cote dIvoire"), "&" read as "and", other
// punctuation a word break, the word "the" dropped and "saint" written "st", so "St. Kitts &
// Nevis" = "Saint Kitts and Nevis" and "Gambia, The" = "The Gambia".
std::string Key(std::string_view text) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfkd = icu::Normalizer2::getNFKDInstance(status);
  icu::UnicodeString in = icu::UnicodeString::fromUTF8(
      icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  icu::UnicodeString decomposed = U_SUCCESS(status) ? nfkd->normalize(in, status) : in;
  if (U_FAILURE(status)) decomposed = in;
  icu::UnicodeString folded;
  for (int32_t i = 0; i < decomposed.length();) {
    UChar32 c = decomposed.char32At(i);
    i += U16_LENGTH(c);
    if (u_charType(c) == U_NON_SPACING_MARK) continue;
    if (c == '.' || c == '\'' || c == 0x2019 || c == 0x2018 || c == 0x02BC || c == 0x02BB) {
      continue;
    }
    if (c == '&') {
      folded.append(UNICODE_STRING_SIMPLE(" and "));
    } else if (u_isalnum(c)) {
      folded.append(u_foldCase(c, U_FOLD_CASE_DEFAULT));
    } else {
      folded.append(UChar32(' '));
    }
  }
  std::istringstream words(ToUtf8(folded));
  std::string word;
  std::string key;
  while (words >> word) {
    if (word == "the") continue;
    if (word == "saint") word = "st";
    if (!key.empty()) key += ' ';
    key += word;
  }
  return key;
}

struct Table {
  std::set<std::string> alpha2;                          // upper case
  std::unordered_map<std::string, std::string> alpha3;   // "CHN" -> "CN"
  std::unordered_map<std::string, std::string> by_key;   // Key(name) -> alpha-2
  std::unordered_map<std::string, std::string> english;  // alpha-2 -> English name
};

Table Build() {
  Table t;
  for (const char* const* c = icu::Locale::getISOCountries(); *c != nullptr; ++c) {
    if (!IsExtraIcuRegion(*c)) t.alpha2.insert(*c);
  }
  t.alpha2.insert("XK");
  // First insertion wins: the list spellings, then English, then the other locales.
  for (const auto& [name, code] : kListSpellings) t.by_key.emplace(Key(name), code);
  UDisplayContext short_context[] = {UDISPCTX_LENGTH_SHORT};
  std::unique_ptr<icu::LocaleDisplayNames> short_names(
      icu::LocaleDisplayNames::createInstance(icu::Locale::getEnglish(), short_context, 1));
  for (const std::string& code : t.alpha2) {
    icu::Locale region("", code.c_str());
    icu::UnicodeString name;
    region.getDisplayCountry(icu::Locale::getEnglish(), name);
    std::string english = ToUtf8(name);
    if (!english.empty() && english != code) {
      t.english.emplace(code, english);
      t.by_key.emplace(Key(english), code);
    }
    if (short_names) {
      icu::UnicodeString short_name;
      short_names->regionDisplayName(code.c_str(), short_name);
      std::string s = ToUtf8(short_name);
      // Short forms that are themselves codes ("US", "UK") are handled as codes/spellings.
      if (s.size() > 3) t.by_key.emplace(Key(s), code);
    }
    const char* iso3 = region.getISO3Country();
    if (iso3 != nullptr && iso3[0] != '\0') t.alpha3.emplace(iso3, code);
  }
  for (const char* locale_name : kOtherLocales) {
    icu::Locale locale(locale_name);
    for (const std::string& code : t.alpha2) {
      icu::UnicodeString name;
      icu::Locale("", code.c_str()).getDisplayCountry(locale, name);
      std::string s = ToUtf8(name);
      if (!s.empty() && s != code) t.by_key.emplace(Key(s), code);
    }
  }
  return t;
}

const Table& GetTable() {
  static const Table table = Build();
  return table;
}

bool IsAsciiAlpha(std::string_view s) {
  for (char c : s) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return false;
  }
  return true;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

std::string_view Strip(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

std::string CountryCode(std::string_view name_or_code) {
  std::string_view s = Strip(name_or_code);
  // No country name is this long; refusing early keeps hostile input cheap.
  if (s.empty() || s.size() > 200) return "";
  const Table& t = GetTable();
  if (s.size() == 2 && IsAsciiAlpha(s)) {
    std::string code = Upper(s);
    if (t.alpha2.count(code) != 0) return code;
  }
  // Alpha-3 only in capitals: "can" or "per" in lower case are more likely words than codes.
  if (s.size() == 3 && IsAsciiAlpha(s) && Upper(s) == s) {
    auto it = t.alpha3.find(std::string(s));
    if (it != t.alpha3.end()) return it->second;
  }
  std::string key = Key(s);
  if (key.empty()) return "";
  auto it = t.by_key.find(key);
  return it == t.by_key.end() ? std::string() : it->second;
}

std::string CountryName(std::string_view alpha2) {
  const Table& t = GetTable();
  std::string code = Upper(Strip(alpha2));
  auto it = t.english.find(code);
  return it == t.english.end() ? std::string(alpha2) : it->second;
}

}  // namespace custodian::screen
