// Ownership: which parties are restricted because of who owns them (DESIGN §7).
//
// Parties and ownership edges (owner, owned, percent) form a directed graph.
//   restricted-by-ownership  the party is owned >= 50 % in aggregate, directly or through
//       restricted parties, by listed parties (the OFAC "50 % rule" as BIS applies it to the
//       Entity List's affiliates): a party that is itself restricted passes its holdings on
//       in full; percentages are not multiplied along a chain. Computed to a fixed point.
//       The flag lists every contributing holding and the path from a listed party to it.
//   parent-in-country-of-concern  following controlling owners (> 50 %) upwards from the
//       party, a parent is in a country of concern: the flag gives the chain.
// Input errors (percent outside (0, 100], self-ownership, a party owned > 100 % in total,
// an edge naming an unknown party) are InvalidInput naming the edge.
// Thread-safety: an OwnershipGraph is not synchronised; Analyze is const.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"
#include "screen/entity.h"

namespace custodian::screen {

struct Party {
  std::string id;  // caller's id, unique
  std::string name;
  std::string country;  // alpha-2 or ""
  Schema schema = Schema::kUnknown;
};

struct OwnershipEdge {
  std::string owner;   // party id
  std::string owned;   // party id
  double percent = 0;  // (0, 100]
};

struct OwnershipFlag {
  std::string party_id;
  std::string kind;              // "restricted-by-ownership" or "parent-in-country-of-concern"
  double aggregate_percent = 0;  // restricted-by-ownership: held by listed/restricted owners
  // restricted-by-ownership: one path per contributing holding, each from a listed party
  // down to party_id (party ids); parent-in-country-of-concern: one path, party_id up to the
  // parent in the country of concern.
  std::vector<std::vector<std::string>> paths;
  std::string country;  // parent-in-country-of-concern: that parent's country
  std::string reason;   // one sentence with the numbers
};

class OwnershipGraph {
 public:
  Status AddParty(const Party& party);        // InvalidInput on a duplicate or empty id
  Status AddEdge(const OwnershipEdge& edge);  // InvalidInput as described above
  const std::map<std::string, Party>& parties() const { return parties_; }
  const std::vector<OwnershipEdge>& edges() const { return edges_; }

  // `listed`: ids of parties that are on a list (screened `match`). Flags in party id order;
  // a party may have both kinds. Listed parties themselves are not flagged by ownership.
  std::vector<OwnershipFlag> Analyze(const std::set<std::string>& listed,
                                     const std::set<std::string>& countries_of_concern) const;

 private:
  std::map<std::string, Party> parties_;
  std::vector<OwnershipEdge> edges_;
};

// Countries of concern by default: the EAR's arms-embargoed Country Group D:5 members most
// relevant to advanced computing plus E:1/E:2 (CN, RU, BY, IR, KP, CU, SY, VE, MO, AF, MM …);
// the list and its source are documented in docs/screening.md.
const std::set<std::string>& DefaultCountriesOfConcern();

}  // namespace custodian::screen
