// Canonical JSON (RFC 8785, JCS): number serialisation from RFC 8785 Appendix B and §3.2.2.3,
// string escaping, member sorting, nesting, and the inputs that must be refused.
#include "core/canonical_json.h"

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <limits>
#include <string>

namespace custodian {
namespace {

using nlohmann::json;

std::string Canon(const json& v) {
  auto r = CanonicalJson(v);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::string("<error>");
}

// Parses `text` as JSON and canonicalises it, as a JCS implementation sees its input.
std::string CanonText(std::string_view text) {
  auto parsed = ParseJson(text);
  EXPECT_TRUE(parsed.ok()) << text << ": " << parsed.status().ToString();
  return parsed.ok() ? Canon(*parsed) : std::string("<parse error>");
}

double FromBits(uint64_t bits) {
  return std::bit_cast<double>(bits);
}

// RFC 8785 Appendix B, "Number Serialization Samples": IEEE 754 bit pattern -> JSON text.
struct NumberSample {
  uint64_t bits;
  const char* expected;
};
constexpr NumberSample kAppendixB[] = {
    {0x0000000000000000, "0"},
    {0x8000000000000000, "0"},  // minus zero
    {0x0000000000000001, "5e-324"},
    {0x8000000000000001, "-5e-324"},
    {0x7fefffffffffffff, "1.7976931348623157e+308"},
    {0xffefffffffffffff, "-1.7976931348623157e+308"},
    {0x4340000000000000, "9007199254740992"},
    {0xc340000000000000, "-9007199254740992"},
    {0x4430000000000000, "295147905179352830000"},
    {0x44b52d02c7e14af5, "9.999999999999997e+22"},
    {0x44b52d02c7e14af6, "1e+23"},
    {0x44b52d02c7e14af7, "1.0000000000000001e+23"},
    {0x444b1ae4d6e2ef4e, "999999999999999700000"},
    {0x444b1ae4d6e2ef4f, "999999999999999900000"},
    {0x444b1ae4d6e2ef50, "1e+21"},
    {0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"},
    {0x3eb0c6f7a0b5ed8d, "0.000001"},
    {0x41b3de4355555553, "333333333.3333332"},
    {0x41b3de4355555554, "333333333.33333325"},
    {0x41b3de4355555555, "333333333.3333333"},
    {0x41b3de4355555556, "333333333.3333334"},
    {0x41b3de4355555557, "333333333.33333343"},
    {0xbecbf647612f3696, "-0.0000033333333333333333"},
    {0x43143ff3c1cb0959, "1424953923781206.2"},  // round to even
};

TEST(CanonicalJsonNumbers, Rfc8785AppendixBSamples) {
  for (const auto& s : kAppendixB) {
    auto r = CanonicalJson(json(FromBits(s.bits)));
    ASSERT_TRUE(r.ok()) << std::hex << s.bits << ": " << r.status().ToString();
    EXPECT_EQ(*r, s.expected) << "bits 0x" << std::hex << s.bits;
  }
}

TEST(CanonicalJsonNumbers, Rfc8785AppendixBNonFiniteAreRejected) {
  for (uint64_t bits : {0x7fffffffffffffffULL, 0x7ff0000000000000ULL, 0xfff0000000000000ULL}) {
    auto r = CanonicalJson(json(FromBits(bits)));
    ASSERT_FALSE(r.ok()) << std::hex << bits;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidInput);
    EXPECT_NE(r.status().message().find("NaN or infinite"), std::string::npos)
        << r.status().message();
  }
}

// The number literals of the RFC 8785 §3.2.2 example, one by one, as parsed text.
TEST(CanonicalJsonNumbers, Rfc8785Section322Literals) {
  EXPECT_EQ(CanonText("333333333.33333329"), "333333333.3333333");
  EXPECT_EQ(CanonText("1E30"), "1e+30");
  EXPECT_EQ(CanonText("4.50"), "4.5");
  EXPECT_EQ(CanonText("2e-3"), "0.002");
  EXPECT_EQ(CanonText("0.000000000000000000000000001"), "1e-27");
}

// The switch points of ECMAScript Number::toString: exponent form at 1e21 and below 1e-6.
TEST(CanonicalJsonNumbers, ExponentBoundaries) {
  EXPECT_EQ(Canon(1e21), "1e+21");
  EXPECT_EQ(Canon(1e20), "100000000000000000000");
  EXPECT_EQ(Canon(1.5e21), "1.5e+21");
  EXPECT_EQ(Canon(123456789012345680000.0), "123456789012345680000");
  EXPECT_EQ(Canon(0.000001), "0.000001");
  EXPECT_EQ(Canon(0.000001234), "0.000001234");
  EXPECT_EQ(Canon(1e-7), "1e-7");
  EXPECT_EQ(Canon(1.234e-7), "1.234e-7");
  EXPECT_EQ(Canon(-1e-7), "-1e-7");
  EXPECT_EQ(Canon(-1e21), "-1e+21");
}

TEST(CanonicalJsonNumbers, ShortestRoundTripAndIntegralDoubles) {
  EXPECT_EQ(Canon(-0.0), "0");
  EXPECT_EQ(Canon(0.0), "0");
  EXPECT_EQ(Canon(4.0), "4");
  EXPECT_EQ(Canon(-4.5), "-4.5");
  EXPECT_EQ(Canon(0.1), "0.1");
  EXPECT_EQ(Canon(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(Canon(100.0), "100");
  EXPECT_EQ(Canon(52.2053), "52.2053");
  EXPECT_EQ(Canon(-0.1218), "-0.1218");
  EXPECT_EQ(Canon(5e-324), "5e-324");
}

TEST(CanonicalJsonNumbers, IntegersAreExact) {
  EXPECT_EQ(Canon(0), "0");
  EXPECT_EQ(Canon(-17), "-17");
  EXPECT_EQ(Canon(int64_t(1) << 53), "9007199254740992");
  EXPECT_EQ(Canon(uint64_t(812345)), "812345");
  EXPECT_EQ(Canon(std::numeric_limits<int64_t>::min()), "-9223372036854775808");
  EXPECT_EQ(CanonText("1000"), "1000");
  EXPECT_EQ(CanonText("-0"), "0");
  EXPECT_EQ(CanonText("1.0"), "1");
}

TEST(CanonicalJsonStrings, MinimalEscapes) {
  EXPECT_EQ(Canon("plain"), "\"plain\"");
  EXPECT_EQ(Canon("q\"b\\"), R"("q\"b\\")");
  EXPECT_EQ(Canon("\b\f\n\r\t"), R"("\b\f\n\r\t")");
  EXPECT_EQ(Canon("a/b"), R"("a/b")");    // solidus is not escaped
  EXPECT_EQ(Canon("it's"), R"("it's")");  // nor is the apostrophe
  EXPECT_EQ(Canon("\x7f"), "\"\x7f\"");   // DEL is not a control character in JSON
}

TEST(CanonicalJsonStrings, OtherControlsAsLowerCaseUnicodeEscapes) {
  EXPECT_EQ(Canon(std::string("\0", 1)), R"("\u0000")");
  EXPECT_EQ(Canon("\x01"), R"("\u0001")");
  EXPECT_EQ(Canon("\x0b"), R"("\u000b")");
  EXPECT_EQ(Canon("\x0f"), R"("\u000f")");
  EXPECT_EQ(Canon("\x1f"), R"("\u001f")");
  EXPECT_EQ(Canon("\x1e"), R"("\u001e")");
}

TEST(CanonicalJsonStrings, NonAsciiVerbatim) {
  EXPECT_EQ(Canon("caf\xc3\xa9"), "\"caf\xc3\xa9\"");                     // é
  EXPECT_EQ(Canon("\xe2\x82\xac"), "\"\xe2\x82\xac\"");                   // €
  EXPECT_EQ(Canon("\xf0\x9f\x98\x80"), "\"\xf0\x9f\x98\x80\"");           // U+1F600
  EXPECT_EQ(CanonText(R"("\u00e9\u20ac")"), "\"\xc3\xa9\xe2\x82\xac\"");  // escapes decoded
  EXPECT_EQ(CanonText(R"("\ud83d\ude00")"), "\"\xf0\x9f\x98\x80\"");      // surrogate pair
}

// RFC 8785 §3.2.2: the example's string, parsed from its escaped source form.
TEST(CanonicalJsonStrings, Rfc8785Section322String) {
  EXPECT_EQ(CanonText(R"("\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/")"),
            "\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"");
}

TEST(CanonicalJsonStrings, InvalidUtf8IsRejected) {
  const char* bad[] = {
      "\xff",              // never valid
      "\x80",              // lone continuation byte
      "\xc3",              // truncated 2-byte sequence
      "\xc0\xaf",          // overlong '/'
      "\xe0\x80\xaf",      // overlong, 3 bytes
      "\xed\xa0\x80",      // UTF-16 surrogate D800
      "\xf4\x90\x80\x80",  // above U+10FFFF
      "ok\xe2\x82",        // truncated at the end
  };
  for (const char* s : bad) {
    auto r = CanonicalJson(json(std::string(s)));
    ASSERT_FALSE(r.ok()) << s;
    EXPECT_NE(r.status().message().find("UTF-8"), std::string::npos) << r.status().message();
  }
  // Also as an object key, and nested: the error names the member.
  auto key = CanonicalJson(json{{"\xff", 1}});
  EXPECT_FALSE(key.ok());
  auto nested = CanonicalJson(json{{"outer", {{"name", "\xc0\xaf"}}}});
  ASSERT_FALSE(nested.ok());
  EXPECT_NE(nested.status().message().find("outer"), std::string::npos)
      << nested.status().message();
}

TEST(CanonicalJsonStructure, LiteralsAndEmptyContainers) {
  EXPECT_EQ(Canon(nullptr), "null");
  EXPECT_EQ(Canon(true), "true");
  EXPECT_EQ(Canon(false), "false");
  EXPECT_EQ(Canon(json::array()), "[]");
  EXPECT_EQ(Canon(json::object()), "{}");
}

TEST(CanonicalJsonStructure, MembersSortedByKeyNoWhitespace) {
  EXPECT_EQ(CanonText(R"({ "b" : 1, "a" : 2, "A": 3, "aa": 4, "": 5, "_": 6, "10": 7, "9": 8 })"),
            R"({"":5,"10":7,"9":8,"A":3,"_":6,"a":2,"aa":4,"b":1})");
}

// RFC 8785 §3.2.3's sorting example, restricted to keys below U+D800 (where UTF-8 byte order
// and the RFC's UTF-16 order agree; canonical_json.h documents that limit).
TEST(CanonicalJsonStructure, Rfc8785SortingExampleBmpKeys) {
  EXPECT_EQ(CanonText(R"({"\u20ac":"Euro Sign","\r":"Carriage Return","1":"One",)"
                      R"("\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"})"),
            "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\xc2\x80\":\"Control\","
            "\"\xc3\xb6\":\"Latin Small Letter O With Diaeresis\",\"\xe2\x82\xac\":\"Euro Sign\"}");
}

TEST(CanonicalJsonStructure, NestedArraysAndObjectsKeepArrayOrder) {
  EXPECT_EQ(
      CanonText(R"({"z": [3, 1, {"y": null, "x": [true, false]}], "a": {"d": {}, "c": [[]]}})"),
      R"({"a":{"c":[[]],"d":{}},"z":[3,1,{"x":[true,false],"y":null}]})");
}

// The whole RFC 8785 §3.2.2 example.
TEST(CanonicalJsonStructure, Rfc8785Section322Example) {
  EXPECT_EQ(CanonText(R"({
    "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
    "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
    "literals": [null, true, false]
  })"),
            "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],"
            "\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
}

TEST(CanonicalJsonStructure, NonFiniteNestedIsRejectedNamingTheMember) {
  json v = {{"a", {{"lat", std::numeric_limits<double>::quiet_NaN()}}}};
  auto r = CanonicalJson(v);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("lat"), std::string::npos) << r.status().message();
  EXPECT_FALSE(CanonicalJson(json::array({1, std::numeric_limits<double>::infinity()})).ok());
  EXPECT_FALSE(CanonicalJson(json(-std::numeric_limits<double>::infinity())).ok());
}

TEST(CanonicalJsonStructure, BinaryValuesAreRejected) {
  EXPECT_FALSE(CanonicalJson(json::binary({1, 2, 3})).ok());
}

TEST(ParseJson, ErrorsGiveTheByteOffset) {
  auto r = ParseJson(R"({"a": tru})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(r.status().message().find("at byte 10"), std::string::npos) << r.status().message();

  auto trailing = ParseJson("{} x");
  ASSERT_FALSE(trailing.ok());
  EXPECT_NE(trailing.status().message().find("at byte 4"), std::string::npos)
      << trailing.status().message();

  auto empty = ParseJson("");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("byte"), std::string::npos);
}

TEST(ParseJson, RejectsInvalidUtf8AndBareControls) {
  EXPECT_FALSE(ParseJson("\"\xff\"").ok());
  EXPECT_FALSE(ParseJson("\"\xc0\xaf\"").ok());
  EXPECT_FALSE(ParseJson("\"a\nb\"").ok());     // raw control character inside a string
  EXPECT_FALSE(ParseJson(R"("\ud800")").ok());  // lone surrogate escape
}

TEST(ParseJson, AcceptsValidDocuments) {
  auto r = ParseJson(R"({"k": [1, 2.5, "s", null]})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["k"][1].get<double>(), 2.5);
}

// A number too large for a double is an error value, not an exception escaping the call: a
// receipt file with "landmark_lat":1e400 must be rejected, not crash the verifier.
TEST(ParseJson, NumberOverflowIsAnErrorNotAnException) {
  for (const char* text : {"1e400", "[-1e400]", R"({"landmark_lat":1e400})"}) {
    Result<json> r = Status::Internal("not run");
    EXPECT_NO_THROW(r = ParseJson(text)) << text;
    EXPECT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidInput) << text;
  }
}

}  // namespace
}  // namespace custodian
