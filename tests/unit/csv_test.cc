#include "core/csv.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace custodian {
namespace {

using Fields = std::vector<std::string>;

TEST(CoreCsv, ParsesQuotedFieldsLineEndingsAndLineNumbers) {
  auto records = ParseCsv("a,\"b,c\",\"d\"\"e\"\r\nf,\"multi\nline\",g\n\n\nh\n");
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  ASSERT_EQ(records->size(), 3u);
  EXPECT_EQ((*records)[0].fields, (Fields{"a", "b,c", "d\"e"}));
  EXPECT_EQ((*records)[0].line, 1);
  EXPECT_EQ((*records)[1].fields, (Fields{"f", "multi\nline", "g"}));
  EXPECT_EQ((*records)[1].line, 2);
  EXPECT_EQ((*records)[2].fields, (Fields{"h"}));
  EXPECT_EQ((*records)[2].line, 6);  // the quoted line break and two empty lines count
}

TEST(CoreCsv, EmptyFieldsTrailingCommaAndNoFinalNewline) {
  auto records = ParseCsv(",a,,\n\"\",b");
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[0].fields, (Fields{"", "a", "", ""}));
  EXPECT_EQ((*records)[1].fields, (Fields{"", "b"}));
}

TEST(CoreCsv, SkipsByteOrderMarkAndKeepsSpaces) {
  auto records = ParseCsv("\xEF\xBB\xBFname,-0- \r\n");
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].fields, (Fields{"name", "-0- "}));
}

TEST(CoreCsv, LoneCarriageReturnEndsARecord) {
  auto records = ParseCsv("a,b\rc,d\r");
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[1].fields, (Fields{"c", "d"}));
  EXPECT_EQ((*records)[1].line, 2);
}

TEST(CoreCsv, EmptyTextHasNoRecords) {
  auto records = ParseCsv("");
  ASSERT_TRUE(records.ok());
  EXPECT_TRUE(records->empty());
  auto blank = ParseCsv("\r\n\n");
  ASSERT_TRUE(blank.ok());
  EXPECT_TRUE(blank->empty());
}

TEST(CoreCsv, MalformedInputNamesLineAndColumn) {
  auto quote_inside = ParseCsv("ok,row\nab,c\"d\n");
  ASSERT_FALSE(quote_inside.ok());
  EXPECT_EQ(quote_inside.status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(quote_inside.status().message(), "line 2, column 5: quote inside an unquoted field");

  auto after_quote = ParseCsv("\"abc\"x,y\n");
  ASSERT_FALSE(after_quote.ok());
  EXPECT_EQ(after_quote.status().message(),
            "line 1, column 6: text after the closing quote of a field");

  auto unterminated = ParseCsv("a\nb,\"never closed\nmore\n");
  ASSERT_FALSE(unterminated.ok());
  EXPECT_EQ(unterminated.status().message(), "line 2, column 3: quoted field is not terminated");
}

TEST(CoreCsv, ReaderResumesOnTheLineAfterABadRecord) {
  CsvReader reader("a,b\nc\"d,e\n\"open,f\ng,h\n");
  auto first = reader.Next();
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ((*first)->fields, (Fields{"a", "b"}));

  auto bad = reader.Next();
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(reader.record_line(), 2);

  auto unterminated = reader.Next();  // would swallow the rest of the text
  ASSERT_FALSE(unterminated.ok());
  EXPECT_EQ(reader.record_line(), 3);

  auto last = reader.Next();
  ASSERT_TRUE(last.ok() && last->has_value()) << last.status().ToString();
  EXPECT_EQ((*last)->fields, (Fields{"g", "h"}));
  EXPECT_EQ((*last)->line, 4);
  auto end = reader.Next();
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(end->has_value());
  EXPECT_EQ(reader.offset(), std::string_view("a,b\nc\"d,e\n\"open,f\ng,h\n").size());
}

TEST(CoreCsv, EscapeQuotesOnlyWhenNeededAndRoundTrips) {
  EXPECT_EQ(CsvEscape("plain"), "plain");
  EXPECT_EQ(CsvEscape(""), "");
  EXPECT_EQ(CsvEscape("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvEscape("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvEscape(" padded"), "\" padded\"");
  EXPECT_EQ(CsvEscape("line\nbreak"), "\"line\nbreak\"");
  Fields fields = {"ent", "a,b", "q\"q", "", " x ", "two\r\nlines", "BANCO NACIONAL DE CUBA"};
  std::string line = CsvLine(fields);
  auto back = ParseCsv(line + "\r\n" + line);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[0].fields, fields);
  EXPECT_EQ((*back)[1].fields, fields);
  EXPECT_EQ((*back)[1].line, 3);
}

TEST(CoreCsv, HeaderFindIgnoresCaseAndSpaces) {
  CsvHeader header({"_id", " Source ", "NAME", "alt_names"});
  EXPECT_EQ(header.Find("_id"), 0u);
  EXPECT_EQ(header.Find("source"), 1u);
  EXPECT_EQ(header.Find(" name"), 2u);
  EXPECT_EQ(header.Find("ALT_NAMES"), 3u);
  EXPECT_FALSE(header.Find("id").has_value());
}

// Arbitrary bytes end in records or errors, never a crash or an endless loop.
TEST(CoreCsv, BinaryInputTerminates) {
  std::mt19937 rng(7);
  for (int round = 0; round < 50; ++round) {
    std::string junk(4096, '\0');
    for (char& c : junk) c = static_cast<char>(rng() % 256);
    CsvReader reader(junk);
    size_t steps = 0;
    for (;; ++steps) {
      ASSERT_LT(steps, junk.size() + 2);
      auto next = reader.Next();
      if (next.ok() && !next->has_value()) break;
    }
    EXPECT_EQ(reader.offset(), junk.size());
  }
}

}  // namespace
}  // namespace custodian
