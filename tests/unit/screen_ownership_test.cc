// Ownership analysis (screen/ownership.h): the OFAC 50 % rule as BIS applies it (aggregation
// over listed and restricted owners, no multiplication along chains, to a fixed point) and
// parents in countries of concern, on small graphs whose answers are worked out by hand from
// OFAC's "Revised Guidance on Entities Owned by Persons Whose Property and Interests in
// Property Are Blocked" (2014) examples.
#include <gtest/gtest.h>

#include <cmath>

#include "screen/ownership.h"

namespace custodian::screen {
namespace {

using Path = std::vector<std::string>;

class OwnershipTest : public ::testing::Test {
 protected:
  void Party(const std::string& id, const std::string& country = "") {
    ASSERT_TRUE(graph_.AddParty({id, "Name " + id, country, Schema::kOrganization}).ok()) << id;
  }
  void Own(const std::string& owner, const std::string& owned, double percent) {
    Status st = graph_.AddEdge({owner, owned, percent});
    ASSERT_TRUE(st.ok()) << st.message();
  }
  std::vector<OwnershipFlag> Analyze(const std::set<std::string>& listed,
                                     const std::set<std::string>& concern = {}) {
    return graph_.Analyze(listed, concern);
  }
  // The flag of `kind` for `party`, or nullptr.
  static const OwnershipFlag* Find(const std::vector<OwnershipFlag>& flags,
                                   const std::string& party, const std::string& kind) {
    for (const auto& f : flags) {
      if (f.party_id == party && f.kind == kind) return &f;
    }
    return nullptr;
  }
  static const OwnershipFlag* Restricted(const std::vector<OwnershipFlag>& flags,
                                         const std::string& party) {
    return Find(flags, party, "restricted-by-ownership");
  }
  static const OwnershipFlag* Parent(const std::vector<OwnershipFlag>& flags,
                                     const std::string& party) {
    return Find(flags, party, "parent-in-country-of-concern");
  }

