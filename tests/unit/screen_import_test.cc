// List importers (screen/importers.h) and country words (screen/countries.h), on small
// fixtures in tests/data/screen and on the shared real lists in ../shared/data/lists.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/crypto.h"
#include "core/file.h"
#include "screen/countries.h"
#include "screen/importers.h"

namespace custodian::screen {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

std::string SharedList(const std::string& name) {
  return std::string(CUSTODIAN_SOURCE_DIR) + "/../shared/data/lists/" + name;
}
std::string Fixture(const std::string& name) {
  return std::string(CUSTODIAN_SOURCE_DIR) + "/tests/data/screen/" + name;
}
bool Exists(const std::string& path) {
  return ReadFile(path, 1).status().code() != StatusCode::kIoError;
}

#define REQUIRE_SHARED(path) \
  if (!Exists(path)) GTEST_SKIP() << "shared list not present: " << (path)

const ListEntity* Find(const ImportedList& list, const std::string& source_id) {
  for (const ListEntity& e : list.entities) {
    if (e.source_id == source_id) return &e;
  }
  return nullptr;
}
const ListEntity* FindName(const ImportedList& list, const std::string& name) {
  for (const ListEntity& e : list.entities) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

bool IsDate(const std::string& s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

ImportOptions Refuse() {
  ImportOptions o;
  o.on_error = OnRowError::kRefuse;
  return o;
}

// sdn.csv rows as OFAC writes them: "-0- " for null, CRLF, a final 0x1A line.
std::string SdnRow(const std::string& ent_num, const std::string& name, const std::string& type,
                   const std::string& program, const std::string& remarks,
                   const std::string& flag = "-0- ") {
  return ent_num + ",\"" + name + "\"," + type + ",\"" + program + "\",-0- ,-0- ,-0- ,-0- ,-0- ," +
         flag + ",-0- ," + remarks + "\r\n";
}

// ---------------------------------------------------------------------------------------------
// Countries.

TEST(ScreenCountries, IcuNamesCodesAndListSpellings) {
  const std::map<std::string, std::string> cases = {
      {"China", "CN"},
      {"cn", "CN"},
      {" CN ", "CN"},
      {"People's Republic of China", "CN"},
      {"Russia", "RU"},
      {"Russian Federation", "RU"},
      {"Burma", "MM"},
      {"Myanmar (Burma)", "MM"},
      {"UAE", "AE"},
      {"U.A.E.", "AE"},
      {"United Arab Emirates", "AE"},
      {"Korea, North", "KP"},
      {"North Korea", "KP"},
      {"Democratic People's Republic of Korea", "KP"},
      {"Korea, South", "KR"},
      {"South Korea", "KR"},
      {"Iran", "IR"},
      {"Syria", "SY"},
      {"Hong Kong", "HK"},
      {"Hong Kong SAR China", "HK"},
      {"Macau", "MO"},
      {"Taiwan", "TW"},
      {"Turkey", "TR"},
      {"Türkiye", "TR"},
      {"Vietnam", "VN"},
      {"Laos", "LA"},
      {"Moldova", "MD"},
      {"Czech Republic", "CZ"},
      {"Czechia", "CZ"},
      {"Congo, Democratic Republic of the", "CD"},
      {"Congo, Republic of the", "CG"},
      {"West Bank", "PS"},
      {"Palestinian", "PS"},
      {"Region: Gaza", "PS"},
      {"Crimea Region of Ukraine", "UA"},
      {"North Macedonia, The Republic of", "MK"},
      {"The Gambia", "GM"},
      {"Gambia, The", "GM"},
      {"Saint Kitts and Nevis", "KN"},
      {"St. Kitts & Nevis", "KN"},
      {"St. Vincent and the Grenadines", "VC"},
      {"Cote d'Ivoire", "CI"},
      {"Côte d’Ivoire", "CI"},
      {"Cabo Verde", "CV"},
      {"Man, Isle of", "IM"},
      {"Virgin Islands, British", "VG"},
      {"Kosovo", "XK"},
      {"United Kingdom", "GB"},
      {"UK", "GB"},
      {"United States", "US"},
      {"U.S.", "US"},
      {"USA", "US"},
      {"GBR", "GB"},
      {"Deutschland", "DE"},
      {"Allemagne", "DE"},
      {"Россия", "RU"},
      {"中国", "CN"},
  };
  for (const auto& [word, code] : cases) EXPECT_EQ(CountryCode(word), code) << word;
}

TEST(ScreenCountries, UnknownWordsAreEmpty) {
  for (const char* word : {"", "   ", "Atlantis", "Korea", "ZZ", "can", "ussr", "Chechen Ingush",
                           "!!!", "\xff\xfe\x00garbage"}) {
    EXPECT_EQ(CountryCode(word), "") << word;
  }
  EXPECT_EQ(CountryCode(std::string(10000, 'a')), "");
}

TEST(ScreenCountries, NamesRoundTripThroughCodes) {
  EXPECT_EQ(CountryName("CN"), "China");
  EXPECT_EQ(CountryName("de"), "Germany");
  EXPECT_EQ(CountryName("XK"), "Kosovo");
  EXPECT_EQ(CountryName("ZZ"), "ZZ");
  EXPECT_EQ(CountryName("Atlantis"), "Atlantis");
  for (const char* code : {"AF", "AE", "BY", "CN", "CU", "HK", "IR", "KP", "KR", "MM", "PS", "RU",
                           "SY", "TR", "TW", "UA", "US", "VE", "XK"}) {
    EXPECT_EQ(CountryCode(CountryName(code)), code) << code << " " << CountryName(code);
  }
}

// ---------------------------------------------------------------------------------------------
// Formats and inputs that are not lists at all.

TEST(ScreenImport, CheckFormatNamesTheWords) {
  for (const char* f : {"ofac-sdn", "bis-json", "csl-csv", "csl-json"}) {
    EXPECT_TRUE(CheckFormat(f).ok()) << f;
  }
  Status bad = CheckFormat("xlsx");
  EXPECT_EQ(bad.code(), StatusCode::kInvalidInput);
  EXPECT_THAT(bad.message(), HasSubstr("ofac-sdn, bis-json, csl-csv or csl-json"));
  EXPECT_EQ(ImportListTexts("xlsx", {{"a", "b"}}).status().code(), StatusCode::kInvalidInput);
}

TEST(ScreenImport, EmptyMissingAndForeignFilesAreRefused) {
  for (const char* format : {"ofac-sdn", "bis-json", "csl-csv", "csl-json"}) {
    auto none = ImportListTexts(format, {});
    EXPECT_EQ(none.status().code(), StatusCode::kInvalidInput) << format;
    for (const char* text : {"", " \r\n\t\n"}) {
      auto empty = ImportListTexts(format, {{"list.dat", text}});
      ASSERT_FALSE(empty.ok()) << format;
      EXPECT_EQ(empty.status().code(), StatusCode::kInvalidInput);
      EXPECT_EQ(empty.status().message(), "list.dat: is empty");
    }
    auto missing = ImportListFiles(format, {Fixture("no_such_file.csv")});
    EXPECT_EQ(missing.status().code(), StatusCode::kIoError) << format;
  }
  const std::string json_text = R"({"list_id": "bis-meu", "entities": [{"name": "X"}]})";
  const std::string csv_text = "_id,source,name\n1,SDN,ALPHA\n";
  struct Case {
    const char* format;
    std::string text;
    const char* why;
  };
  for (const Case& c :
       {Case{"ofac-sdn", json_text, "not an OFAC sdn.csv"},
        Case{"ofac-sdn", csv_text, "not an OFAC sdn.csv"},
        Case{"bis-json", csv_text, "not BIS list JSON"},
        Case{"bis-json", R"({"list_id": "x", "rows": []})", "\"entities\" array"},
        Case{"bis-json", R"({"entities": []})", "list_id"},
        Case{"csl-csv", json_text, "not a CSL CSV"},
        Case{"csl-csv", "a,b,c\n1,2,3\n", "not a CSL CSV"},
        Case{"csl-json", csv_text, "not CSL JSON"},
        Case{"csl-json", R"({"entities": []})", "not CSL JSON"},
        // Nothing importable: storing it would replace the list with nothing.
        Case{"bis-json", R"({"list_id": "bis-meu", "entities": []})", "no entry could be imported"},
        Case{"csl-csv", "_id,source,name\n", "no entry could be imported"},
        Case{"csl-json", R"({"results": [7]})",
             "no entry could be imported; the first problem: wrong.file:1: "
             "results[0]: must be an object"},
        Case{"ofac-sdn", SdnRow("x", "NAME", "-0- ", "CUBA", "-0- "),
             "no entry could be imported"}}) {
    auto r = ImportListTexts(c.format, {{"wrong.file", c.text}});
    ASSERT_FALSE(r.ok()) << c.format << " " << c.text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidInput);
    EXPECT_THAT(r.status().message(), HasSubstr("wrong.file"));
    EXPECT_THAT(r.status().message(), HasSubstr(c.why));
  }
}

// Binary junk, very long lines and deeply nested JSON end in InvalidInput, not a crash.
TEST(ScreenImport, HostileInputIsRefusedCleanly) {
  std::mt19937 rng(11);
  std::vector<std::string> inputs;
  for (int i = 0; i < 8; ++i) {
    std::string junk(1 << 16, '\0');
    for (char& c : junk) c = static_cast<char>(rng() % 256);
    inputs.push_back(junk);
  }
  inputs.push_back(std::string(4 << 20, 'a'));
  inputs.push_back(std::string(200000, '[') + std::string(200000, ']'));
  inputs.push_back(std::string(200000, '['));
  inputs.push_back(std::string(100000, '"'));
  for (const char* format : {"ofac-sdn", "bis-json", "csl-csv", "csl-json"}) {
    for (const std::string& input : inputs) {
      auto r = ImportListTexts(format, {{"junk.bin", input}});
      ASSERT_FALSE(r.ok()) << format;
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidInput) << format;
      EXPECT_THAT(r.status().message(), HasSubstr("junk.bin")) << format;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// OFAC legacy CSV.

TEST(ScreenImport, OfacRemarksGiveAliasesCountriesAndPrograms) {
  std::string text =
      SdnRow("100", "ALPHA, Omar", "individual", "SDGT] [IFSR",
             "\"DOB 1970; POB Tehran, Iran; nationality Iran; alt. nationality Iraq; citizen "
             "Syria; Passport A123 (Lebanon); Telephone No. (218) 555; a.k.a. 'ABU-'UMAR'; a.k.a. "
             "''FOOPIE''; f.k.a. 'OLD NAME'; n.k.a. 'NEW NAME'; a.k.a. 'ALPHA, Omar'.\"") +
      SdnRow("101", "BETA SHIPPING CO., LTD.", "-0- ", "DPRK4",
             "\"Registration Number 4521 (Korea, North); Nationality of Registration Panama; "
             "nationality possibly Palestinian; a.k.a. 'TRUNCATED NA\"") +
      SdnRow("102", "GAMMA STAR", "vessel", "IRAN", "-0- ", "\"Iran\"") +
      SdnRow("103", "EP-XYZ", "aircraft", "RUSSIA-EO14024", "-0- ") + "\x1a";
  auto list = ImportListTexts("ofac-sdn", {{"sdn.csv", text}}, Refuse());
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_TRUE(list->issues.empty());
  ASSERT_EQ(list->entities.size(), 4u);
  const ListEntity& alpha = list->entities[0];
  EXPECT_EQ(alpha.list_id, "ofac-sdn");
  EXPECT_EQ(alpha.source_id, "100");
  EXPECT_EQ(alpha.name, "ALPHA, Omar");  // as published; normalisation reorders later
  EXPECT_EQ(alpha.schema, Schema::kPerson);
  EXPECT_EQ(alpha.programs, "SDGT; IFSR");
  EXPECT_THAT(alpha.aliases, ElementsAre("ABU-'UMAR", "FOOPIE", "OLD NAME", "NEW NAME"));
  // Nationality, citizenship and an identifier's issuing country; not the place of birth
  // alone (Iran is here through the nationality).
  EXPECT_THAT(alpha.countries, ElementsAre("IR", "IQ", "SY", "LB"));
  EXPECT_THAT(alpha.remarks, HasSubstr("nationality Iran"));

  const ListEntity& beta = list->entities[1];
  EXPECT_EQ(beta.schema, Schema::kOrganization);
  EXPECT_TRUE(beta.aliases.empty());  // the cut-off alias is left out
  EXPECT_THAT(beta.countries, ElementsAre("KP", "PA", "PS"));

  EXPECT_EQ(list->entities[2].schema, Schema::kVessel);
  EXPECT_THAT(list->entities[2].countries, ElementsAre("IR"));
  EXPECT_THAT(list->entities[2].remarks, HasSubstr("Flag: Iran"));
  EXPECT_EQ(list->entities[3].schema, Schema::kAircraft);
  EXPECT_TRUE(list->entities[3].countries.empty());

  EXPECT_EQ(list->info.list_id, "ofac-sdn");
  EXPECT_EQ(list->info.format, "ofac-sdn");
  EXPECT_EQ(list->info.version, "");  // nothing in the text says when
  EXPECT_EQ(list->info.source, "sdn.csv");
  EXPECT_EQ(list->info.entity_count, 4);
  EXPECT_EQ(list->info.name_count, 4 + 4);
  EXPECT_EQ(list->info.sha256, HexEncode(Sha256(AsBytes(text))));
}

TEST(ScreenImport, OfacMalformedRowsAreReportedWithLines) {
  std::string text = SdnRow("1", "GOOD ONE", "-0- ", "CUBA", "-0- ") +        // line 1
                     "2,\"SHORT ROW\",-0- ,\"CUBA\"\r\n" +                    // line 2
                     SdnRow("x3", "BAD NUMBER", "-0- ", "CUBA", "-0- ") +     // line 3
                     SdnRow("4", "-0- ", "-0- ", "CUBA", "-0- ") +            // line 4
                     SdnRow("5", "ROBOT", "robot", "CUBA", "-0- ") +          // line 5
                     SdnRow("1", "GOOD ONE AGAIN", "-0- ", "CUBA", "-0- ") +  // line 6
                     "6,\"BROKEN \"QUOTE\",-0- \r\n" +                        // line 7
                     SdnRow("7", "NOWHERE, Pat", "individual", "SDGT",        // line 8
                            "\"nationality Atlantis.\"") +
                     SdnRow("8", "GOOD TWO", "-0- ", "CUBA", "-0- ") + "\x1a";  // line 9
  auto list = ImportListTexts("ofac-sdn", {{"sdn.csv", text}});
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  std::vector<std::string> ids;
  for (const ListEntity& e : list->entities) ids.push_back(e.source_id);
  EXPECT_THAT(ids, ElementsAre("1", "7", "8"));
  std::vector<std::string> issues;
  for (const RowIssue& i : list->issues) issues.push_back(i.ToString());
  EXPECT_THAT(issues,
              ElementsAre("sdn.csv:2: has 4 columns, expected 12 (sdn.csv)",
                          "sdn.csv:3: ent_num: must be a positive integer, got \"x3\"",
                          "sdn.csv:4: SDN_Name: is empty",
                          "sdn.csv:5: SDN_Type: must be -0-, individual, vessel or aircraft, got "
                          "\"robot\"",
                          "sdn.csv:6: ent_num: duplicate ent_num 1 (first on line 1)",
                          "sdn.csv:7: column 12: text after the closing quote of a field",
                          "sdn.csv:8: Remarks: unknown country \"Atlantis\"; the entry is kept "
                          "without it"));
  EXPECT_EQ(list->issues[0].line, 2);
  EXPECT_EQ(list->issues[2].field, "SDN_Name");

  auto refused = ImportListTexts("ofac-sdn", {{"sdn.csv", text}}, Refuse());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(refused.status().message(), "sdn.csv:2: has 4 columns, expected 12 (sdn.csv)");
}

// An unknown country word never drops a listed party, not even when bad rows are refused.
TEST(ScreenImport, UnknownCountryKeepsTheEntryEvenWhenRefusing) {
  std::string text = SdnRow("7", "NOWHERE, Pat", "individual", "SDGT", "\"nationality Atlantis\"");
  auto list = ImportListTexts("ofac-sdn", {{"sdn.csv", text}}, Refuse());
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->entities.size(), 1u);
  EXPECT_TRUE(list->entities[0].countries.empty());
  ASSERT_EQ(list->issues.size(), 1u);
  EXPECT_EQ(list->issues[0].field, "Remarks");
}

TEST(ScreenImport, OfacFileSetMustHoldOneSdnCsv) {
  std::string sdn = SdnRow("306", "BANCO NACIONAL DE CUBA", "-0- ", "CUBA", "-0- ");
  std::string alt = "306,1,\"aka\",\"BNC\",-0- \r\n";
  auto only_alt = ImportListTexts("ofac-sdn", {{"alt.csv", alt}});
  ASSERT_FALSE(only_alt.ok());
  EXPECT_THAT(only_alt.status().message(), HasSubstr("no sdn.csv"));
  auto two = ImportListTexts("ofac-sdn", {{"a.csv", sdn}, {"b.csv", sdn}});
  ASSERT_FALSE(two.ok());
  EXPECT_THAT(two.status().message(), HasSubstr("b.csv: a second sdn.csv"));
  auto both = ImportListTexts("ofac-sdn", {{"alt.csv", alt}, {"sdn.csv", sdn}});
  ASSERT_TRUE(both.ok()) << both.status().ToString();
  EXPECT_THAT(both->entities[0].aliases, ElementsAre("BNC"));
  EXPECT_EQ(both->info.source, "alt.csv,sdn.csv");
  EXPECT_EQ(both->info.sha256, HexEncode(Sha256(AsBytes(alt + sdn))));
}

TEST(ScreenImport, RealOfacSdn) {
  const std::string sdn = SharedList("ofac_sdn_2024-05-03.csv");
  REQUIRE_SHARED(sdn);
  size_t calls = 0;
  size_t last_done = 0;
  size_t total_seen = 0;
  bool monotonic = true;
  ImportOptions options = Refuse();
  options.progress = [&](size_t done, size_t total) {
    ++calls;
    monotonic = monotonic && done >= last_done;
    last_done = done;
    total_seen = total;
  };
  auto list = ImportListFiles("ofac-sdn", {sdn}, options);
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_TRUE(list->issues.empty()) << list->issues.front().ToString();
  EXPECT_EQ(list->info.entity_count, 14965);
  EXPECT_EQ(list->info.name_count, 18628);  // 14,965 names + 3,663 a.k.a./f.k.a./n.k.a.
  EXPECT_EQ(list->info.sha256, "210ca6b4a8187a34e0850be69ecc6e918f23ad7778b8b5b2f9c9d5fbbaf4e0cb");
  EXPECT_EQ(list->info.source, "ofac_sdn_2024-05-03.csv");
  EXPECT_EQ(list->info.version, "2024-05-03");  // the date in the file's name
  EXPECT_EQ(total_seen, 3909739u);
  EXPECT_EQ(last_done, 3909739u);
  EXPECT_TRUE(monotonic);
  EXPECT_GE(calls, 2u);
  EXPECT_LE(calls, 102u);

  std::map<Schema, int> by_schema;
  std::set<std::string> ids;
  for (const ListEntity& e : list->entities) {
    ++by_schema[e.schema];
    ids.insert(e.source_id);
  }
  EXPECT_EQ(ids.size(), 14965u);
  EXPECT_EQ(by_schema[Schema::kOrganization], 6884);
  EXPECT_EQ(by_schema[Schema::kPerson], 6854);
  EXPECT_EQ(by_schema[Schema::kVessel], 851);
  EXPECT_EQ(by_schema[Schema::kAircraft], 376);

  const ListEntity* bnc = Find(*list, "306");
  ASSERT_NE(bnc, nullptr);
  EXPECT_EQ(bnc->name, "BANCO NACIONAL DE CUBA");
  EXPECT_THAT(bnc->aliases, ElementsAre("BNC"));
  EXPECT_EQ(bnc->programs, "CUBA");
  EXPECT_EQ(bnc->schema, Schema::kOrganization);

  const ListEntity* naway = Find(*list, "9754");
  ASSERT_NE(naway, nullptr);
  EXPECT_EQ(naway->name, "NAWAY, Haji Ali");
  EXPECT_EQ(naway->schema, Schema::kPerson);
  EXPECT_THAT(naway->countries, ElementsAre("IR"));

  const ListEntity* hesa = Find(*list, "11195");
  ASSERT_NE(hesa, nullptr);
  EXPECT_THAT(hesa->aliases, ::testing::Contains("HESA"));
  EXPECT_THAT(hesa->countries, ElementsAre("IR"));  // from its registration numbers

  const ListEntity* mar_azul = Find(*list, "4238");
  ASSERT_NE(mar_azul, nullptr);
  EXPECT_EQ(mar_azul->schema, Schema::kVessel);
  EXPECT_THAT(mar_azul->countries, ElementsAre("CU"));  // Vess_flag
}

TEST(ScreenImport, RealOfacWithAltAndAddFixtures) {
  const std::string sdn = SharedList("ofac_sdn_2024-05-03.csv");
  REQUIRE_SHARED(sdn);
  // alt.csv before sdn.csv: files are recognised by their columns, not by order or name.
  auto list = ImportListFiles(
      "ofac-sdn", {Fixture("ofac_alt_sample.csv"), sdn, Fixture("ofac_add_sample.csv")});
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ(list->info.entity_count, 14965);
  EXPECT_EQ(list->info.source, "ofac_alt_sample.csv,ofac_sdn_2024-05-03.csv,ofac_add_sample.csv");
  EXPECT_NE(list->info.sha256, "210ca6b4a8187a34e0850be69ecc6e918f23ad7778b8b5b2f9c9d5fbbaf4e0cb");
  // Rows for ent_nums the sdn.csv does not have are reported, with file and line.
  ASSERT_EQ(list->issues.size(), 2u);
  EXPECT_THAT(list->issues[0].ToString(),
              HasSubstr("ofac_alt_sample.csv:8: ent_num: unknown ent_num 50544: not in sdn.csv"));
  EXPECT_THAT(list->issues[1].ToString(),
              HasSubstr("ofac_add_sample.csv:10: ent_num: unknown ent_num 48603: not in sdn.csv"));
  // 7 alt rows join, one of them repeating the Remarks' 'BNC'.
  EXPECT_EQ(list->info.name_count, 18628 + 6);

  const ListEntity* bnc = Find(*list, "306");
  ASSERT_NE(bnc, nullptr);
  EXPECT_THAT(bnc->aliases, ElementsAre("BNC", "NATIONAL BANK OF CUBA"));
  EXPECT_EQ(bnc->address, "Calle 17 No. 1 Vedado, Havana, Cuba");
  EXPECT_THAT(bnc->countries, ElementsAre("CU"));
  const ListEntity* gaddafi = Find(*list, "12685");
  ASSERT_NE(gaddafi, nullptr);
  EXPECT_THAT(gaddafi->countries, ElementsAre("CH", "LY"));  // remarks first, then add.csv
  EXPECT_EQ(gaddafi->address,
            "Hay Elandadlus - Jian St, P.O. Box 1101, Tripoli, Libya; 22, Rue Henri-Mussard, "
            "Geneva 1208, Switzerland");
  const ListEntity* suex = Find(*list, "33151");
  ASSERT_NE(suex, nullptr);
  EXPECT_THAT(suex->countries, UnorderedElementsAre("RU", "CZ"));
  const ListEntity* farma = Find(*list, "33997");
  ASSERT_NE(farma, nullptr);
  EXPECT_THAT(farma->countries, ElementsAre("XK"));
  const ListEntity* hernandez = Find(*list, "11935");
  ASSERT_NE(hernandez, nullptr);
  EXPECT_THAT(hernandez->aliases, ElementsAre("HERNANDEZ LECHUGA, Raul Lucio"));

  auto refused = ImportListFiles(
      "ofac-sdn", {Fixture("ofac_alt_sample.csv"), sdn, Fixture("ofac_add_sample.csv")}, Refuse());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidInput);
  EXPECT_THAT(refused.status().message(),
              HasSubstr("ofac_alt_sample.csv:8: ent_num: unknown ent_num 50544"));
}

TEST(ScreenImport, ReimportIsIdempotent) {
  const std::string sdn = SharedList("ofac_sdn_2024-05-03.csv");
  REQUIRE_SHARED(sdn);
  auto first = ImportListFiles("ofac-sdn", {sdn});
  auto second = ImportListFiles("ofac-sdn", {sdn});
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->info.sha256, second->info.sha256);
  EXPECT_EQ(first->info.version, second->info.version);
  ASSERT_EQ(first->entities.size(), second->entities.size());
  for (size_t i = 0; i < first->entities.size(); ++i) {
    EXPECT_EQ(first->entities[i].source_id, second->entities[i].source_id);
    EXPECT_EQ(first->entities[i].aliases, second->entities[i].aliases);
    EXPECT_EQ(first->entities[i].countries, second->entities[i].countries);
  }
}

// ---------------------------------------------------------------------------------------------
// BIS JSON.

TEST(ScreenImport, RealBisEntityList) {
  const std::string path = SharedList("bis_entity_list_2026-07-09.json");
  REQUIRE_SHARED(path);
  auto list = ImportListFiles("bis-json", {path}, Refuse());
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_TRUE(list->issues.empty()) << list->issues.front().ToString();
  EXPECT_EQ(list->info.list_id, "bis-entity-list");
  EXPECT_EQ(list->info.format, "bis-json");
  EXPECT_EQ(list->info.version, "2026-07-09");  // the file's "extracted"
  EXPECT_EQ(list->info.entity_count, 3409);
  EXPECT_EQ(list->info.name_count, 8573);  // 3,409 names + 5,164 distinct aliases
  EXPECT_EQ(list->info.sha256, "2a8fc0755e063688fe62b2f62e4d61725fac3984366bf17f4996ab827377c733");

  std::set<std::string> ids;
  std::map<std::string, int> by_country;
  int suffixed = 0;
  for (const ListEntity& e : list->entities) {
    ids.insert(e.source_id);
    EXPECT_EQ(e.schema, Schema::kUnknown);
    ASSERT_EQ(e.countries.size(), 1u) << e.name;
    ++by_country[e.countries[0]];
    if (e.source_id.size() > 16) ++suffixed;
  }
  EXPECT_EQ(ids.size(), 3409u);
  EXPECT_EQ(suffixed, 3);  // three name+country pairs are listed twice
  EXPECT_EQ(by_country["CN"], 1106);
  EXPECT_EQ(by_country["RU"], 1081);
  EXPECT_EQ(by_country["AE"], 188);
  EXPECT_EQ(by_country["UA"], 11 + 28);  // Ukraine and the Crimea region
  EXPECT_EQ(by_country["MM"], 18);
  EXPECT_EQ(by_country["KR"], 6);

  const ListEntity* first = FindName(*list, "Abdul Satar Ghoura");
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(
      first->source_id,
      HexEncode(Sha256(AsBytes(std::string("Abdul Satar Ghoura\nAfghanistan")))).substr(0, 16));
  EXPECT_THAT(first->countries, ElementsAre("AF"));
  EXPECT_EQ(first->programs, "76 FR 71869, 11/21/11");
  EXPECT_THAT(first->address, HasSubstr("Kabul, Afghanistan"));

  const ListEntity* wong = FindName(*list, "Wong Yung Fai");
  ASSERT_NE(wong, nullptr);
  EXPECT_THAT(wong->aliases, ElementsAre("Tonny Wong"));
  EXPECT_EQ(wong->programs, "75 FR 1701, 1/13/10.; 85 FR 83769, 12/23/20");
  EXPECT_NE(Find(*list, wong->source_id + "-2"), nullptr);
}

TEST(ScreenImport, RealBisMeu) {
  const std::string path = SharedList("bis_meu_2026-07-09.json");
  REQUIRE_SHARED(path);
  auto list = ImportListFiles("bis-json", {path}, Refuse());
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_TRUE(list->issues.empty());
  EXPECT_EQ(list->info.list_id, "bis-meu");
  EXPECT_EQ(list->info.version, "2026-07-09");
  EXPECT_EQ(list->info.entity_count, 70);
  EXPECT_EQ(list->info.name_count, 73);
  for (const ListEntity& e : list->entities) EXPECT_THAT(e.countries, ElementsAre("CN"));
  const ListEntity* aaspt =
      FindName(*list, "Academy of Aerospace Solid Propulsion Technology (AASPT)");
  ASSERT_NE(aaspt, nullptr);
  EXPECT_EQ(aaspt->list_id, "bis-meu");
  EXPECT_EQ(aaspt->programs, "85 FR 83799, 12/23/2020");
}

TEST(ScreenImport, BisMalformedEntriesNameTheirLines) {
  const std::string text = R"({
  "list_id": "bis-entity-list",
  "extracted": "2026-07-09",
  "entities": [
    {"name": "Good Trading Co.", "aliases": ["GTC", "GTC", "Good Trading Co."], "country": "Burma"},
    "a string",
    {"aliases": []},
    {"name": "Numbers Ltd.", "aliases": [1, 2]},
    {"name": "Far Away Ltd.", "country": "Atlantis"},
    {"name": "Bad Country Type", "country": 7},
    {"name": "Good Trading Co.", "country": "Burma", "address": "Yangon"}
  ]
})";
  auto list = ImportListTexts("bis-json", {{"el.json", text}});
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->entities.size(), 3u);
  EXPECT_THAT(list->entities[0].aliases, ElementsAre("GTC"));
  EXPECT_THAT(list->entities[0].countries, ElementsAre("MM"));
  EXPECT_TRUE(list->entities[1].countries.empty());
  // The same name and country twice: both kept, the second id suffixed.
  EXPECT_EQ(list->entities[2].source_id, list->entities[0].source_id + "-2");
  std::vector<std::string> issues;
  for (const RowIssue& i : list->issues) issues.push_back(i.ToString());
  EXPECT_THAT(issues,
              ElementsAre("el.json:6: entities[1]: must be an object", "el.json:7: name: is empty",
                          "el.json:8: aliases: must be an array of strings",
                          "el.json:9: country: unknown country \"Atlantis\"; the entry is "
                          "kept without it",
                          "el.json:10: country: must be a string"));
  EXPECT_EQ(list->info.version, "2026-07-09");

  auto refused = ImportListTexts("bis-json", {{"el.json", text}}, Refuse());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(), "el.json:6: entities[1]: must be an object");
}

