#include "geo/countries.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <utility>

#include "core/canonical_json.h"
#include "core/file.h"

namespace custodian::geo {
namespace {

using nlohmann::json;
using Ring = std::vector<LatLon>;

// Decoded coordinates may overshoot the valid range by floating-point rounding (99999 * scale +
// translate is 180.00000000000003 in countries-10m.json); anything beyond this is an error.
constexpr double kCoordToleranceDeg = 1e-6;
// Quantised coordinates are at most the quantisation count (1e5 in world-atlas); a bound far
// above it keeps the delta sums from overflowing without rejecting any plausible file.
constexpr int64_t kMaxQuantised = int64_t{1} << 40;
// Below this a ring has no interior worth keeping: the smallest non-degenerate quantised ring in
// countries-10m.json is 0.5 * 0.0036 * 0.0017 deg^2 ~ 3e-6 deg^2, and 1e-12 deg^2 is ~0.01 m^2.
constexpr double kDegenerateAreaDeg2 = 1e-12;

// Features without an ISO numeric id that still have a widely used code. XK is the
// user-assigned code the EU, IMF and many registries use for Kosovo (not in ISO 3166-1).
constexpr std::pair<std::string_view, std::string_view> kNameFallbacks[] = {{"Kosovo", "XK"}};

Status Invalid(const std::string& path, const std::string& what) {
  return Status::InvalidInput(path + ": " + what);
}

std::string Index(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

struct Transform {
  bool quantised = false;
  double scale[2] = {1, 1};
  double translate[2] = {0, 0};
};

Status ReadPair(const json& j, const std::string& path, bool nonzero, double out[2]) {
  if (!j.is_array() || j.size() != 2) return Invalid(path, "must be an array of 2 numbers");
  for (size_t i = 0; i < 2; ++i) {
    if (!j[i].is_number()) return Invalid(Index(path, i), "must be a number");
    out[i] = j[i].get<double>();
    if (!std::isfinite(out[i])) return Invalid(Index(path, i), "must be finite");
    if (nonzero && out[i] == 0) return Invalid(Index(path, i), "must be non-zero");
  }
  return Status::Ok();
}

Result<Transform> ParseTransform(const json& topology) {
  Transform t;
  auto it = topology.find("transform");
  if (it == topology.end()) return t;  // unquantised: positions are absolute lon/lat
  if (!it->is_object()) return Invalid("transform", "must be an object");
  auto scale = it->find("scale");
  if (scale == it->end()) return Invalid("transform.scale", "missing");
  CUSTODIAN_RETURN_IF_ERROR(ReadPair(*scale, "transform.scale", /*nonzero=*/true, t.scale));
  auto translate = it->find("translate");
  if (translate == it->end()) return Invalid("transform.translate", "missing");
  CUSTODIAN_RETURN_IF_ERROR(
      ReadPair(*translate, "transform.translate", /*nonzero=*/false, t.translate));
  t.quantised = true;
  return t;
}

// Checks a decoded coordinate against its valid range, snapping rounding overshoot back in.
Status CheckRange(const std::string& path, const char* name, double limit, double* v) {
  if (!(std::fabs(*v) <= limit + kCoordToleranceDeg)) {
    char text[64];
    std::snprintf(text, sizeof text, "%s %.9g outside [%g, %g]", name, *v, -limit, limit);
    return Invalid(path, text);
  }
  *v = std::clamp(*v, -limit, limit);
  return Status::Ok();
}

// Decodes `arcs`: with a transform each arc's first position is absolute and later ones are
// deltas, all in quantised units (position = q * scale + translate); without one, positions are
// absolute lon/lat.
Status DecodeArcs(const json& arcs, const Transform& t, std::vector<Ring>* out) {
  if (!arcs.is_array()) return Invalid("arcs", "must be an array");
  out->reserve(arcs.size());
  for (size_t a = 0; a < arcs.size(); ++a) {
    const std::string arc_path = Index("arcs", a);
    const json& arc = arcs[a];
    if (!arc.is_array()) return Invalid(arc_path, "must be an array of positions");
    if (arc.size() < 2) return Invalid(arc_path, "must have at least 2 positions");
    Ring ring;
    ring.reserve(arc.size());
    int64_t qx = 0, qy = 0;
    for (size_t k = 0; k < arc.size(); ++k) {
      const std::string pos_path = Index(arc_path, k);
      const json& pos = arc[k];
      // TopoJSON allows extra members after x and y (e.g. elevation); they are ignored.
      if (!pos.is_array() || pos.size() < 2) {
        return Invalid(pos_path, "must be an array of at least 2 numbers");
      }
      double lon_deg, lat_deg;
      if (t.quantised) {
        int64_t d[2];
        for (size_t c = 0; c < 2; ++c) {
          const json& v = pos[c];
          if (!v.is_number_integer()) {
            return Invalid(Index(pos_path, c), "must be an integer in a quantised topology");
          }
          // An unsigned value above INT64_MAX would wrap in get<int64_t>(); treat it as too big.
          if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(kMaxQuantised)) {
            return Invalid(Index(pos_path, c), "quantised coordinate out of range");
          }
          d[c] = v.get<int64_t>();
          if (d[c] > kMaxQuantised || d[c] < -kMaxQuantised) {
            return Invalid(Index(pos_path, c), "quantised coordinate out of range");
          }
        }
        qx += d[0];
        qy += d[1];
        if (qx > kMaxQuantised || qx < -kMaxQuantised || qy > kMaxQuantised ||
            qy < -kMaxQuantised) {
          return Invalid(pos_path, "quantised coordinate out of range after delta decoding");
        }
        lon_deg = double(qx) * t.scale[0] + t.translate[0];
        lat_deg = double(qy) * t.scale[1] + t.translate[1];
      } else {
        for (size_t c = 0; c < 2; ++c) {
          if (!pos[c].is_number()) return Invalid(Index(pos_path, c), "must be a number");
        }
        lon_deg = pos[0].get<double>();
        lat_deg = pos[1].get<double>();
      }
      CUSTODIAN_RETURN_IF_ERROR(CheckRange(pos_path, "longitude", 180, &lon_deg));
      CUSTODIAN_RETURN_IF_ERROR(CheckRange(pos_path, "latitude", 90, &lat_deg));
      ring.push_back({lat_deg, lon_deg});
    }
    out->push_back(std::move(ring));
  }
  return Status::Ok();
}

bool SamePoint(const LatLon& a, const LatLon& b) {
  return a.lat_deg == b.lat_deg && a.lon_deg == b.lon_deg;
}

// Stitches a ring from arc references (i >= 0: arcs[i]; i < 0: arcs[~i] reversed). Consecutive
// arcs share an endpoint, so each later arc's first position is dropped; so is the closing
// position (geometry.h rings are closed implicitly).
Status AssembleRing(const json& refs, const std::string& path, const std::vector<Ring>& arcs,
                    Ring* ring) {
  if (!refs.is_array()) return Invalid(path, "must be an array of arc indices");
  if (refs.empty()) return Invalid(path, "ring must reference at least one arc");
  ring->clear();
  const int64_t n = int64_t(arcs.size());
  for (size_t k = 0; k < refs.size(); ++k) {
    const std::string ref_path = Index(path, k);
    const json& ref = refs[k];
    if (!ref.is_number_integer()) return Invalid(ref_path, "must be an integer arc index");
    if (ref.is_number_unsigned() && ref.get<uint64_t>() > uint64_t(INT64_MAX)) {
      return Invalid(ref_path,
                     "arc index " + ref.dump() + " out of range (" + std::to_string(n) + " arcs)");
    }
    const int64_t i = ref.get<int64_t>();
    const bool reversed = i < 0;
    const int64_t arc_index = reversed ? ~i : i;
    if (arc_index >= n) {
      return Invalid(ref_path, "arc index " + std::to_string(i) + " out of range (" +
                                   std::to_string(n) + " arcs)");
    }
    const Ring& arc = arcs[size_t(arc_index)];
    const LatLon& first = reversed ? arc.back() : arc.front();
    if (k > 0 && !SamePoint(first, ring->back())) {
      return Invalid(ref_path,
                     "arc " + std::to_string(i) + " does not start where the previous arc ends");
    }
    const size_t skip = k > 0 ? 1 : 0;
    if (reversed) {
      ring->insert(ring->end(), arc.rbegin() + std::ptrdiff_t(skip), arc.rend());
    } else {
      ring->insert(ring->end(), arc.begin() + std::ptrdiff_t(skip), arc.end());
    }
  }
  if (!SamePoint(ring->front(), ring->back())) {
    return Invalid(path, "ring is not closed (its first and last positions differ)");
  }
  ring->pop_back();
  return Status::Ok();
}

// Twice the signed area (shoelace), relative to the first vertex to limit cancellation.
double TwiceArea(const Ring& ring) {
  if (ring.size() < 3) return 0;
  const LatLon& o = ring[0];
  double sum = 0;
  for (size_t i = 1; i + 1 < ring.size(); ++i) {
    sum += (ring[i].lon_deg - o.lon_deg) * (ring[i + 1].lat_deg - o.lat_deg) -
           (ring[i + 1].lon_deg - o.lon_deg) * (ring[i].lat_deg - o.lat_deg);
  }
  return sum;
}

// Makes longitudes continuous (an edge never spans more than 180 degrees; none in the real
// data exceeds 4 degrees, so a larger jump is a crossing of the antimeridian). Returns the net
// number of turns around the pole: non-zero only for a ring that circles a pole.
int Unwrap(Ring* ring) {
  double offset_deg = 0;
  double prev_lon_deg = ring->front().lon_deg;
  for (size_t k = 1; k < ring->size(); ++k) {
    LatLon& p = (*ring)[k];
    const double d = p.lon_deg - prev_lon_deg;
    prev_lon_deg = p.lon_deg;
    if (d > 180) offset_deg -= 360;
    if (d < -180) offset_deg += 360;
    p.lon_deg += offset_deg;
  }
  const double closing = ring->front().lon_deg - prev_lon_deg;
  if (closing > 180) offset_deg -= 360;
  if (closing < -180) offset_deg += 360;
  return int(std::lround(offset_deg / 360));
}

// A ring circling a pole encloses, in the plane, the band between itself and the pole: close
// it along the pole line. Which pole: the one on the ring's side of the equator (Antarctica is
// the only such ring in Natural Earth).
void CloseThroughPole(int turns, Ring* ring) {
  double sum_lat_deg = 0;
  for (const LatLon& p : *ring) sum_lat_deg += p.lat_deg;
  const double pole_lat_deg = sum_lat_deg < 0 ? -90 : 90;
  const LatLon start = ring->front();
  const double end_lon_deg = start.lon_deg + 360.0 * turns;
  ring->push_back({start.lat_deg, end_lon_deg});
  ring->push_back({pole_lat_deg, end_lon_deg});
  ring->push_back({pole_lat_deg, start.lon_deg});
}

// Sutherland-Hodgman against one vertical line. The result's even-odd region is the input's
// clipped to the half-plane; where the input leaves and re-enters, the output runs along the
// line, which only matters for points exactly on it.
Ring ClipLon(const Ring& in, double bound_lon_deg, bool keep_below) {
  Ring out;
  if (in.empty()) return out;
  auto inside = [&](const LatLon& p) {
    return keep_below ? p.lon_deg <= bound_lon_deg : p.lon_deg >= bound_lon_deg;
  };
  const LatLon* s = &in.back();
  for (const LatLon& e : in) {
    const bool s_in = inside(*s), e_in = inside(e);
    if (s_in != e_in) {
      const double t = (bound_lon_deg - s->lon_deg) / (e.lon_deg - s->lon_deg);
      out.push_back({s->lat_deg + t * (e.lat_deg - s->lat_deg), bound_lon_deg});
    }
    if (e_in) out.push_back(e);
    s = &e;
  }
  return out;
}

// The planar pieces of an unwrapped ring: one per 360-degree strip it reaches, shifted back
// into [-180, 180]. Pieces with no vertex strictly inside their strip are slivers along the
// cut and are dropped.
std::vector<Ring> CutAtAntimeridian(const Ring& ring) {
  double min_lon_deg = ring.front().lon_deg, max_lon_deg = min_lon_deg;
  for (const LatLon& p : ring) {
    min_lon_deg = std::min(min_lon_deg, p.lon_deg);
    max_lon_deg = std::max(max_lon_deg, p.lon_deg);
  }
  if (min_lon_deg >= -180 && max_lon_deg <= 180) return {ring};
  std::vector<Ring> pieces;
  const int k_min = int(std::floor((min_lon_deg + 180) / 360));
  const int k_max = int(std::floor((max_lon_deg + 180) / 360));
  for (int k = k_min; k <= k_max; ++k) {
    const double shift_deg = 360.0 * k;
    Ring piece = ClipLon(ClipLon(ring, -180 + shift_deg, /*keep_below=*/false), 180 + shift_deg,
                         /*keep_below=*/true);
    bool has_interior = false;
    for (LatLon& p : piece) {
      p.lon_deg = std::clamp(p.lon_deg - shift_deg, -180.0, 180.0);
      has_interior = has_interior || (p.lon_deg > -180 && p.lon_deg < 180);
    }
    if (piece.size() >= 3 && has_interior) pieces.push_back(std::move(piece));
  }
  return pieces;
}

LonLatBox BoxOf(const Ring& ring) {
  LonLatBox box;
  for (const LatLon& p : ring) box.Extend(p);
  return box;
}

bool BoxWithin(const LonLatBox& inner, const LonLatBox& outer) {
  return inner.min_lon_deg >= outer.min_lon_deg && inner.max_lon_deg <= outer.max_lon_deg &&
         inner.min_lat_deg >= outer.min_lat_deg && inner.max_lat_deg <= outer.max_lat_deg;
}

// Turns a TopoJSON polygon (outer ring, then holes, each already through Unwrap() and
// CloseThroughPole()) into planar Polygons: one, unless a ring crosses the antimeridian or
// circles a pole.
std::vector<Polygon> ToPlanar(std::vector<Ring> rings) {
  bool planar = true;
  for (const Ring& ring : rings) {
    for (const LatLon& p : ring) planar = planar && p.lon_deg >= -180 && p.lon_deg <= 180;
  }
  std::vector<Polygon> out;
  if (planar) {
    out.emplace_back();
    out.back().rings = std::move(rings);
    out.back().ComputeBox();
    return out;
  }
  for (Ring& piece : CutAtAntimeridian(rings[0])) {
    out.emplace_back();
    out.back().rings.push_back(std::move(piece));
    out.back().ComputeBox();
  }
  // Each hole piece lies inside the outer piece on its side of the cut.
  for (size_t h = 1; h < rings.size(); ++h) {
    for (Ring& piece : CutAtAntimeridian(rings[h])) {
      const LonLatBox piece_box = BoxOf(piece);
      for (Polygon& polygon : out) {
        if (BoxWithin(piece_box, polygon.box)) {
          polygon.rings.push_back(std::move(piece));
          break;
        }
      }
    }
  }
  return out;
}

double BoxAreaDeg2(const LonLatBox& box) {
  return box.empty() ? 0
                     : (box.max_lon_deg - box.min_lon_deg) * (box.max_lat_deg - box.min_lat_deg);
}

// Feature ids are ISO 3166-1 numeric codes as strings ("036"); a JSON integer is accepted too.
Status ParseNumericId(const json& id, const std::string& path, int* numeric) {
  const char* kWant = "must be an ISO 3166-1 numeric code (a string of 1 to 3 digits)";
  if (id.is_number_integer()) {
    if (id.is_number_unsigned() ? id.get<uint64_t>() > 999
                                : (id.get<int64_t>() < 0 || id.get<int64_t>() > 999)) {
      return Invalid(path, kWant);
    }
    *numeric = int(id.get<int64_t>());
    return Status::Ok();
  }
  if (!id.is_string()) return Invalid(path, kWant);
  const std::string& s = id.get_ref<const std::string&>();
  if (s.empty() || s.size() > 3) return Invalid(path, std::string(kWant) + ", got \"" + s + "\"");
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return Invalid(path, std::string(kWant) + ", got \"" + s + "\"");
    v = v * 10 + (c - '0');
  }
  *numeric = v;
  return Status::Ok();
}

struct IsoEntry {
  int numeric;
  const char* alpha2;
};

// ISO 3166-1 numeric -> alpha-2, all 249 officially assigned codes, sorted by numeric. Checked
// against Debian's iso-codes 4.15 (iso_3166-1.json).
constexpr IsoEntry kIso3166[] = {
    {4, "AF"},   {8, "AL"},   {10, "AQ"},  {12, "DZ"},  {16, "AS"},  {20, "AD"},  {24, "AO"},
    {28, "AG"},  {31, "AZ"},  {32, "AR"},  {36, "AU"},  {40, "AT"},  {44, "BS"},  {48, "BH"},
    {50, "BD"},  {51, "AM"},  {52, "BB"},  {56, "BE"},  {60, "BM"},  {64, "BT"},  {68, "BO"},
    {70, "BA"},  {72, "BW"},  {74, "BV"},  {76, "BR"},  {84, "BZ"},  {86, "IO"},  {90, "SB"},
    {92, "VG"},  {96, "BN"},  {100, "BG"}, {104, "MM"}, {108, "BI"}, {112, "BY"}, {116, "KH"},
    {120, "CM"}, {124, "CA"}, {132, "CV"}, {136, "KY"}, {140, "CF"}, {144, "LK"}, {148, "TD"},
    {152, "CL"}, {156, "CN"}, {158, "TW"}, {162, "CX"}, {166, "CC"}, {170, "CO"}, {174, "KM"},
    {175, "YT"}, {178, "CG"}, {180, "CD"}, {184, "CK"}, {188, "CR"}, {191, "HR"}, {192, "CU"},
    {196, "CY"}, {203, "CZ"}, {204, "BJ"}, {208, "DK"}, {212, "DM"}, {214, "DO"}, {218, "EC"},
    {222, "SV"}, {226, "GQ"}, {231, "ET"}, {232, "ER"}, {233, "EE"}, {234, "FO"}, {238, "FK"},
    {239, "GS"}, {242, "FJ"}, {246, "FI"}, {248, "AX"}, {250, "FR"}, {254, "GF"}, {258, "PF"},
    {260, "TF"}, {262, "DJ"}, {266, "GA"}, {268, "GE"}, {270, "GM"}, {275, "PS"}, {276, "DE"},
    {288, "GH"}, {292, "GI"}, {296, "KI"}, {300, "GR"}, {304, "GL"}, {308, "GD"}, {312, "GP"},
    {316, "GU"}, {320, "GT"}, {324, "GN"}, {328, "GY"}, {332, "HT"}, {334, "HM"}, {336, "VA"},
    {340, "HN"}, {344, "HK"}, {348, "HU"}, {352, "IS"}, {356, "IN"}, {360, "ID"}, {364, "IR"},
    {368, "IQ"}, {372, "IE"}, {376, "IL"}, {380, "IT"}, {384, "CI"}, {388, "JM"}, {392, "JP"},
    {398, "KZ"}, {400, "JO"}, {404, "KE"}, {408, "KP"}, {410, "KR"}, {414, "KW"}, {417, "KG"},
    {418, "LA"}, {422, "LB"}, {426, "LS"}, {428, "LV"}, {430, "LR"}, {434, "LY"}, {438, "LI"},
    {440, "LT"}, {442, "LU"}, {446, "MO"}, {450, "MG"}, {454, "MW"}, {458, "MY"}, {462, "MV"},
    {466, "ML"}, {470, "MT"}, {474, "MQ"}, {478, "MR"}, {480, "MU"}, {484, "MX"}, {492, "MC"},
    {496, "MN"}, {498, "MD"}, {499, "ME"}, {500, "MS"}, {504, "MA"}, {508, "MZ"}, {512, "OM"},
    {516, "NA"}, {520, "NR"}, {524, "NP"}, {528, "NL"}, {531, "CW"}, {533, "AW"}, {534, "SX"},
    {535, "BQ"}, {540, "NC"}, {548, "VU"}, {554, "NZ"}, {558, "NI"}, {562, "NE"}, {566, "NG"},
    {570, "NU"}, {574, "NF"}, {578, "NO"}, {580, "MP"}, {581, "UM"}, {583, "FM"}, {584, "MH"},
    {585, "PW"}, {586, "PK"}, {591, "PA"}, {598, "PG"}, {600, "PY"}, {604, "PE"}, {608, "PH"},
    {612, "PN"}, {616, "PL"}, {620, "PT"}, {624, "GW"}, {626, "TL"}, {630, "PR"}, {634, "QA"},
    {638, "RE"}, {642, "RO"}, {643, "RU"}, {646, "RW"}, {652, "BL"}, {654, "SH"}, {659, "KN"},
    {660, "AI"}, {662, "LC"}, {663, "MF"}, {666, "PM"}, {670, "VC"}, {674, "SM"}, {678, "ST"},
    {682, "SA"}, {686, "SN"}, {688, "RS"}, {690, "SC"}, {694, "SL"}, {702, "SG"}, {703, "SK"},
    {704, "VN"}, {705, "SI"}, {706, "SO"}, {710, "ZA"}, {716, "ZW"}, {724, "ES"}, {728, "SS"},
    {729, "SD"}, {732, "EH"}, {740, "SR"}, {744, "SJ"}, {748, "SZ"}, {752, "SE"}, {756, "CH"},
    {760, "SY"}, {762, "TJ"}, {764, "TH"}, {768, "TG"}, {772, "TK"}, {776, "TO"}, {780, "TT"},
    {784, "AE"}, {788, "TN"}, {792, "TR"}, {795, "TM"}, {796, "TC"}, {798, "TV"}, {800, "UG"},
    {804, "UA"}, {807, "MK"}, {818, "EG"}, {826, "GB"}, {831, "GG"}, {832, "JE"}, {833, "IM"},
    {834, "TZ"}, {840, "US"}, {850, "VI"}, {854, "BF"}, {858, "UY"}, {860, "UZ"}, {862, "VE"},
    {876, "WF"}, {882, "WS"}, {887, "YE"}, {894, "ZM"},
};

}  // namespace