  OwnershipGraph graph_;
};

TEST_F(OwnershipTest, DirectFiftyPercentIsRestricted) {
  Party("L");
  Party("A");
  Own("L", "A", 50);
  auto flags = Analyze({"L"});
  ASSERT_EQ(flags.size(), 1u);
  const OwnershipFlag& f = flags[0];
  EXPECT_EQ(f.party_id, "A");
  EXPECT_EQ(f.kind, "restricted-by-ownership");
  EXPECT_DOUBLE_EQ(f.aggregate_percent, 50);
  EXPECT_EQ(f.paths, (std::vector<Path>{{"L", "A"}}));
  EXPECT_EQ(f.reason, "owned 50 % in aggregate by listed parties: Name L (50 %)");
}

TEST_F(OwnershipTest, JustUnderFiftyIsNotRestricted) {
  Party("L");
  Party("A");
  Own("L", "A", 49.9);
  EXPECT_TRUE(Analyze({"L"}).empty());
}

TEST_F(OwnershipTest, TwoListedOwnersAggregate) {
  // OFAC example 2: X 25 % + Y 25 % -> blocked. Here 30 + 25 = 55.
  Party("X");
  Party("Y");
  Party("Z");  // not listed: its 45 % does not count
  Party("A");
  Own("X", "A", 30);
  Own("Y", "A", 25);
  Own("Z", "A", 45);
  auto flags = Analyze({"X", "Y"});
  ASSERT_EQ(flags.size(), 1u);
  EXPECT_EQ(flags[0].party_id, "A");
  EXPECT_DOUBLE_EQ(flags[0].aggregate_percent, 55);
  EXPECT_EQ(flags[0].paths, (std::vector<Path>{{"X", "A"}, {"Y", "A"}}));
  EXPECT_EQ(flags[0].reason,
            "owned 55 % in aggregate by listed parties: Name X (30 %), Name Y (25 %)");
}

TEST_F(OwnershipTest, SumsThatRoundBelowFiftyInBinaryStillCount) {
  Party("X");
  Party("Y");
  Party("Z");
  Party("A");
  Own("X", "A", 16.7);
  Own("Y", "A", 16.7);
  Own("Z", "A", 16.6);
  auto flags = Analyze({"X", "Y", "Z"});
  ASSERT_EQ(flags.size(), 1u);
  EXPECT_NEAR(flags[0].aggregate_percent, 50, 1e-9);
}

TEST_F(OwnershipTest, IndirectThroughRestrictedSubsidiary) {
  // OFAC example 3/4: L owns 35 % of A directly; L owns 100 % of C, C owns 25 % of A.
  // C is blocked, so its 25 % counts in full: A is owned 60 % in aggregate.
  Party("L");
  Party("C");
  Party("A");
  Own("L", "A", 35);
  Own("L", "C", 100);
  Own("C", "A", 25);
  auto flags = Analyze({"L"});
  ASSERT_EQ(flags.size(), 2u);
  const OwnershipFlag* a = Restricted(flags, "A");
  ASSERT_NE(a, nullptr);
  EXPECT_DOUBLE_EQ(a->aggregate_percent, 60);
  EXPECT_EQ(a->paths, (std::vector<Path>{{"L", "A"}, {"L", "C", "A"}}));
  EXPECT_EQ(a->reason,
            "owned 60 % in aggregate by listed parties: Name L (35 %), Name L via Name C (25 %)");
  ASSERT_NE(Restricted(flags, "C"), nullptr);
  EXPECT_EQ(flags[0].party_id, "A");  // party id order
  EXPECT_EQ(flags[1].party_id, "C");
}

TEST_F(OwnershipTest, ChainIsNotMultiplied) {
  // Listed L owns 60 % of B (B restricted); B owns 50 % of C: C restricted, although L's
  // "look-through" share of C would be 30 %.
  Party("L");
  Party("B");
  Party("C");
  Own("L", "B", 60);
  Own("B", "C", 50);
  auto flags = Analyze({"L"});
  const OwnershipFlag* c = Restricted(flags, "C");
  ASSERT_NE(c, nullptr);
  EXPECT_DOUBLE_EQ(c->aggregate_percent, 50);
  EXPECT_EQ(c->paths, (std::vector<Path>{{"L", "B", "C"}}));
  EXPECT_NE(Restricted(flags, "B"), nullptr);
}

TEST_F(OwnershipTest, MinorityHoldingDoesNotPassThrough) {
  // Listed L owns 40 % of B (B not restricted); B owns 100 % of C: C not restricted by
  // ownership (OFAC example 5).
  Party("L");
  Party("B");
  Party("C");
  Own("L", "B", 40);
  Own("B", "C", 100);
  auto flags = Analyze({"L"});
  EXPECT_EQ(Restricted(flags, "B"), nullptr);
  EXPECT_EQ(Restricted(flags, "C"), nullptr);
  EXPECT_TRUE(flags.empty());
}

TEST_F(OwnershipTest, FixedPointNeedsSeveralRounds) {
  // D becomes restricted only once both B (round 1) and C (round 2) are.
  Party("L");
  Party("B");
  Party("C");
  Party("D");
  Own("L", "B", 50);
  Own("B", "C", 50);
  Own("B", "D", 30);
  Own("C", "D", 30);
  auto flags = Analyze({"L"});
  const OwnershipFlag* d = Restricted(flags, "D");
  ASSERT_NE(d, nullptr);
  EXPECT_DOUBLE_EQ(d->aggregate_percent, 60);
  EXPECT_EQ(d->paths, (std::vector<Path>{{"L", "B", "D"}, {"L", "B", "C", "D"}}));
  EXPECT_EQ(d->reason,
            "owned 60 % in aggregate by listed parties: Name L via Name B (30 %), Name L via "
            "Name B via Name C (30 %)");
}

TEST_F(OwnershipTest, ListedPartiesAreNotFlagged) {
  Party("L");
  Party("M");
  Own("L", "M", 100);
  EXPECT_TRUE(Analyze({"L", "M"}).empty());
}

TEST_F(OwnershipTest, CyclesTerminate) {
  // A and B own each other (60 % each way, a cycle of control) and nobody is listed: nothing.
  Party("A", "SG");
  Party("B", "SG");
  Party("C", "SG");
  Own("A", "B", 60);
  Own("B", "A", 60);
  Own("B", "C", 20);
  EXPECT_TRUE(Analyze({}, {"CN"}).empty());

  // The same cycle with a listed party holding 40 % of A: A is not restricted (40 %), and so
  // B is not either (its only owner is A).
  OwnershipGraph g;
  for (const char* id : {"A", "B", "L"}) ASSERT_TRUE(g.AddParty({id, id, "", {}}).ok());
  ASSERT_TRUE(g.AddEdge({"A", "B", 60}).ok());
  ASSERT_TRUE(g.AddEdge({"B", "A", 60}).ok());
  ASSERT_TRUE(g.AddEdge({"L", "A", 40}).ok());
  EXPECT_TRUE(g.Analyze({"L"}, {}).empty());

  // A restricted cycle: L 50 % of A, A 60 % of B, B 30 % of A. Both are restricted, and A's
  // aggregate includes B's holding (B is restricted too, if only because of A).
  OwnershipGraph h;
  for (const char* id : {"A", "B", "L"}) ASSERT_TRUE(h.AddParty({id, id, "", {}}).ok());
  ASSERT_TRUE(h.AddEdge({"L", "A", 50}).ok());
  ASSERT_TRUE(h.AddEdge({"A", "B", 60}).ok());
  ASSERT_TRUE(h.AddEdge({"B", "A", 30}).ok());
  auto flags = h.Analyze({"L"}, {});
  ASSERT_EQ(flags.size(), 2u);
  const OwnershipFlag* a = Restricted(flags, "A");
  ASSERT_NE(a, nullptr);
  EXPECT_DOUBLE_EQ(a->aggregate_percent, 80);
  EXPECT_EQ(a->paths, (std::vector<Path>{{"L", "A"}, {"L", "A", "B", "A"}}));
  const OwnershipFlag* b = Restricted(flags, "B");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->paths, (std::vector<Path>{{"L", "A", "B"}}));
}

TEST_F(OwnershipTest, ParentInCountryOfConcernThroughSeveralLevels) {
  // S (SG) <- 60 % M (MY) <- 51 % H (HK) <- 100 % P (CN): the first parent in a country of
  // concern, going up, is H (HK, treated as China by the EAR).
  Party("S", "SG");
  Party("M", "MY");
  Party("H", "HK");
  Party("P", "CN");
  Own("M", "S", 60);
  Own("H", "M", 51);
  Own("P", "H", 100);
  auto flags = Analyze({}, DefaultCountriesOfConcern());
  const OwnershipFlag* s = Parent(flags, "S");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->country, "HK");
  EXPECT_EQ(s->paths, (std::vector<Path>{{"S", "M", "H"}}));
  EXPECT_EQ(s->reason,
            "controlled by Name H (HK, a country of concern) through majority holdings: Name H "
            "owns 51 % of Name M, Name M owns 60 % of Name S");
  const OwnershipFlag* m = Parent(flags, "M");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->paths, (std::vector<Path>{{"M", "H"}}));
  const OwnershipFlag* h = Parent(flags, "H");
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->country, "CN");
  EXPECT_EQ(h->paths, (std::vector<Path>{{"H", "P"}}));
  EXPECT_EQ(Parent(flags, "P"), nullptr);  // its own country is not a parent's
  EXPECT_EQ(flags.size(), 3u);

  // Exactly 50 % is not control: the chain stops at M.
  OwnershipGraph g;
  ASSERT_TRUE(g.AddParty({"S", "S", "SG", {}}).ok());
  ASSERT_TRUE(g.AddParty({"M", "M", "MY", {}}).ok());
  ASSERT_TRUE(g.AddParty({"P", "P", "RU", {}}).ok());
  ASSERT_TRUE(g.AddEdge({"M", "S", 60}).ok());
  ASSERT_TRUE(g.AddEdge({"P", "M", 50}).ok());
  auto none = g.Analyze({}, DefaultCountriesOfConcern());
  EXPECT_EQ(Parent(none, "S"), nullptr);
  EXPECT_EQ(Parent(none, "M"), nullptr);
}

