#include "screen/ownership.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <functional>

namespace custodian::screen {

namespace {

// Percentages are sums of decimal inputs (30 + 20 is not exactly 50 in binary floating point
// for every split, e.g. 16.7 + 16.7 + 16.6): comparisons allow this much rounding error, far
// below any precision an ownership register states.
constexpr double kEpsilonPercent = 1e-9;
constexpr double kAggregateThreshold = 50;  // OFAC 50 % rule: "50 percent or more"
constexpr double kControlThreshold = 50;    // a controlling owner holds more than half

std::string EdgeName(const OwnershipEdge& edge) {
  return "ownership edge \"" + edge.owner + "\" -> \"" + edge.owned + "\"";
}

// "60", "49.9", "33.33": at most two decimals, no trailing zeros.
std::string FormatPercent(double percent) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", percent);
  std::string s = buf;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s + " %";
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Status OwnershipGraph::AddParty(const Party& party) {
  if (party.id.empty()) return Status::InvalidInput("party id: is empty");
  if (parties_.count(party.id) != 0) {
    return Status::InvalidInput("party id \"" + party.id + "\": given twice");
  }
  parties_.emplace(party.id, party);
  return Status::Ok();
}

Status OwnershipGraph::AddEdge(const OwnershipEdge& edge) {
  const std::string name = EdgeName(edge);
  if (parties_.count(edge.owner) == 0) {
    return Status::InvalidInput(name + ": owner \"" + edge.owner + "\" is not a known party");
  }
  if (parties_.count(edge.owned) == 0) {
    return Status::InvalidInput(name + ": owned \"" + edge.owned + "\" is not a known party");
  }
  if (edge.owner == edge.owned) {
    return Status::InvalidInput(name + ": a party cannot own itself");
  }
  // Written so that NaN fails too.
  if (!(edge.percent > 0 && edge.percent <= 100)) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%g", edge.percent);
    return Status::InvalidInput(name + ": percent must be in (0, 100], got " + buf);
  }
  double total = edge.percent;
  for (const auto& e : edges_) {
    if (e.owned != edge.owned) continue;
    // Two holdings of the same pair would be counted twice (and give two identical paths):
    // the register should state one total.
    if (e.owner == edge.owner) {
      return Status::InvalidInput(name + ": given twice (state the owner's total holding once)");
    }
    total += e.percent;
  }
  if (total > 100 + kEpsilonPercent) {
    return Status::InvalidInput(name + ": \"" + edge.owned + "\" would be owned " +
                                FormatPercent(total) + " in total, more than 100 %");
  }
  edges_.push_back(edge);
  return Status::Ok();
}

std::vector<OwnershipFlag> OwnershipGraph::Analyze(
    const std::set<std::string>& listed, const std::set<std::string>& countries_of_concern) const {
  // Holdings by owner and by owned party, each sorted by the other end's id so that every
  // traversal below (and so every path chosen) is deterministic.
  std::map<std::string, std::vector<const OwnershipEdge*>> holdings;  // owner -> edges
  std::map<std::string, std::vector<const OwnershipEdge*>> owners;    // owned -> edges
  for (const auto& e : edges_) {
    holdings[e.owner].push_back(&e);
    owners[e.owned].push_back(&e);
  }
  for (auto& [id, list] : holdings) {
    std::sort(list.begin(), list.end(),
              [](const OwnershipEdge* a, const OwnershipEdge* b) { return a->owned < b->owned; });
  }
  for (auto& [id, list] : owners) {
    std::sort(list.begin(), list.end(),
              [](const OwnershipEdge* a, const OwnershipEdge* b) { return a->owner < b->owner; });
  }

  // restricted-by-ownership, to a fixed point, in rounds: round 0 is the listed parties; a party
  // joins in round k when the holdings of parties from rounds < k reach 50 %. A restricted
  // party passes its holding on in full (the percentages are never multiplied along a chain).
  // Every party joins at most once, so this terminates on any graph, cycles included; each
  // edge is looked at once, when its owner joins. The round numbers give every restricted
  // party a path back to a listed party that strictly descends in rounds (so never loops).
  std::map<std::string, int> round;    // restricted (and listed) party -> round it joined
  std::map<std::string, double> held;  // party -> percent held by restricted owners so far
  std::vector<std::string> frontier;
  for (const auto& id : listed) {
    round[id] = 0;
    frontier.push_back(id);
  }
  for (int k = 1; !frontier.empty(); ++k) {
    std::set<std::string> joined;
    for (const auto& owner : frontier) {
      auto it = holdings.find(owner);
      if (it == holdings.end()) continue;
      for (const OwnershipEdge* e : it->second) {
        double& h = held[e->owned];
        h += e->percent;
        if (round.count(e->owned) == 0 && h >= kAggregateThreshold - kEpsilonPercent) {
          joined.insert(e->owned);
        }
      }
    }
    frontier.assign(joined.begin(), joined.end());
    for (const auto& id : frontier) round[id] = k;
  }

  // The path from a listed party down to `id` (restricted): through its largest holding by an
  // owner of an earlier round (ties: the smaller owner id).
  std::map<std::string, std::vector<std::string>> path_memo;
  std::function<const std::vector<std::string>&(const std::string&)> path_to =
      [&](const std::string& id) -> const std::vector<std::string>& {
    auto memo = path_memo.find(id);
    if (memo != path_memo.end()) return memo->second;
    std::vector<std::string> path;
    const int r = round.at(id);
    if (r > 0) {
      const OwnershipEdge* best = nullptr;
      for (const OwnershipEdge* e : owners[id]) {
        auto owner_round = round.find(e->owner);
        if (owner_round == round.end() || owner_round->second >= r) continue;
        if (best == nullptr || e->percent > best->percent) best = e;
      }
      // A party joined in round r > 0 has at least one owner from an earlier round.
      path = path_to(best->owner);
    }
    path.push_back(id);
    return path_memo.emplace(id, std::move(path)).first->second;
  };

  auto display = [&](const std::string& id) {
    auto it = parties_.find(id);
    return it == parties_.end() || it->second.name.empty() ? id : it->second.name;
  };

  std::vector<OwnershipFlag> flags;
  for (const auto& [id, party] : parties_) {
    // Listed parties are restricted in their own right; ownership adds nothing to a match.
    if (listed.count(id) != 0) continue;

    if (round.count(id) != 0) {
      OwnershipFlag flag;
      flag.party_id = id;
      flag.kind = "restricted-by-ownership";
      std::string parts;
      // Every holding by a restricted owner at the fixed point counts, including owners that
      // joined after this party (they are restricted all the same).
      // Largest holding first (ties: owner id), as a reader weighs them.
      std::vector<const OwnershipEdge*> contributing;
      for (const OwnershipEdge* e : owners[id]) {
        if (round.count(e->owner) != 0) contributing.push_back(e);
      }
      std::stable_sort(
          contributing.begin(), contributing.end(),
          [](const OwnershipEdge* a, const OwnershipEdge* b) { return a->percent > b->percent; });
      for (const OwnershipEdge* e : contributing) {
        flag.aggregate_percent += e->percent;
        std::vector<std::string> path = path_to(e->owner);
        path.push_back(id);
        // "B via C via D": the listed party first, then the restricted owners in between.
        std::string who = display(path.front());
        for (size_t i = 1; i + 1 < path.size(); ++i) {
          who += " via " + display(path[i]);
        }
        parts += (parts.empty() ? "" : ", ") + who + " (" + FormatPercent(e->percent) + ")";
        flag.paths.push_back(std::move(path));
      }
      flag.aggregate_percent = std::min(flag.aggregate_percent, 100.0);
      flag.reason = "owned " + FormatPercent(flag.aggregate_percent) +
                    " in aggregate by listed parties: " + parts;
      flags.push_back(std::move(flag));
    }

    // parent-in-country-of-concern: up the chain of controlling (> 50 %) owners. Each party
    // has at most one (holdings total <= 100 %); the visited set stops a cycle of control.
    std::vector<std::string> chain = {id};
    std::vector<double> percents;  // percents[i]: chain[i+1]'s holding in chain[i]
    std::set<std::string> visited = {id};
    std::string current = id;
    for (;;) {
      const OwnershipEdge* controller = nullptr;
      for (const OwnershipEdge* e : owners[current]) {
        if (e->percent > kControlThreshold + kEpsilonPercent) controller = e;
      }
      if (controller == nullptr || !visited.insert(controller->owner).second) break;
      chain.push_back(controller->owner);
      percents.push_back(controller->percent);
      const Party& parent = parties_.at(controller->owner);
      const std::string country = Upper(parent.country);
      if (!country.empty() && countries_of_concern.count(country) != 0) {
        OwnershipFlag flag;
        flag.party_id = id;
        flag.kind = "parent-in-country-of-concern";
        flag.country = country;
        flag.paths.push_back(chain);
        std::string links;
        for (size_t i = percents.size(); i-- > 0;) {
          links += (links.empty() ? "" : ", ") + display(chain[i + 1]) + " owns " +
                   FormatPercent(percents[i]) + " of " + display(chain[i]);
        }
        flag.reason = "controlled by " + display(parent.id) + " (" + country +
                      ", a country of concern) through majority holdings: " + links;
        flags.push_back(std::move(flag));
        break;
      }
      current = controller->owner;
    }
  }
  return flags;
}

// EAR Country Groups (15 CFR Part 740, Supplement No. 1), as in policy/default.json:
//   D:5 (U.S. arms embargoed countries): AF BY CD CF CN CU ER HT IQ IR KP LB LY MM MO NI RU SD
//       SO SS SY VE ZW
//   E:1 (terrorist supporting countries): CU IR KP SY
//   E:2 (unilateral embargo): CU
// plus HK, which the EAR treats as China since 2020 (the policy's "same_as": HK -> CN).
// docs/screening.md documents the set and its source.
const std::set<std::string>& DefaultCountriesOfConcern() {
  static const std::set<std::string> kCountries = {
      "AF", "BY", "CD", "CF", "CN", "CU", "ER", "HK", "HT", "IQ", "IR", "KP",
      "LB", "LY", "MM", "MO", "NI", "RU", "SD", "SO", "SS", "SY", "VE", "ZW",
  };
  return kCountries;
}

}  // namespace custodian::screen