std::string_view Alpha2FromNumeric(int numeric) {
  const IsoEntry* end = std::end(kIso3166);
  const IsoEntry* it = std::lower_bound(std::begin(kIso3166), end, numeric,
                                        [](const IsoEntry& e, int n) { return e.numeric < n; });
  if (it == end || it->numeric != numeric) return {};
  return it->alpha2;
}

bool IsCutEdge(const LatLon& a, const LatLon& b) {
  return (a.lon_deg == b.lon_deg && std::fabs(a.lon_deg) == 180) ||
         (a.lat_deg == b.lat_deg && std::fabs(a.lat_deg) == 90);
}

Result<CountryMap> CountryMap::FromTopoJson(std::string_view text, std::string_view object_name) {
  Result<json> parsed = ParseJson(text);
  if (!parsed.ok()) return parsed.status();
  const json& topology = *parsed;
  if (!topology.is_object()) return Invalid("topology", "must be a JSON object");
  auto type = topology.find("type");
  if (type == topology.end()) return Invalid("type", "missing");
  if (!type->is_string() || type->get_ref<const std::string&>() != "Topology") {
    return Invalid("type", "must be \"Topology\"");
  }
  Result<Transform> transform = ParseTransform(topology);
  if (!transform.ok()) return transform.status();
  auto arcs_json = topology.find("arcs");
  if (arcs_json == topology.end()) return Invalid("arcs", "missing");
  std::vector<Ring> arcs;
  CUSTODIAN_RETURN_IF_ERROR(DecodeArcs(*arcs_json, *transform, &arcs));

  auto objects = topology.find("objects");
  if (objects == topology.end()) return Invalid("objects", "missing");
  if (!objects->is_object()) return Invalid("objects", "must be an object");
  const std::string object_path = "objects." + std::string(object_name);
  auto object = objects->find(std::string(object_name));
  if (object == objects->end()) return Invalid(object_path, "missing");
  if (!object->is_object()) return Invalid(object_path, "must be an object");
  auto object_type = object->find("type");
  if (object_type == object->end()) return Invalid(object_path + ".type", "missing");
  if (!object_type->is_string() ||
      object_type->get_ref<const std::string&>() != "GeometryCollection") {
    return Invalid(object_path + ".type", "must be \"GeometryCollection\"");
  }
  auto geometries = object->find("geometries");
  const std::string geometries_path = object_path + ".geometries";
  if (geometries == object->end()) return Invalid(geometries_path, "missing");
  if (!geometries->is_array()) return Invalid(geometries_path, "must be an array");

  CountryMap map;
  std::map<std::string, size_t, std::less<>> by_code;  // alpha2 -> index in map.countries_
  std::vector<double> name_box_area;                   // per country, for choosing its name
  Ring ring;
  for (size_t g = 0; g < geometries->size(); ++g) {
    const std::string path = Index(geometries_path, g);
    const json& geometry = (*geometries)[g];
    if (!geometry.is_object()) return Invalid(path, "must be an object");
    auto gtype = geometry.find("type");
    if (gtype == geometry.end()) return Invalid(path + ".type", "missing");
    if (!gtype->is_null() && !gtype->is_string()) {
      return Invalid(path + ".type", "must be a string or null");
    }
    const std::string type_name = gtype->is_string() ? gtype->get<std::string>() : "";
    if (type_name != "Polygon" && type_name != "MultiPolygon") {
      ++map.skipped_geometries_;  // null, Point, LineString, ...: no area, no territory
      continue;
    }

    Country feature;
    auto id = geometry.find("id");
    if (id != geometry.end()) {
      CUSTODIAN_RETURN_IF_ERROR(ParseNumericId(*id, path + ".id", &feature.numeric));
      feature.alpha2 = std::string(Alpha2FromNumeric(feature.numeric));
    }
    auto properties = geometry.find("properties");
    if (properties != geometry.end()) {
      if (!properties->is_object()) return Invalid(path + ".properties", "must be an object");
      auto name = properties->find("name");
      if (name != properties->end()) {
        if (!name->is_string()) return Invalid(path + ".properties.name", "must be a string");
        feature.name = name->get<std::string>();
      }
    }
    if (id == geometry.end()) {
      for (const auto& [fallback_name, code] : kNameFallbacks) {
        if (feature.name == fallback_name) feature.alpha2 = std::string(code);
      }
    }

    auto garcs = geometry.find("arcs");
    const std::string arcs_path = path + ".arcs";
    if (garcs == geometry.end()) return Invalid(arcs_path, "missing");
    if (!garcs->is_array()) return Invalid(arcs_path, "must be an array");
    // A Polygon's arcs are its rings; a MultiPolygon's are polygons of rings.
    std::vector<std::pair<const json*, std::string>> polygons;
    if (type_name == "Polygon") {
      polygons.emplace_back(&*garcs, arcs_path);
    } else {
      for (size_t p = 0; p < garcs->size(); ++p) {
        polygons.emplace_back(&(*garcs)[p], Index(arcs_path, p));
      }
    }
    for (const auto& [polygon_json, polygon_path] : polygons) {
      if (!polygon_json->is_array()) return Invalid(polygon_path, "must be an array of rings");
      if (polygon_json->empty()) return Invalid(polygon_path, "polygon must have a ring");
      std::vector<Ring> rings;
      bool outer_degenerate = false;
      for (size_t r = 0; r < polygon_json->size(); ++r) {
        CUSTODIAN_RETURN_IF_ERROR(
            AssembleRing((*polygon_json)[r], Index(polygon_path, r), arcs, &ring));
        // Area is only meaningful once the ring is continuous and closed in the plane (a ring
        // circling the pole is a line until closed through it).
        const int turns = Unwrap(&ring);
        if (turns != 0) CloseThroughPole(turns, &ring);
        // Every ring is assembled (and so validated) even when its polygon is dropped, so a
        // degenerate outer ring never masks an error in a hole.
        if (std::fabs(TwiceArea(ring)) <= 2 * kDegenerateAreaDeg2) {
          if (r == 0) outer_degenerate = true;
          ++map.dropped_rings_;
          continue;
        }
        if (outer_degenerate) {
          ++map.dropped_rings_;  // a hole of nothing
          continue;
        }
        rings.push_back(ring);
      }
      if (outer_degenerate) continue;
      for (Polygon& planar : ToPlanar(std::move(rings))) {
        feature.polygons.push_back(std::move(planar));
      }
    }
    for (const Polygon& polygon : feature.polygons) {
      feature.box.Extend({polygon.box.min_lat_deg, polygon.box.min_lon_deg});
      feature.box.Extend({polygon.box.max_lat_deg, polygon.box.max_lon_deg});
    }

    // Features sharing a code are one country (Australia and the Ashmore and Cartier Islands
    // are both 036); the name is that of the largest feature.
    auto existing = feature.alpha2.empty() ? by_code.end() : by_code.find(feature.alpha2);
    if (existing == by_code.end()) {
      if (!feature.alpha2.empty()) by_code.emplace(feature.alpha2, map.countries_.size());
      name_box_area.push_back(BoxAreaDeg2(feature.box));
      map.countries_.push_back(std::move(feature));
      continue;
    }
    Country& country = map.countries_[existing->second];
    const double area = BoxAreaDeg2(feature.box);
    if (area > name_box_area[existing->second]) {
      name_box_area[existing->second] = area;
      country.name = feature.name;
    }
    if (country.numeric == 0) country.numeric = feature.numeric;
    for (Polygon& polygon : feature.polygons) {
      country.box.Extend({polygon.box.min_lat_deg, polygon.box.min_lon_deg});
      country.box.Extend({polygon.box.max_lat_deg, polygon.box.max_lon_deg});
      country.polygons.push_back(std::move(polygon));
    }
  }
  // std::map iterates in key order, which is the sorted index Find() searches.
  for (const auto& [code, index] : by_code) map.by_alpha2_.push_back(index);
  return map;
}