TEST_F(OwnershipTest, ParentChainCycleTerminates) {
  // A and B control each other, and A controls X: the walk up from X goes round the A-B cycle
  // once and stops (no country of concern among them).
  Party("A", "SG");
  Party("B", "SG");
  Party("X", "SG");
  Own("A", "B", 60);
  Own("B", "A", 60);
  Own("A", "X", 70);
  EXPECT_TRUE(Analyze({}, DefaultCountriesOfConcern()).empty());
}

TEST_F(OwnershipTest, BothKindsForOneParty) {
  Party("L", "RU");
  Party("A", "AE");
  Own("L", "A", 75);
  std::set<std::string> listed = {"L"};
  auto flags = Analyze(listed, {"RU"});
  ASSERT_EQ(flags.size(), 2u);
  EXPECT_EQ(flags[0].kind, "restricted-by-ownership");
  EXPECT_EQ(flags[1].kind, "parent-in-country-of-concern");
  EXPECT_EQ(flags[1].country, "RU");
}

TEST_F(OwnershipTest, ValidationNamesTheEdge) {
  Party("A");
  Party("B");
  Party("C");
  auto expect_invalid = [&](const OwnershipEdge& e, const std::string& needle) {
    Status st = graph_.AddEdge(e);
    EXPECT_EQ(st.code(), StatusCode::kInvalidInput) << e.owner << "->" << e.owned;
    EXPECT_NE(st.message().find(needle), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("\"" + e.owner + "\" -> \"" + e.owned + "\""), std::string::npos)
        << st.message();
  };
  expect_invalid({"A", "B", 0}, "percent must be in (0, 100], got 0");
  expect_invalid({"A", "B", -5}, "percent must be in (0, 100]");
  expect_invalid({"A", "B", 100.5}, "percent must be in (0, 100], got 100.5");
  expect_invalid({"A", "B", std::nan("")}, "percent must be in (0, 100]");
  expect_invalid({"A", "A", 10}, "cannot own itself");
  expect_invalid({"Q", "B", 10}, "owner \"Q\" is not a known party");
  expect_invalid({"A", "Q", 10}, "owned \"Q\" is not a known party");
  Own("A", "C", 70);
  expect_invalid({"B", "C", 40}, "\"C\" would be owned 110 % in total");
  expect_invalid({"A", "C", 10}, "given twice");
  Own("B", "C", 30);  // exactly 100 % is fine
  EXPECT_EQ(graph_.edges().size(), 2u);

  EXPECT_EQ(graph_.AddParty({"A", "again", "", {}}).code(), StatusCode::kInvalidInput);
  EXPECT_EQ(graph_.AddParty({"", "no id", "", {}}).code(), StatusCode::kInvalidInput);
}

TEST(DefaultCountriesOfConcernTest, CoversD5AndE1E2) {
  const auto& c = DefaultCountriesOfConcern();
  for (const char* code :
       {"CN", "RU", "BY", "IR", "KP", "CU", "SY", "VE", "MO", "AF", "MM", "HK"}) {
    EXPECT_EQ(c.count(code), 1u) << code;
  }
  for (const char* code : {"SG", "US", "DE", "MY", "AE", "TW"})
    EXPECT_EQ(c.count(code), 0u) << code;
}

}  // namespace
}  // namespace custodian::screen
