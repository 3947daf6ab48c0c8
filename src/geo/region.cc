#include "geo/region.h"

#include <algorithm>
#include <cmath>

#include "geo/sphere.h"

namespace custodian::geo {
namespace {

enum class State { kOpen, kFailed, kProven };

struct SphereCap {
  LatLon center;
  double radius_km;  // proof radius on the sphere
};

bool CellOutsideSomeCap(const LonLatBox& cell, const std::vector<SphereCap>& caps) {
  for (const auto& c : caps) {
    if (SphereDistanceToBoxKm(c.center, cell) > c.radius_km) return true;
  }
  return false;
}

// Whether the cell probably lies wholly inside the region (corners and center). Used only to
// give up on a question early — a wrong "yes" can only make a verdict more cautious.
bool CellProbablyInsideRegion(const LonLatBox& cell, const std::vector<SphereCap>& caps) {
  const LatLon pts[5] = {
      {cell.min_lat_deg, cell.min_lon_deg},
      {cell.min_lat_deg, cell.max_lon_deg},
      {cell.max_lat_deg, cell.min_lon_deg},
      {cell.max_lat_deg, cell.max_lon_deg},
      {(cell.min_lat_deg + cell.max_lat_deg) / 2, (cell.min_lon_deg + cell.max_lon_deg) / 2}};
  for (const auto& c : caps) {
    for (const auto& p : pts) {
      if (SphereDistanceKm(c.center, p) > c.radius_km) return false;
    }
  }
  return true;
}

}  // namespace

double ProofRadiusKm(double radius_km, double buffer_km) {
  return (std::max(0.0, radius_km) + buffer_km) / kWgsOverSphereMin + 1e-6;
}

RegionAnswer AnalyzeRegion(const std::vector<Cap>& caps, double buffer_km,
                           const Territory& restricted, const Territory* licensed,
                           const Territory* unlicensed_land, const RegionLimits& limits) {
  RegionAnswer answer;
  if (caps.empty()) return answer;  // no evidence: nothing is proven
  std::vector<SphereCap> proof;     // with the map buffer
  std::vector<SphereCap> physical;  // without it (emptiness is about physics alone)
  for (const auto& c : caps) {
    proof.push_back({c.center, ProofRadiusKm(c.radius_km, buffer_km)});
    physical.push_back({c.center, ProofRadiusKm(c.radius_km, 0)});
  }
  // Emptiness: two caps whose centers are farther apart than their radii.
  for (size_t i = 0; i < physical.size(); ++i) {
    for (size_t j = i + 1; j < physical.size(); ++j) {
      if (SphereDistanceKm(physical[i].center, physical[j].center) >
          physical[i].radius_km + physical[j].radius_km) {
        answer.empty = true;
        return answer;
      }
    }
  }

  // The questions, each "region disjoint from T" or "region inside T".
  struct Question {
    const Territory* territory;
    bool inside;  // false: disjoint
    State state;
    bool* result;
  };
  std::vector<Question> qs;
  qs.push_back({&restricted, false, State::kOpen, &answer.disjoint_from_restricted});
  if (licensed != nullptr) {
    if (unlicensed_land != nullptr) {
      qs.push_back({unlicensed_land, false, State::kOpen, &answer.inside_licensed});
    } else {
      qs.push_back({licensed, true, State::kOpen, &answer.inside_licensed});
    }
    qs.push_back({licensed, false, State::kOpen, &answer.disjoint_from_licensed});
  }

  // Per-cap tests: a cap farther from T than its radius is disjoint from it; a cap whose
  // center is in T and farther from T's border than its radius is inside it.
  for (auto& q : qs) {
    for (const auto& c : proof) {
      if (q.state != State::kOpen) break;
      if (q.territory->empty()) {
        q.state = q.inside ? State::kFailed : State::kProven;
      } else if (!q.inside && q.territory->NearestPoint(c.center).distance_km > c.radius_km) {
        q.state = State::kProven;
      } else if (q.inside && q.territory->Contains(c.center) &&
                 q.territory->NearestBorder(c.center).distance_km > c.radius_km) {
        q.state = State::kProven;
      }
    }
  }
  auto any_open = [&] {
    return std::any_of(qs.begin(), qs.end(),
                       [](const Question& q) { return q.state == State::kOpen; });
  };

  if (any_open()) {
    // Branch and bound over the smallest cap's bounding box(es).
    const SphereCap& smallest = *std::min_element(
        proof.begin(), proof.end(), [](auto& a, auto& b) { return a.radius_km < b.radius_km; });
    LonLatBox boxes[2];
    int n = CapBoxes(smallest.center, smallest.radius_km, boxes);
    std::vector<LonLatBox> stack(boxes, boxes + n);
    bool any_cell_in_region = false;
    while (!stack.empty() && any_open()) {
      LonLatBox cell = stack.back();
      stack.pop_back();
      answer.cells_visited++;
      if (CellOutsideSomeCap(cell, proof)) continue;
      any_cell_in_region = true;
      bool inside_region = CellProbablyInsideRegion(cell, proof);
      bool need_split = false;
      std::vector<Question*> unsettled;
      for (auto& q : qs) {
        if (q.state != State::kOpen) continue;
        auto rel = q.territory->Classify(cell);
        auto settled = q.inside ? Territory::Relation::kInside : Territory::Relation::kOutside;
        auto contrary = q.inside ? Territory::Relation::kOutside : Territory::Relation::kInside;
        if (rel == settled) continue;
        if (rel == contrary && inside_region) {
          q.state = State::kFailed;  // a piece of the region lies on the wrong side
          continue;
        }
        unsettled.push_back(&q);
        need_split = true;
      }
      if (!need_split) continue;
      if (answer.cells_visited >= limits.max_cells) {
        answer.budget_exhausted = true;  // stop: every open question stays unproven
        for (auto& q : qs) {
          if (q.state == State::kOpen) q.state = State::kFailed;
        }
        break;
      }
      double dlat = cell.max_lat_deg - cell.min_lat_deg;
      double dlon = cell.max_lon_deg - cell.min_lon_deg;
      if (std::max(dlat, dlon) < limits.min_cell_deg) {
        // Too small to split further: the questions this cell leaves open stay unproven.
        for (Question* q : unsettled) q->state = State::kFailed;
        continue;
      }
      double mlat = cell.min_lat_deg + dlat / 2, mlon = cell.min_lon_deg + dlon / 2;
      stack.push_back({cell.min_lon_deg, cell.min_lat_deg, mlon, mlat});
      stack.push_back({mlon, cell.min_lat_deg, cell.max_lon_deg, mlat});
      stack.push_back({cell.min_lon_deg, mlat, mlon, cell.max_lat_deg});
      stack.push_back({mlon, mlat, cell.max_lon_deg, cell.max_lat_deg});
    }
    // Every cell dropped: not even the buffered region exists, so the physical one is empty.
    if (!any_cell_in_region && stack.empty() && !answer.budget_exhausted) answer.empty = true;
    for (auto& q : qs) {
      if (q.state == State::kOpen && stack.empty()) q.state = State::kProven;
    }
  }
  for (auto& q : qs) *q.result = q.state == State::kProven;
  return answer;
}

}  // namespace custodian::geo