Result<CountryMap> CountryMap::Load(const std::string& path) {
  Result<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  Result<CountryMap> map = FromTopoJson(*text);
  if (!map.ok()) return map.status().WithContext(path);
  return map;
}

std::string CountryMap::DefaultPath() {
  const char* env = std::getenv("CUSTODIAN_WORLD_ATLAS");
  if (env != nullptr && *env != '\0') return env;
#ifdef CUSTODIAN_SOURCE_DIR
  // A build from a source tree uses the copy scripts/deps.sh installed there.
  const std::string in_tree =
      CUSTODIAN_SOURCE_DIR "/third_party/world-atlas/node_modules/world-atlas/countries-10m.json";
  if (::access(in_tree.c_str(), R_OK) == 0) return in_tree;
#endif
  return "/usr/share/custodian/countries-10m.json";
}

const Country* CountryMap::Find(std::string_view alpha2) const {
  auto it = std::lower_bound(
      by_alpha2_.begin(), by_alpha2_.end(), alpha2,
      [this](size_t index, std::string_view code) { return countries_[index].alpha2 < code; });
  if (it == by_alpha2_.end() || countries_[*it].alpha2 != alpha2) return nullptr;
  return &countries_[*it];
}

std::string CountryMap::CountryAt(const LatLon& p) const {
  LatLon q = p;
  if (q.lon_deg < -180 || q.lon_deg > 180) {
    q.lon_deg = std::remainder(q.lon_deg, 360.0);  // into [-180, 180]
  }
  // Box tests reject almost every country in a few comparisons; only the one or two whose box
  // holds the point pay for the even-odd walk over their edges.
  for (const Country& country : countries_) {
    if (!country.box.Contains(q)) continue;
    for (const Polygon& polygon : country.polygons) {
      if (polygon.Contains(q)) return country.alpha2;
    }
  }
  return "";
}

}  // namespace custodian::geo
