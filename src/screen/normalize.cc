#include "screen/normalize.h"

#include <unicode/normalizer2.h>
#include <unicode/translit.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/uscript.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "custodian/org_types_yml.h"

namespace custodian::screen {

const char* TokenClassName(TokenClass c) {
  switch (c) {
    case TokenClass::kWord:
      return "word";
    case TokenClass::kGeneric:
      return "generic";
    case TokenClass::kLegalForm:
      return "legal-form";
    case TokenClass::kNumber:
      return "number";
    case TokenClass::kStop:
      return "stop";
  }
  return "word";
}

namespace {

// Russian/Ukrainian/Belarusian in BGN/PCGN romanisation first, because that is how the US
// lists spell them ("Lukashenko", not ISO 9's "Lukašenko"); every other script through ICU's
// generic Any-Latin; then accents and ligatures off.
constexpr const char* kTransformId =
    "Russian-Latin/BGN; Ukrainian-Latin/BGN; Belarusian-Latin/BGN; Any-Latin; Latin-ASCII";

bool IsAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// A raw token and the separator that preceded it, before classification.
struct RawToken {
  std::string text;
  char sep_before = ' ';      // the last non-space separator before it ('.', '-', ',' …) or ' '
  size_t begin = 0, end = 0;  // byte span in the Latin string
};

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool IsDigitToken(const std::string& t) {
  return std::any_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Splits lower-case ASCII into tokens: letters and digits; apostrophes are dropped inside a
// word ("xi'an" -> "xian"); "&" and "+" become "and"; initialisms written with dots are
// joined ("p.l.c." -> "plc", "s.a." -> "sa"); numbers joined by - / . stay one token.
std::vector<RawToken> SplitTokens(const std::string& s) {
  std::vector<RawToken> out;
  char sep = ' ';
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (IsAlnum(c)) {
      RawToken t;
      t.sep_before = sep;
      t.begin = i;
      while (i < s.size()) {
        if (IsAlnum(s[i])) {
          t.text += s[i++];
        } else if ((s[i] == '\'' || s[i] == '`') && i + 1 < s.size() && IsAlnum(s[i + 1])) {
          ++i;  // apostrophe inside a word
        } else {
          break;
        }
      }
      t.end = i;
      out.push_back(std::move(t));
      sep = ' ';
      continue;
    }
    if (c == '&' || c == '+') {
      RawToken t;
      t.text = "and";
      t.sep_before = sep;
      t.begin = i;
      t.end = i + 1;
      out.push_back(std::move(t));
      sep = ' ';
    } else if (c != ' ') {
      sep = c;
    }
    ++i;
  }
  // Join dotted initialisms and hyphenated numbers.
  std::vector<RawToken> joined;
  for (size_t k = 0; k < out.size(); ++k) {
    RawToken t = out[k];
    if (t.text.size() == 1 && !IsDigitToken(t.text)) {
      size_t m = k + 1;
      while (m < out.size() && out[m].sep_before == '.' && out[m].text.size() == 1 &&
             !IsDigitToken(out[m].text)) {
        t.text += out[m].text;
        t.end = out[m].end;
        ++m;
      }
      // Only a real initialism (at least two letters written with dots).
      if (m > k + 1) {
        joined.push_back(std::move(t));
        k = m - 1;
        continue;
      }
      t = out[k];
    }
    if (IsDigitToken(t.text)) {
      size_t m = k + 1;
      while (m < out.size() && IsDigitToken(out[m].text) &&
             (out[m].sep_before == '-' || out[m].sep_before == '/' || out[m].sep_before == '.')) {
        t.text += out[m].sep_before;
        t.text += out[m].text;
        t.end = out[m].end;
        ++m;
      }
      k = m - 1;
    }
    joined.push_back(std::move(t));
  }
  return joined;
}

// Words that appear in many organisation names and say little about which one is meant.
// Plural and adjective forms map to one stem so "Technologies" meets "Technology".
const std::unordered_map<std::string, std::string>& GenericWords() {
  static const auto* kMap = [] {
    auto* m = new std::unordered_map<std::string, std::string>;
    const std::vector<std::pair<std::string, std::vector<std::string>>> stems = {
        {"technology", {"technology", "technologies", "technological", "tech", "techn"}},
        {"trading", {"trading", "trade", "traders", "trader"}},
        {"group", {"group", "groups", "grp"}},
        {"international", {"international", "intl", "internacional", "international's"}},
        {"industry", {"industry", "industries", "industrial", "ind", "inds"}},
        {"holding", {"holding", "holdings", "hldgs"}},
        {"company", {"company", "companies", "co", "compania", "companhia", "cie"}},
        {"corporation", {"corporation", "corp", "corporate"}},
        {"enterprise", {"enterprise", "enterprises", "entreprise"}},
        {"development", {"development", "developments", "dev"}},
        {"investment", {"investment", "investments", "invest"}},
        {"service", {"service", "services", "svc", "svcs"}},
        {"import", {"import", "imports", "importing", "importer"}},
        {"export", {"export", "exports", "exporting", "exporter"}},
        {"logistics", {"logistics", "logistic"}},
        {"electronics", {"electronics", "electronic", "electric", "electrical", "elec"}},
        {"engineering", {"engineering", "engineers", "eng"}},
        {"science", {"science", "sciences", "scientific", "sci"}},
        {"research", {"research"}},
        {"institute", {"institute", "institution", "inst"}},
        {"university", {"university", "univ"}},
        {"national", {"national", "natl"}},
        {"general", {"general"}},
        {"global", {"global"}},
        {"product", {"product", "products"}},
        {"manufacturing", {"manufacturing", "manufacture", "manufacturer", "mfg"}},
        {"equipment", {"equipment"}},
        {"system", {"system", "systems"}},
        {"solution", {"solution", "solutions"}},
        {"shipping", {"shipping", "shipment"}},
        {"energy", {"energy"}},
        {"communication",
         {"communication", "communications", "telecommunication", "telecommunications", "telecom"}},
        {"network", {"network", "networks"}},
        {"software", {"software"}},
        {"material", {"material", "materials"}},
        {"machinery", {"machinery", "machine", "machines"}},
        {"supply", {"supply", "supplies", "supplier"}},
        {"chemical", {"chemical", "chemicals", "chem"}},
        {"commercial", {"commercial", "commerce"}},
        {"management", {"management", "mgmt"}},
        {"association", {"association", "assn"}},
        {"center", {"center", "centre"}},
        {"department", {"department", "dept"}},
        {"bureau", {"bureau"}},
        {"academy", {"academy"}},
        {"laboratory", {"laboratory", "laboratories", "lab", "labs"}},
        {"business", {"business"}},
        {"partner", {"partner", "partners"}},
        {"venture", {"venture", "ventures"}},
        {"capital", {"capital"}},
        {"resource", {"resource", "resources"}},
        {"branch", {"branch"}},
        {"office", {"office"}},
        {"factory", {"factory", "plant", "works"}},
        {"construction", {"construction"}},
        {"import-export", {"impex"}},
    };
    for (const auto& [stem, forms] : stems) {
      for (const auto& f : forms) (*m)[f] = stem;
    }
    return m;
  }();
  return *kMap;
}

// Particles and function words: ignored by the scorer (they are in most names of a language).
const std::unordered_set<std::string>& StopWords() {
  static const std::unordered_set<std::string> kStop = {
      "the", "of", "and", "for", "in",  "on",  "at", "a",   "de",   "du",   "des", "la",
      "le",  "el", "al",  "y",   "und", "et",  "e",  "i",   "der",  "die",  "das", "von",
      "van", "da", "do",  "dos", "das", "del", "di", "bin", "ibn",  "bint", "ben", "ul",
      "ud",  "ad", "as",  "az",  "ar",  "ash", "at", "to",  "with", "by"};
  return kStop;
}

// Expansions for abbreviations that are not generic words themselves.
const std::unordered_map<std::string, std::string>& Abbreviations() {
  static const std::unordered_map<std::string, std::string> kAbbrev = {
      {"bros", "brothers"},        {"govt", "government"},
      {"pharm", "pharmaceutical"}, {"pharma", "pharmaceutical"},
      {"mgt", "management"},       {"aero", "aeronautical"},
      {"mach", "machinery"},       {"equip", "equipment"},
      {"instr", "instrument"},     {"st", "saint"},
      {"ste", "sainte"},           {"mt", "mount"}};
  return kAbbrev;
}

}  // namespace

// Phonetic key: a consonant skeleton that romanisation variants share ("jinping"/"chinping",
// "mohammed"/"muhammad", "tsai"/"cai"). Vowels are dropped after the first letter, which is
// kept as a class (any vowel -> "a"); similar consonants share one letter; runs collapse.
std::string PhoneticKey(const std::string& token) {
  if (token.empty() || IsDigitToken(token)) return "";
  std::string s;
  for (size_t i = 0; i < token.size(); ++i) {
    char c = token[i];
    char n = i + 1 < token.size() ? token[i + 1] : '\0';
    auto two = [&](const char* d) { return c == d[0] && n == d[1]; };
    if (two("ph")) {
      s += 'f';
      ++i;
      continue;
    }
    if (two("sh") || two("zh") || two("ch") || two("tch")) {
      s += 'j';
      ++i;
      continue;
    }
    if (two("kh") || two("gh") || two("ck")) {
      s += 'k';
      ++i;
      continue;
    }
    if (two("ts") || two("tz") || two("dz")) {
      s += 's';
      ++i;
      continue;
    }
    if (two("th") || two("dh")) {
      s += 't';
      ++i;
      continue;
    }
    switch (c) {
      case 'a':
      case 'e':
      case 'i':
      case 'o':
      case 'u':
      case 'y':
      case 'h':
        s += (s.empty() && c != 'h') ? 'a' : '.';
        break;
      case 'q':
      case 'c':
      case 'g':
      case 'k':
        s += 'k';
        break;
      case 'x':
      case 'z':
      case 's':
        s += 's';
        break;
      case 'j':
        s += 'j';
        break;
      case 'w':
      case 'v':
        s += 'v';
        break;
      case 'd':
      case 't':
        s += 't';
        break;
      case 'b':
      case 'p':
        s += 'p';
        break;
      default:
        s += c;
    }
  }
  std::string key;
  for (char c : s) {
    if (c == '.') continue;
    if (!key.empty() && key.back() == c) continue;
    key += c;
  }
  return key;
}

struct Normalizer::Impl {
  std::unique_ptr<icu::Transliterator> prototype;
  const icu::Normalizer2* nfkc_casefold = nullptr;
  // Legal-form phrases as normalised token sequences joined by ' ' -> the token the scorer
  // compares (the generic kind, else the compare form) and the specific form for reports.
  struct LegalForm {
    std::string token;
    std::string specific;
  };
  std::unordered_map<std::string, LegalForm> legal_forms;
  size_t legal_form_max_tokens = 1;