TEST(ScreenImport, BisFilesMustBeOneList) {
  const std::string el = R"({"list_id": "bis-entity-list", "entities": [{"name": "A"}]})";
  const std::string meu = R"({"list_id": "bis-meu", "entities": [{"name": "B"}]})";
  auto mixed = ImportListTexts("bis-json", {{"el.json", el}, {"meu.json", meu}});
  ASSERT_FALSE(mixed.ok());
  EXPECT_THAT(mixed.status().message(), HasSubstr("meu.json: list_id \"bis-meu\" differs"));
}

// ---------------------------------------------------------------------------------------------
// trade.gov Consolidated Screening List.

void ExpectCslSample(const ImportedList& list) {
  EXPECT_TRUE(list.issues.empty()) << list.issues.front().ToString();
  EXPECT_EQ(list.info.list_id, "csl");
  EXPECT_EQ(list.info.entity_count, 8);
  EXPECT_EQ(list.info.name_count, 8 + 1 + 6 + 2);

  const ListEntity* meu = Find(list, "66f6ab3f26234b75a9093fce79ef0ce0");
  ASSERT_NE(meu, nullptr);
  EXPECT_EQ(meu->list_id, "csl");
  EXPECT_EQ(meu->source_list, "Military End User (MEU) List - Bureau of Industry and Security");
  EXPECT_EQ(meu->schema, Schema::kUnknown);
  EXPECT_THAT(meu->countries, ElementsAre("CN"));
  EXPECT_EQ(meu->programs, "85 FR 83799");  // no programs: the Federal Register notice

  const ListEntity* rim = Find(list, "52291");
  ASSERT_NE(rim, nullptr);
  EXPECT_EQ(rim->name, "RIM, Ryong Nam");
  EXPECT_EQ(rim->schema, Schema::kPerson);
  EXPECT_EQ(rim->programs, "NPWMD");
  EXPECT_THAT(rim->countries, UnorderedElementsAre("CN", "KP"));

  const ListEntity* rosneft = Find(list, "18300");
  ASSERT_NE(rosneft, nullptr);
  EXPECT_EQ(rosneft->schema, Schema::kOrganization);
  EXPECT_THAT(rosneft->aliases, ElementsAre("TNK TRADE LIMITED"));
  EXPECT_THAT(rosneft->countries, ElementsAre("CY"));

  const ListEntity* evren = Find(list, "26182");
  ASSERT_NE(evren, nullptr);
  EXPECT_THAT(evren->countries, ElementsAre("TR"));

  const ListEntity* cetc = Find(list, "99ed1b052fdb09695fae1ba87516d8a0882b0df04652e07aeb5ce7be");
  ASSERT_NE(cetc, nullptr);
  EXPECT_EQ(cetc->source_list, "Entity List (EL) - Bureau of Industry and Security");
  EXPECT_THAT(cetc->aliases,
              ElementsAre("Hebei Semiconductor Research Institute", "HSRI",
                          "Hebei Institute of Semiconductors", "Hebei Semiconductor Institute",
                          "Hebei Semiconductor", "CETC Research Institute 13"));
  EXPECT_THAT(cetc->countries, ElementsAre("CN"));
  EXPECT_EQ(cetc->programs, "83 FR 37423; 87 FR 77505");

  const ListEntity* ash = Find(list, "b601cbf2841d0aaedfe63661581ffbc3d54b6ba39d7e3a9027cff50e");
  ASSERT_NE(ash, nullptr);
  EXPECT_THAT(ash->countries, ElementsAre("US"));
  EXPECT_THAT(ash->address, HasSubstr("605 TRAIL LAKE DRIVE, RICHARDSON, TX, 75081, US"));
  EXPECT_EQ(ash->remarks, "50 YEAR DENIAL");

  const ListEntity* vessel = Find(list, "4238");
  ASSERT_NE(vessel, nullptr);
  EXPECT_EQ(vessel->schema, Schema::kVessel);
  EXPECT_THAT(vessel->countries, ElementsAre("CU"));  // vessel_flag

  const ListEntity* bnc = Find(list, "306");
  ASSERT_NE(bnc, nullptr);
  EXPECT_THAT(bnc->aliases, ElementsAre("BNC", "NATIONAL BANK OF CUBA"));
  EXPECT_THAT(bnc->countries, ElementsAre("CU", "CH"));
}