  // Unicode -> lower-case Latin ASCII.
  // With scan_only, only sets the script flags and returns "".
  std::string ToLatin(const icu::UnicodeString& folded, bool* non_latin, bool* syllabic = nullptr,
                      bool scan_only = false) const;
  std::vector<RawToken> LatinTokens(const std::string& latin) const { return SplitTokens(latin); }
  Status LoadLegalForms();
};

std::string Normalizer::Impl::ToLatin(const icu::UnicodeString& folded, bool* non_latin,
                                      bool* syllabic, bool scan_only) const {
  bool needs_transform = false;
  for (int32_t i = 0; i < folded.length();) {
    UChar32 c = folded.char32At(i);
    i += U16_LENGTH(c);
    if (c < 0x80) continue;
    needs_transform = true;
    UErrorCode err = U_ZERO_ERROR;
    UScriptCode script = uscript_getScript(c, &err);
    if (U_SUCCESS(err) && u_isalpha(c) && script != USCRIPT_LATIN && script != USCRIPT_COMMON &&
        script != USCRIPT_INHERITED) {
      *non_latin = true;
      if (syllabic != nullptr && (script == USCRIPT_HAN || script == USCRIPT_HANGUL ||
                                  script == USCRIPT_HIRAGANA || script == USCRIPT_KATAKANA)) {
        *syllabic = true;
      }
    }
  }
  if (scan_only) return "";
  icu::UnicodeString text(folded);
  if (needs_transform) {
    // Transliterators are not safe to share between threads: one clone per thread.
    thread_local const Impl* owner = nullptr;
    thread_local std::unique_ptr<icu::Transliterator> local;
    if (owner != this || !local) {
      local.reset(prototype->clone());
      owner = this;
    }
    local->transliterate(text);
  }
  std::string out;
  text.toUTF8String(out);
  // Anything ICU left outside ASCII (symbols without a Latin form) becomes a separator.
  for (char& c : out) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) {
      c = ' ';
    } else if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

namespace {

icu::UnicodeString FoldCase(const icu::Normalizer2* nfkc_cf, std::string_view utf8) {
  icu::UnicodeString u = icu::UnicodeString::fromUTF8(
      icu::StringPiece(utf8.data(), static_cast<int32_t>(utf8.size())));
  UErrorCode err = U_ZERO_ERROR;
  icu::UnicodeString folded = nfkc_cf->normalize(u, err);
  return U_SUCCESS(err) ? folded : u;
}

std::string JoinTexts(const std::vector<RawToken>& tokens, size_t from, size_t to) {
  std::string s;
  for (size_t i = from; i < to; ++i) {
    if (i > from) s += ' ';
    s += tokens[i].text;
  }
  return s;
}

}  // namespace

Status Normalizer::Impl::LoadLegalForms() {
  YAML::Node root;
  try {
    root = YAML::Load(kOrgTypesYaml);
  } catch (const YAML::Exception& e) {
    return Status::Internal(std::string("legal-form dictionary: ") + e.what());
  }
  const YAML::Node types = root["types"];
  if (!types || !types.IsSequence()) {
    return Status::Internal("legal-form dictionary: no 'types' list");
  }
  for (const auto& type : types) {
    auto text_of = [&](const char* key) {
      const YAML::Node n = type[key];
      return n && n.IsScalar() ? n.as<std::string>() : std::string();
    };
    std::string form = text_of("compare");
    if (form.empty()) form = text_of("display");
    if (form.empty()) form = text_of("generic");
    if (form.empty()) continue;
    bool unused = false;
    // Canonical tokens: letters without spaces ("Sdn Bhd" -> "sdnbhd"); the generic kind
    // ("LLC") is what names are compared by.
    auto squash = [&](const std::string& text) {
      std::string out;
      for (const auto& t : SplitTokens(ToLatin(FoldCase(nfkc_casefold, text), &unused))) {
        out += t.text;
      }
      return out;
    };
    std::string specific = squash(form);
    if (specific.empty()) continue;
    std::string generic = squash(text_of("generic"));
    LegalForm entry{generic.empty() ? specific : generic, specific};
    std::vector<std::string> spellings = {form, text_of("display"), text_of("compare")};
    if (const YAML::Node aliases = type["aliases"]; aliases && aliases.IsSequence()) {
      for (const auto& a : aliases) {
        if (a.IsScalar()) spellings.push_back(a.as<std::string>());
      }
    }
    for (const auto& spelling : spellings) {
      if (spelling.empty()) continue;
      auto tokens = SplitTokens(ToLatin(FoldCase(nfkc_casefold, spelling), &unused));
      if (tokens.empty()) continue;
      std::string key = JoinTexts(tokens, 0, tokens.size());
      // The first entry to claim a spelling keeps it (the file lists the main forms first).
      legal_forms.emplace(key, entry);
      legal_form_max_tokens = std::max(legal_form_max_tokens, tokens.size());
    }
  }
  if (legal_forms.empty()) return Status::Internal("legal-form dictionary: no entries");
  return Status::Ok();
}

Normalizer::Normalizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Normalizer::~Normalizer() = default;

Result<std::shared_ptr<const Normalizer>> Normalizer::Create() {
  auto impl = std::make_unique<Impl>();
  UErrorCode err = U_ZERO_ERROR;
  impl->nfkc_casefold = icu::Normalizer2::getNFKCCasefoldInstance(err);
  if (U_FAILURE(err) || impl->nfkc_casefold == nullptr) {
    return Status::Internal(std::string("ICU NFKC_Casefold: ") + u_errorName(err));
  }
  UParseError parse_error;
  impl->prototype.reset(icu::Transliterator::createInstance(
      icu::UnicodeString::fromUTF8(kTransformId), UTRANS_FORWARD, parse_error, err));
  if (U_FAILURE(err) || !impl->prototype) {
    return Status::Internal(std::string("ICU transliterator \"") + kTransformId +
                            "\": " + u_errorName(err));
  }
  CUSTODIAN_RETURN_IF_ERROR(impl->LoadLegalForms());
  return std::shared_ptr<const Normalizer>(new Normalizer(std::move(impl)));
}

const Normalizer& Normalizer::Default() {
  static const std::shared_ptr<const Normalizer> kDefault = [] {
    auto created = Create();
    if (!created.ok()) {
      std::fprintf(stderr, "custodian: %s\n", created.status().message().c_str());
      std::abort();
    }
    return *created;
  }();
  return *kDefault;
}

namespace {

// Cuts at `max` bytes without splitting a UTF-8 sequence.
std::string_view CutUtf8(std::string_view s, size_t max) {
  if (s.size() <= max) return s;
  size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return s.substr(0, end);
}

std::string_view Trim(std::string_view s) {
  auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// The common words of Chinese organisation names, in English, so 华为技术有限公司 meets
// "Huawei Technologies Co., Ltd." (pinyin would give "ji shu" for 技术, which no English list
// name contains). Longest first; legal forms become spellings the dictionary knows.
icu::UnicodeString TranslateHanWords(const icu::UnicodeString& text) {
  static const std::vector<std::pair<icu::UnicodeString, icu::UnicodeString>> kWords = [] {
    const std::pair<const char*, const char*> table[] = {
        {"股份有限公司", " jsc "},     {"有限责任公司", " llc "},   {"有限公司", " co ltd "},
        {"进出口", " import export "}, {"研究所", " institute "},   {"研究院", " institute "},
        {"半导体", " semiconductor "}, {"技术", " technology "},    {"科技", " technology "},
        {"电子", " electronics "},     {"集团", " group "},         {"贸易", " trading "},
        {"商贸", " trading "},         {"国际", " international "}, {"工业", " industry "},
        {"实业", " industry "},        {"控股", " holding "},       {"发展", " development "},
        {"投资", " investment "},      {"研究", " research "},      {"大学", " university "},
        {"学院", " academy "},         {"航空", " aviation "},      {"航天", " aerospace "},
        {"信息", " information "},     {"网络", " network "},       {"通信", " communication "},
        {"通讯", " communication "},   {"设备", " equipment "},     {"制造", " manufacturing "},
        {"物流", " logistics "},       {"机械", " machinery "},     {"软件", " software "},
        {"能源", " energy "},          {"材料", " material "},      {"仪器", " instrument "},
        {"系统", " system "},          {"工程", " engineering "},   {"服务", " service "},
        {"中心", " center "},          {"公司", " company "},       {"厂", " factory "}};
    std::vector<std::pair<icu::UnicodeString, icu::UnicodeString>> out;
    for (const auto& [han, english] : table) {
      out.emplace_back(icu::UnicodeString::fromUTF8(han), icu::UnicodeString::fromUTF8(english));
    }
    return out;
  }();
  bool has_han = false;
  for (int32_t i = 0; i < text.length() && !has_han;) {
    UChar32 c = text.char32At(i);
    i += U16_LENGTH(c);
    UErrorCode err = U_ZERO_ERROR;
    has_han = c >= 0x2E80 && uscript_getScript(c, &err) == USCRIPT_HAN;
  }
  if (!has_han) return text;
  icu::UnicodeString out(text);
  for (const auto& [han, english] : kWords) out.findAndReplace(han, english);
  return out;
}

// Only digits (with inner - / .): "2004-1", "44". Words with digits in them ("4paradigm",
// "sky17") are names and count as words.
bool IsNumberToken(const std::string& t) {
  return IsDigitToken(t) && std::all_of(t.begin(), t.end(), [](char c) {
           return (c >= '0' && c <= '9') || c == '-' || c == '/' || c == '.';
         });
}

// A digit between two letters imitates a letter ("sech1n", "ig0r", "i9or").
void UndoLeetspeak(std::string& t) {
  static const char kLetterFor[] = "oizeasgtbg";  // 0..9
  for (size_t i = 1; i + 1 < t.size(); ++i) {
    bool letter_before = t[i - 1] >= 'a' && t[i - 1] <= 'z';
    bool letter_after = t[i + 1] >= 'a' && t[i + 1] <= 'z';
    if (t[i] >= '0' && t[i] <= '9' && letter_before && letter_after) t[i] = kLetterFor[t[i] - '0'];
  }
}

// Value of an English number word or ordinal below 100 ("four", "forty", "fourth"), or -1.
int NumberWord(const std::string& w) {
  static const std::unordered_map<std::string, int> kWords = {
      {"zero", 0},     {"one", 1},      {"two", 2},        {"three", 3},     {"four", 4},
      {"five", 5},     {"six", 6},      {"seven", 7},      {"eight", 8},     {"nine", 9},
      {"ten", 10},     {"eleven", 11},  {"twelve", 12},    {"thirteen", 13}, {"fourteen", 14},
      {"fifteen", 15}, {"sixteen", 16}, {"seventeen", 17}, {"eighteen", 18}, {"nineteen", 19},
      {"twenty", 20},  {"thirty", 30},  {"forty", 40},     {"fourty", 40},   {"fifty", 50},
      {"sixty", 60},   {"seventy", 70}, {"eighty", 80},    {"ninety", 90},   {"first", 1},
      {"second", 2},   {"third", 3},    {"fourth", 4},     {"fifth", 5},     {"sixth", 6},
      {"seventh", 7},  {"eighth", 8},   {"ninth", 9},      {"tenth", 10},    {"1st", 1},
      {"2nd", 2},      {"3rd", 3},      {"4th", 4},        {"5th", 5},       {"6th", 6},
      {"7th", 7},      {"8th", 8},      {"9th", 9},        {"10th", 10}};
  auto it = kWords.find(w);
  return it == kWords.end() ? -1 : it->second;
}

// Roman numeral of I, V and X only (II … XXXIX), at least two letters; -1 otherwise. Single
// letters are initials far more often than numbers, and L/C/D/M spell names ("Li").
int RomanNumeral(const std::string& w) {
  if (w.size() < 2 || w.find_first_not_of("ivx") != std::string::npos) return -1;
  static const std::unordered_map<std::string, int> kSmall = {
      {"ii", 2}, {"iii", 3}, {"iv", 4}, {"vi", 6}, {"vii", 7}, {"viii", 8}, {"ix", 9}};
  int tens = 0;
  size_t i = 0;
  while (i < w.size() && w[i] == 'x' && tens < 3) {
    ++tens;
    ++i;
  }
  std::string rest = w.substr(i);
  int units = 0;
  if (!rest.empty()) {
    auto it = kSmall.find(rest);
    if (it != kSmall.end()) {
      units = it->second;
    } else if (rest == "i") {
      units = 1;
    } else if (rest == "v") {
      units = 5;
    } else {
      return -1;
    }
  }
  return tens * 10 + units;
}

// Numbers written as words, ordinals and (outside persons' names) Roman numerals become
// digits; "forty four" / "forty-four" / "forty 4" join into "44"; leetspeak is undone.
// "55th" -> 55 (any number with an English ordinal suffix); -1 otherwise.
int OrdinalNumber(const std::string& w) {
  size_t digits = 0;
  while (digits < w.size() && w[digits] >= '0' && w[digits] <= '9') ++digits;
  if (digits == 0 || digits > 6 || w.size() != digits + 2) return -1;
  std::string suffix = w.substr(digits);
  if (suffix != "st" && suffix != "nd" && suffix != "rd" && suffix != "th") return -1;
  return std::stoi(w.substr(0, digits));
}

std::vector<RawToken> ReadNumbers(const std::vector<RawToken>& tokens,
                                  const std::function<bool(size_t)>& roman_at) {
  std::vector<RawToken> out;
  for (size_t i = 0; i < tokens.size(); ++i) {
    RawToken t = tokens[i];
    UndoLeetspeak(t.text);
    int v = NumberWord(t.text);
    if (v < 0) v = OrdinalNumber(t.text);
    if (v < 0) {
      // The cheap spelling test first; where the numeral stands needs a dictionary lookup.
      int roman = RomanNumeral(t.text);
      if (roman >= 0 && roman_at(i)) v = roman;
    }
    if (v >= 20 && v % 10 == 0 && v < 100 && i + 1 < tokens.size()) {
      const std::string& next = tokens[i + 1].text;
      int unit = NumberWord(next);
      if (unit < 0 && next.size() == 1 && next[0] >= '1' && next[0] <= '9') unit = next[0] - '0';
      if (unit >= 1 && unit <= 9) {
        v += unit;
        t.end = tokens[i + 1].end;
        ++i;
      }
    }
    if (v >= 0) t.text = std::to_string(v);
    out.push_back(std::move(t));
  }
  return out;
}

// "LAST, First Middle" -> "First Middle LAST" (one comma only; otherwise unchanged).
std::string ReorderPersonName(std::string_view name) {
  size_t comma = name.find(',');
  if (comma == std::string_view::npos || name.find(',', comma + 1) != std::string_view::npos) {
    return std::string(name);
  }
  std::string_view last = Trim(name.substr(0, comma));
  std::string_view first = Trim(name.substr(comma + 1));
  if (last.empty() || first.empty()) return std::string(name);
  return std::string(first) + " " + std::string(last);
}

}  // namespace

NormalizedName Normalizer::Normalize(std::string_view name, Schema schema) const {
  NormalizedName out;
  std::string_view trimmed = Trim(CutUtf8(name, kMaxNameBytes));
  icu::UnicodeString folded = FoldCase(impl_->nfkc_casefold, trimmed);
  // The original, as valid UTF-8 (ICU replaced any invalid byte with U+FFFD).
  icu::UnicodeString::fromUTF8(
      icu::StringPiece(trimmed.data(), static_cast<int32_t>(trimmed.size())))
      .toUTF8String(out.original);
  folded.toUTF8String(out.script_form);

  std::string latin;
  if (IsAscii(trimmed)) {
    latin.assign(trimmed);
    for (char& c : latin) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
  } else {
    // Typographic apostrophes are apostrophes ("Xi’an" -> "xian", as "Xi'an").
    icu::UnicodeString text = folded;
    for (const char* quote : {"\u2019", "\u2018", "\u02BC", "\u02B9"}) {
      text.findAndReplace(icu::UnicodeString::fromUTF8(quote), icu::UnicodeString("'"));
    }
    // Scripts are those of the name as written, before any word is translated.
    bool unused_non_latin = false, unused_syllabic = false;
    (void)impl_->ToLatin(folded, &out.non_latin_script, &out.syllabic_script, /*scan_only=*/true);
    latin = impl_->ToLatin(schema == Schema::kPerson ? text : TranslateHanWords(text),
                           &unused_non_latin, &unused_syllabic);
  }
  if (schema == Schema::kPerson) latin = ReorderPersonName(latin);

  std::vector<RawToken> split = SplitTokens(latin);
  // Roman numerals count only where organisation names write them: after the name, at its end
  // or before its legal form ("Partners VII L.P.", "Trust XV") — not "Xi An" or "VI Holding".
  auto roman_at = [&](size_t i) {
    if (schema == Schema::kPerson || i == 0) return false;
    if (i + 1 == split.size()) return true;
    return impl_->legal_forms.count(JoinTexts(split, i + 1, split.size())) != 0;
  };
  std::vector<RawToken> raw = ReadNumbers(split, roman_at);
  for (size_t i = 0; i < raw.size(); ++i) {
    if (!out.latin.empty()) out.latin += ' ';
    out.latin += raw[i].text;
  }

  const bool person = schema == Schema::kPerson;
  bool ends_with_form = false;
  for (size_t len = 1; !person && len <= impl_->legal_form_max_tokens && len < raw.size(); ++len) {
    if (impl_->legal_forms.count(JoinTexts(raw, raw.size() - len, raw.size())) != 0) {
      ends_with_form = true;
    }
  }
  const auto& generic = GenericWords();
  const auto& stop = StopWords();
  const auto& abbrev = Abbreviations();
  for (size_t i = 0; i < raw.size();) {
    NameToken token;
    // Longest legal-form phrase starting here. A one-token form ("ag", "sa", "ooo") only at
    // either end of the name, where legal forms are written, so "AG" inside a name stays a word.
    size_t taken = 0;
    if (!person) {
      size_t longest = std::min(impl_->legal_form_max_tokens, raw.size() - i);
      for (size_t len = longest; len >= 1; --len) {
        if (len == 1 && i != 0 && i + 1 != raw.size()) break;
        // A name has one legal form; when it ends with one, its first word is a word
        // ("Unlimited Games OOD"). Nor is a first word joined to the next by a hyphen
        // ("Da-Jiang") or followed by a comma ("PAO, Yu Liang": a surname).
        if (len == 1 && i == 0 &&
            (ends_with_form ||
             (raw.size() > 1 && (raw[1].sep_before == '-' || raw[1].sep_before == ',')))) {
          break;
        }
        if (len == 1 && raw.size() == 1) break;  // a name that is only a legal form
        auto it = impl_->legal_forms.find(JoinTexts(raw, i, i + len));
        if (it != impl_->legal_forms.end()) {
          token.text = it->second.token;
          token.cls = TokenClass::kLegalForm;
          if (out.legal_form.empty()) out.legal_form = it->second.specific;
          taken = len;
          break;
        }
      }
    }
    if (taken == 0) {
      taken = 1;
      token.text = raw[i].text;
      if (IsNumberToken(token.text)) {
        token.cls = TokenClass::kNumber;
      } else if (stop.count(token.text) != 0) {
        token.cls = TokenClass::kStop;
      } else if (auto g = generic.find(token.text); !person && g != generic.end()) {
        token.text = g->second;
        token.cls = TokenClass::kGeneric;
      } else if (auto a = abbrev.find(token.text); !person && a != abbrev.end()) {
        token.text = a->second;
      }
    }
    token.original = latin.substr(raw[i].begin, raw[i + taken - 1].end - raw[i].begin);
    if (token.cls == TokenClass::kWord || token.cls == TokenClass::kGeneric) {
      token.phonetic = PhoneticKey(token.text);
    }
    out.tokens.push_back(std::move(token));
    i += taken;
  }
  return out;
}

}  // namespace custodian::screen