TEST(ScreenImport, CslCsvFixture) {
  auto list = ImportListFiles("csl-csv", {Fixture("csl_sample.csv")}, Refuse());
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ExpectCslSample(*list);
  EXPECT_EQ(list->info.format, "csl-csv");
  EXPECT_EQ(list->info.source, "csl_sample.csv");
  EXPECT_TRUE(IsDate(list->info.version));  // no date inside: the file's
  auto text = ReadFile(Fixture("csl_sample.csv"));
  ASSERT_TRUE(text.ok());
  auto from_text = ImportListTexts("csl-csv", {{"csl_sample.csv", *text}});
  ASSERT_TRUE(from_text.ok());
  EXPECT_EQ(from_text->info.version, "");
  EXPECT_EQ(from_text->info.sha256, list->info.sha256);
}

TEST(ScreenImport, CslJsonFixture) {
  auto list = ImportListFiles("csl-json", {Fixture("csl_sample.json")}, Refuse());
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ExpectCslSample(*list);
  EXPECT_EQ(list->info.format, "csl-json");
  EXPECT_EQ(list->info.version, "2024-05-03");  // newest sources_used date
}

TEST(ScreenImport, CslCsvAndJsonAgree) {
  auto csv = ImportListFiles("csl-csv", {Fixture("csl_sample.csv")});
  auto json = ImportListFiles("csl-json", {Fixture("csl_sample.json")});
  ASSERT_TRUE(csv.ok() && json.ok());
  ASSERT_EQ(csv->entities.size(), json->entities.size());
  for (size_t i = 0; i < csv->entities.size(); ++i) {
    const ListEntity& a = csv->entities[i];
    const ListEntity& b = json->entities[i];
    EXPECT_EQ(a.source_id, b.source_id);
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.aliases, b.aliases);
    EXPECT_EQ(a.schema, b.schema);
    EXPECT_EQ(std::set<std::string>(a.countries.begin(), a.countries.end()),
              std::set<std::string>(b.countries.begin(), b.countries.end()))
        << a.name;
    EXPECT_EQ(a.programs, b.programs);
    EXPECT_EQ(a.source_list, b.source_list);
  }
}

TEST(ScreenImport, CslMalformedCsv) {
  const std::string path = Fixture("csl_malformed.csv");
  auto list = ImportListFiles("csl-csv", {path});
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  std::vector<std::string> ids;
  for (const ListEntity& e : list->entities) ids.push_back(e.source_id);
  EXPECT_THAT(ids, ElementsAre("m1", "m4", "m5"));
  std::vector<std::string> issues;
  for (const RowIssue& i : list->issues) issues.push_back(i.ToString());
  EXPECT_THAT(issues, ElementsAre(path + ":3: has 3 columns, expected 29 (as in the header)",
                                  path + ":4: name: is empty",
                                  path + ":5: type: must be Individual, Entity, Vessel or "
                                         "Aircraft, got \"Spaceship\"",
                                  path + ":6: nationalities: unknown country \"Atlantis\"; the "
                                         "entry is kept without it",
                                  path + ":7: column 77: text after the closing quote of a field"));

  auto refused = ImportListFiles("csl-csv", {path}, Refuse());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(refused.status().message(), path + ":3: has 3 columns, expected 29 (as in the header)");
}

TEST(ScreenImport, CslMalformedJson) {
  auto list = ImportListFiles("csl-json", {Fixture("csl_malformed.json")});
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  std::vector<std::string> ids;
  for (const ListEntity& e : list->entities) ids.push_back(e.source_id);
  EXPECT_THAT(ids, ElementsAre("j1", "j6"));
  std::vector<std::pair<int64_t, std::string>> issues;
  for (const RowIssue& i : list->issues) issues.push_back({i.line, i.field});
  // Each issue names the line its element starts on.
  EXPECT_THAT(issues, ElementsAre(std::pair<int64_t, std::string>{14, "[1]"},
                                  std::pair<int64_t, std::string>{15, "alt_names"},
                                  std::pair<int64_t, std::string>{21, "name"},
                                  std::pair<int64_t, std::string>{26, "type"}));
  auto refused = ImportListFiles("csl-json", {Fixture("csl_malformed.json")}, Refuse());
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(),
              HasSubstr("csl_malformed.json:14: [1]: must be an object"));
}

}  // namespace
}  // namespace custodian::screen
