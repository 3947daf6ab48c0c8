#include "geo/svg_map.h"

#include <GeographicLib/Geodesic.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "geo/sphere.h"

namespace custodian::geo {
namespace {

constexpr double kDegToRad = M_PI / 180.0;
constexpr double kRadToDeg = 180.0 / M_PI;
// Half the length of a meridian on WGS84: no two points are farther apart than this, so a cap
// of this radius covers the whole Earth and has no circle to draw.
constexpr double kHalfMeridianKm = 20003.93;
constexpr int kLegendLineHeight = 17;

const char* const kLandmarkColours[] = {"#1f4e9c", "#7b3294", "#b35806", "#1b7837",
                                        "#c51b7d", "#2d004b", "#8c510a", "#01665e"};

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string Fmt(const char* format, double a) {
  char buf[96];
  std::snprintf(buf, sizeof buf, format, a);
  return buf;
}

// "10,244"
std::string Km(double km) {
  std::string s = Fmt("%.0f", km), out;
  int digits = 0;
  for (auto it = s.rbegin(); it != s.rend(); ++it) {
    if (std::isdigit((unsigned char)*it) && digits > 0 && digits % 3 == 0)
      out.insert(out.begin(), ',');
    if (std::isdigit((unsigned char)*it)) ++digits;
    out.insert(out.begin(), *it);
  }
  return out;
}

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Word-wraps to at most `width` characters a line (UTF-8 continuation bytes not counted).
std::vector<std::string> Wrap(const std::string& text, size_t width) {
  std::vector<std::string> lines;
  std::string line, word;
  auto visible = [](const std::string& s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
  };
  auto flush_word = [&] {
    if (word.empty()) return;
    if (!line.empty() && visible(line) + 1 + visible(word) > width) {
      lines.push_back(line);
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
    word.clear();
  };
  for (char c : text) {
    if (c == ' ') {
      flush_word();
    } else {
      word += c;
    }
  }
  flush_word();
  if (!line.empty()) lines.push_back(line);
  return lines;
}

double Wrap180(double lon) {
  while (lon > 180) lon -= 360;
  while (lon < -180) lon += 360;
  return lon;
}

// The longitude equal to `lon` modulo 360 that is nearest `ref`.
double Unwrap(double lon, double ref) {
  return ref + Wrap180(lon - ref);
}

// Lon/lat extent of a spherical cap, longitudes unwrapped around the center.
struct Extent {
  double lon0 = 1e9, lon1 = -1e9, lat0 = 1e9, lat1 = -1e9;
  void Add(double lon, double lat) {
    lon0 = std::min(lon0, lon), lon1 = std::max(lon1, lon);
    lat0 = std::min(lat0, lat), lat1 = std::max(lat1, lat);
  }
};

void AddCap(Extent& e, double lon, double lat, double radius_km) {
  double rho = radius_km / kEarthMeanRadiusKm;  // central angle, radians
  double rho_deg = rho * kRadToDeg * 1.01;      // 1 % for the ellipsoid
  double lat_lo = std::max(-90.0, lat - rho_deg), lat_hi = std::min(90.0, lat + rho_deg);
  double half_lon = 180;
  double s = std::sin(std::min(rho * 1.01, M_PI / 2)) / std::cos(lat * kDegToRad);
  if (lat_hi < 90 && lat_lo > -90 && s < 1) half_lon = std::asin(s) * kRadToDeg;
  e.Add(lon - half_lon, lat_lo);
  e.Add(lon + half_lon, lat_hi);
}

double NiceStep(double span, int lines) {
  static const double kSteps[] = {0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 15, 20, 30, 45, 60, 90};
  for (double s : kSteps) {
    if (span / s <= lines) return s;
  }
  return 90;
}

// The map's projection: unwrapped lon/lat -> pixels.
struct Frame {
  double lon0, lon1, lat0, lat1;  // lon unwrapped, lon0 < lon1
  double parallel_deg;            // standard parallel: the scale is true along it
  double k;                       // cos(standard parallel)
  double scale;                   // px per degree of latitude
  double width, height;
  double X(double lon) const { return (lon - lon0) * k * scale; }
  double Y(double lat) const { return (lat1 - lat) * scale; }
  double PxPerKm() const { return scale / (kEarthMeanRadiusKm * kDegToRad); }
};

Frame MakeFrame(const MapSpec& spec) {
  const double ref = spec.site.lon_deg;
  Extent e;
  e.Add(spec.site.lon_deg, spec.site.lat_deg);
  // The region of interest: the smallest circle (the feasible region lies inside it) and the
  // circles not much larger, whose landmarks then show in the picture too.
  std::vector<const MapLandmark*> answered;
  for (const auto& l : spec.landmarks) {
    if (l.radius_km && *l.radius_km < kHalfMeridianKm) answered.push_back(&l);
  }
  std::sort(answered.begin(), answered.end(),
            [](auto* a, auto* b) { return *a->radius_km < *b->radius_km; });
  if (!answered.empty()) {
    double r_min = *answered.front()->radius_km;
    for (const auto* l : answered) {
      double r = *l->radius_km;
      if (l != answered.front() && (r > std::max(1.5 * r_min, r_min + 200) || r > 6000)) break;
      AddCap(e, Unwrap(l->position.lon_deg, ref), l->position.lat_deg, r);
    }
  }
  // Pad by 12 %, and at least 0.5° so a tiny circle still shows its surroundings.
  double pad_lat = std::max(0.5, 0.12 * (e.lat1 - e.lat0));
  double pad_lon = std::max(0.5, 0.12 * (e.lon1 - e.lon0));
  Frame f;
  f.lat0 = std::max(-90.0, e.lat0 - pad_lat), f.lat1 = std::min(90.0, e.lat1 + pad_lat);
  f.lon0 = e.lon0 - pad_lon, f.lon1 = e.lon1 + pad_lon;
  if (f.lon1 - f.lon0 > 360) {
    double mid = (f.lon0 + f.lon1) / 2;
    f.lon0 = mid - 180, f.lon1 = mid + 180;
  }
  // Round circles need the frame's own latitude; a frame around the world (a circle around a
  // pole) reads better with a moderate one than with the squeeze of a polar parallel.
  const double max_parallel = f.lon1 - f.lon0 > 120 ? 45.0 : 70.0;
  f.parallel_deg = std::clamp((f.lat0 + f.lat1) / 2, -max_parallel, max_parallel);
  f.k = std::cos(f.parallel_deg * kDegToRad);
  // Keep the picture between 2:1 landscape and square, by widening the short side.
  double w = (f.lon1 - f.lon0) * f.k, h = f.lat1 - f.lat0;
  if (h < 0.5 * w) {
    double grow = (0.5 * w - h) / 2;
    f.lat0 -= grow, f.lat1 += grow;
    if (f.lat1 > 90) f.lat0 -= f.lat1 - 90, f.lat1 = 90;
    if (f.lat0 < -90) f.lat1 += -90 - f.lat0, f.lat0 = -90;
    f.lat0 = std::max(-90.0, f.lat0), f.lat1 = std::min(90.0, f.lat1);
  } else if (h > w) {
    double grow = (h / f.k - (f.lon1 - f.lon0)) / 2;
    f.lon0 -= grow, f.lon1 += grow;
    if (f.lon1 - f.lon0 > 360) {
      double mid = (f.lon0 + f.lon1) / 2;
      f.lon0 = mid - 180, f.lon1 = mid + 180;
    }
  }
  f.width = spec.width_px;
  f.scale = f.width / ((f.lon1 - f.lon0) * f.k);
  f.height = std::round((f.lat1 - f.lat0) * f.scale);
  return f;
}

// Appends one ring as a path, shifted by `shift` degrees of longitude, dropping points closer
// than ~0.6 px to the previous one (the file stays small; nothing visible is lost).
void RingPath(std::string& d, const std::vector<LatLon>& ring, double shift, const Frame& f) {
  double last_x = 1e18, last_y = 1e18;
  bool first = true;
  for (size_t i = 0; i < ring.size(); ++i) {
    double x = f.X(ring[i].lon_deg + shift), y = f.Y(ring[i].lat_deg);
    bool is_last = i + 1 == ring.size();
    if (!first && !is_last && std::abs(x - last_x) < 0.6 && std::abs(y - last_y) < 0.6) continue;
    d += (first ? "M" : "L") + Num(x) + " " + Num(y);
    first = false;
    last_x = x, last_y = y;
  }
  d += "Z";
}

// Border lines of a ring without the loader's cut edges (antimeridian, pole lines).
void BorderPath(std::string& d, const std::vector<LatLon>& ring, double shift, const Frame& f) {
  bool pen_down = false;
  double last_x = 1e18, last_y = 1e18;
  for (size_t i = 0; i < ring.size(); ++i) {
    const LatLon& a = ring[i];
    const LatLon& b = ring[(i + 1) % ring.size()];
    if (IsCutEdge(a, b)) {
      pen_down = false;
      continue;
    }
    double ax = f.X(a.lon_deg + shift), ay = f.Y(a.lat_deg);
    double bx = f.X(b.lon_deg + shift), by = f.Y(b.lat_deg);
    if (!pen_down) {
      d += "M" + Num(ax) + " " + Num(ay);
      pen_down = true;
      last_x = ax, last_y = ay;
    }
    if (std::abs(bx - last_x) < 0.6 && std::abs(by - last_y) < 0.6) continue;
    d += "L" + Num(bx) + " " + Num(by);
    last_x = bx, last_y = by;
  }
}

bool BoxMeetsFrame(const LonLatBox& b, double shift, const Frame& f) {
  return b.max_lon_deg + shift >= f.lon0 && b.min_lon_deg + shift <= f.lon1 &&
         b.max_lat_deg >= f.lat0 && b.min_lat_deg <= f.lat1;
}

// The distance circle around `c` as a lon/lat line, longitudes unwrapped continuously from the
// center's. `encloses_pole` tells whether it winds around a pole (then it is an open line
// spanning 360° of longitude, not a closed ring).
std::vector<LatLon> CirclePoints(const LatLon& c, double radius_km, bool* encloses_pole) {
  const auto& g = GeographicLib::Geodesic::WGS84();
  std::vector<LatLon> pts;
  double prev_lon = c.lon_deg;
  for (int i = 0; i <= 720; ++i) {
    double lat = 0, lon = 0;
    g.Direct(c.lat_deg, c.lon_deg, i * 0.5, radius_km * 1000, lat, lon);
    lon = Unwrap(lon, prev_lon);
    pts.push_back({lat, lon});
    prev_lon = lon;
  }
  *encloses_pole = std::abs(pts.back().lon_deg - pts.front().lon_deg) > 180;
  return pts;
}

std::string PolyPath(const std::vector<LatLon>& pts, double shift, const Frame& f, bool close) {
  std::string d;
  for (size_t i = 0; i < pts.size(); ++i) {
    d += (i == 0 ? "M" : "L") + Num(f.X(pts[i].lon_deg + shift)) + " " + Num(f.Y(pts[i].lat_deg));
  }
  if (close) d += "Z";
  return d;
}

struct LabelBox {
  double x0, y0, x1, y1;
  bool Overlaps(const LabelBox& o) const {
    return x0 < o.x1 && o.x0 < x1 && y0 < o.y1 && o.y0 < y1;
  }
};

// Moves a label down (then up) until it overlaps no placed label; returns its baseline y.
double PlaceLabel(std::vector<LabelBox>& placed, double x0, double x1, double y, double lo,
                  double hi) {
  for (int step = 0; step < 40; ++step) {
    double dy = (step % 2 == 0 ? 1 : -1) * 15.0 * ((step + 1) / 2);
    double yy = std::clamp(y + dy, lo, hi);
    LabelBox b{x0, yy - 12, x1, yy + 3};
    bool free = std::none_of(placed.begin(), placed.end(), [&](auto& p) { return p.Overlaps(b); });
    if (free) {
      placed.push_back(b);
      return yy;
    }
  }
  placed.push_back({x0, y - 12, x1, y + 3});
  return y;
}

}  // namespace

std::string RenderSvgMap(const CountryMap& map, const Policy& policy, const MapSpec& spec) {
  const Frame f = MakeFrame(spec);
  const double ref = spec.site.lon_deg;
  std::string s;
  s.reserve(1 << 20);

  // Legend text first: its height decides the document's.
  std::vector<std::string> reason_lines;
  for (const auto& r : spec.reasons) {
    auto lines = Wrap(r, size_t(f.width / 7.2));
    for (size_t i = 0; i < lines.size(); ++i)
      reason_lines.push_back((i == 0 ? "• " : "  ") + lines[i]);
  }
  const double legend_top = f.height + 14;
  const double legend_height =
      34 + kLegendLineHeight * double(reason_lines.size()) + 26 + 5 * 19 + 14;
  const double total_w = f.width + 20, total_h = legend_top + legend_height;

  s += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + Num(total_w) + "\" height=\"" +
       Num(total_h) + "\" viewBox=\"-10 -10 " + Num(total_w) + " " + Num(total_h) +
       "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"13\">\n";
  s += "<title>Custodian verdict map: " + Escape(spec.verdict) + "</title>\n";
  s += "<desc>Equirectangular projection, standard parallel " + Fmt("%.1f", f.parallel_deg) +
       "°. Borders: Natural Earth 1:10m (world-atlas). The shaded feasible region is "
       "illustrative (grid cells whose centres are within every circle); the verdict's proofs "
       "are the engine's.</desc>\n";
  s += "<rect x=\"-10\" y=\"-10\" width=\"" + Num(total_w) + "\" height=\"" + Num(total_h) +
       "\" fill=\"#ffffff\"/>\n";
  s += "<defs><clipPath id=\"frame\"><rect x=\"0\" y=\"0\" width=\"" + Num(f.width) +
       "\" height=\"" + Num(f.height) + "\"/></clipPath></defs>\n";
  s += "<g clip-path=\"url(#frame)\">\n";
  s += "<rect x=\"0\" y=\"0\" width=\"" + Num(f.width) + "\" height=\"" + Num(f.height) +
       "\" fill=\"#e3eef6\"/>\n";

  // Countries: every polygon that meets the frame, at whichever 360° shift puts it there.
  // The loader's cut edges (geo/countries.h) are not borders; they can only show when the frame
  // contains the antimeridian, and only then are borders drawn apart from the fills.
  const bool shows_antimeridian =
      std::floor((f.lon0 - 180) / 360) != std::floor((f.lon1 - 180) / 360);
  std::string land, restricted, licensed, borders;
  for (const auto& country : map.countries()) {
    bool is_restricted = !country.alpha2.empty() && policy.IsRestricted(country.alpha2);
    bool is_licensed = !country.alpha2.empty() && spec.licensed.count(country.alpha2) != 0;
    std::string& fill = is_restricted ? restricted : is_licensed ? licensed : land;
    for (double shift : {-360.0, 0.0, 360.0}) {
      if (!BoxMeetsFrame(country.box, shift, f)) continue;
      for (const auto& poly : country.polygons) {
        if (!BoxMeetsFrame(poly.box, shift, f)) continue;
        for (const auto& ring : poly.rings) {
          RingPath(fill, ring, shift, f);
          if (shows_antimeridian) BorderPath(borders, ring, shift, f);
        }
      }
    }
  }
  const std::string stroke =
      shows_antimeridian ? ""
                         : " stroke=\"#8a8a8a\" stroke-width=\"0.7\" stroke-linejoin=\"round\"";
  s += "<path fill=\"#f5f2ea\" fill-rule=\"evenodd\"" + stroke + " d=\"" + land + "\"/>\n";
  s += "<path fill=\"#f2c2c2\" fill-rule=\"evenodd\"" + stroke + " d=\"" + restricted + "\"/>\n";
  s += "<path fill=\"#cfe8c9\" fill-rule=\"evenodd\"" + stroke + " d=\"" + licensed + "\"/>\n";
  if (shows_antimeridian) {
    s += "<path fill=\"none\" stroke=\"#8a8a8a\" stroke-width=\"0.7\" stroke-linejoin=\"round\" "
         "d=\"" +
         borders + "\"/>\n";
  }

  // Graticule, labelled at the frame's edges.
  double step = NiceStep(std::max(f.lon1 - f.lon0, (f.lat1 - f.lat0) / f.k), 8);
  std::string grid, grid_labels;
  for (double lon = std::ceil(f.lon0 / step) * step; lon <= f.lon1; lon += step) {
    double x = f.X(lon);
    grid += "M" + Num(x) + " 0V" + Num(f.height);
    double w = Wrap180(lon);
    std::string label = Fmt(step < 1 ? "%.2f" : "%.0f", std::abs(w)) + "°" +
                        (std::abs(w) < 1e-9 || std::abs(w) == 180 ? "" : (w > 0 ? "E" : "W"));
    grid_labels +=
        "<text x=\"" + Num(x + 3) + "\" y=\"" + Num(f.height - 4) + "\">" + label + "</text>";
  }
  for (double lat = std::ceil(f.lat0 / step) * step; lat <= f.lat1; lat += step) {
    double y = f.Y(lat);
    grid += "M0 " + Num(y) + "H" + Num(f.width);
    std::string label = Fmt(step < 1 ? "%.2f" : "%.0f", std::abs(lat)) + "°" +
                        (std::abs(lat) < 1e-9 ? "" : (lat > 0 ? "N" : "S"));
    if (y > f.height - 16) continue;  // the corner belongs to the longitude labels
    grid_labels += "<text x=\"3\" y=\"" + Num(y - 3) + "\">" + label + "</text>";
  }
  s += "<path fill=\"none\" stroke=\"#9bb3c7\" stroke-width=\"0.5\" stroke-dasharray=\"3 3\" d=\"" +
       grid + "\"/>\n";

  // Feasible region, illustrative: cells whose centres are within every circle (WGS84).
  const auto& g = GeographicLib::Geodesic::WGS84();
  std::vector<const MapLandmark*> answered;
  for (const auto& l : spec.landmarks) {
    if (l.radius_km) answered.push_back(&l);
  }
  const double cell_px = 3;
  int cols = int(std::ceil(f.width / cell_px)), rows = int(std::ceil(f.height / cell_px));
  std::string region;
  bool region_any = false;
  if (!answered.empty()) {
    for (int r = 0; r < rows; ++r) {
      double lat = f.lat1 - (r + 0.5) * cell_px / f.scale;
      int run_start = -1;
      for (int c = 0; c <= cols; ++c) {
        bool inside = false;
        if (c < cols) {
          double lon = Wrap180(f.lon0 + (c + 0.5) * cell_px / (f.scale * f.k));
          inside = true;
          for (const auto* l : answered) {
            if (*l->radius_km >= kHalfMeridianKm) continue;
            double d_m = 0;
            g.Inverse(l->position.lat_deg, l->position.lon_deg, lat, lon, d_m);
            if (d_m / 1000 > *l->radius_km) {
              inside = false;
              break;
            }
          }
        }
        if (inside && run_start < 0) run_start = c;
        if (!inside && run_start >= 0) {
          region += "M" + Num(run_start * cell_px) + " " + Num(r * cell_px) + "h" +
                    Num((c - run_start) * cell_px) + "v" + Num(cell_px) + "h-" +
                    Num((c - run_start) * cell_px) + "Z";
          run_start = -1;
          region_any = true;
        }
      }
    }
  }
  s += "<path fill=\"#2f6fd6\" fill-opacity=\"0.35\" d=\"" + region + "\"/>\n";

  // Distance circles, at each 360° shift that meets the frame.
  for (size_t i = 0; i < answered.size(); ++i) {
    const MapLandmark& l = *answered[i];
    if (*l.radius_km >= kHalfMeridianKm) continue;  // covers the Earth: nothing to draw
    const char* colour = kLandmarkColours[i % std::size(kLandmarkColours)];
    bool pole = false;
    auto pts = CirclePoints(l.position, *l.radius_km, &pole);
    double base = Unwrap(l.position.lon_deg, ref) - l.position.lon_deg;
    double lo = 1e9, hi = -1e9, la_lo = 90, la_hi = -90;
    for (const auto& p : pts) {
      lo = std::min(lo, p.lon_deg), hi = std::max(hi, p.lon_deg);
      la_lo = std::min(la_lo, p.lat_deg), la_hi = std::max(la_hi, p.lat_deg);
    }
    for (double shift : {base - 720.0, base - 360.0, base, base + 360.0, base + 720.0}) {
      if (hi + shift < f.lon0 || lo + shift > f.lon1 || la_hi < f.lat0 || la_lo > f.lat1) continue;
      s += "<path fill=\"none\" stroke=\"" + std::string(colour) + "\" stroke-width=\"1.6\" d=\"" +
           PolyPath(pts, shift, f, !pole) + "\"/>\n";
    }
  }
  s += "<g fill=\"#4d6a81\" font-size=\"10\">" + grid_labels + "</g>\n";
  s += "</g>\n";

  // Landmarks, the site, and labels (outside the clip so edge markers stay whole).
  std::vector<LabelBox> placed;
  auto site_x = f.X(spec.site.lon_deg), site_y = f.Y(spec.site.lat_deg);
  placed.push_back({site_x - 8, site_y - 8, site_x + 8, site_y + 8});
  int colour_index = 0;
  std::string marks, labels;
  for (const auto& l : spec.landmarks) {
    const bool has_answer = l.radius_km.has_value();
    std::string colour =
        has_answer ? kLandmarkColours[colour_index++ % std::size(kLandmarkColours)] : "#888888";
    double lon = Unwrap(l.position.lon_deg, ref);
    double x = f.X(lon), y = f.Y(l.position.lat_deg);
    std::string text = l.id;
    if (has_answer) {
      text += "  " + Fmt("%.3f ms", l.min_rtt_ms) + " → " +
              (*l.radius_km >= kHalfMeridianKm ? std::string("anywhere on Earth")
                                               : "within " + Km(*l.radius_km) + " km");
    } else {
      text += "  (no receipt)";
    }
    double text_w = 7.0 * double(text.size());
    bool inside = x >= 0 && x <= f.width && y >= 0 && y <= f.height;
    if (inside) {
      marks += "<circle cx=\"" + Num(x) + "\" cy=\"" + Num(y) + "\" r=\"4.5\" fill=\"" +
               (has_answer ? colour : std::string("#ffffff")) + "\" stroke=\"" + colour +
               "\" stroke-width=\"1.5\"/>";
      bool right = x + 8 + text_w < f.width;
      double x0 = right ? x + 8 : x - 8 - text_w;
      double ly = PlaceLabel(placed, x0, x0 + text_w, y + 4, 14, f.height - 4);
      labels += "<text x=\"" + Num(right ? x + 8 : x - 8) + "\" y=\"" + Num(ly) + "\" fill=\"" +
                colour + "\"" + (right ? "" : " text-anchor=\"end\"") + ">" + Escape(text) +
                "</text>";
      continue;
    }
    // Off the frame: an arrow at the edge, pointing to it, with its distance from the site.
    double cx = f.width / 2, cy = f.height / 2, dx = x - cx, dy = y - cy;
    double t = std::min(dx != 0 ? (f.width / 2 - 12) / std::abs(dx) : 1e18,
                        dy != 0 ? (f.height / 2 - 12) / std::abs(dy) : 1e18);
    double ex = cx + dx * t, ey = cy + dy * t, len = std::hypot(dx, dy);
    double ux = dx / len, uy = dy / len;
    // A slim arrow: shaft from 14 px inside, head at the edge.
    marks += "<path stroke=\"" + colour + "\" stroke-width=\"2\" d=\"M" + Num(ex - ux * 14) + " " +
             Num(ey - uy * 14) + "L" + Num(ex) + " " + Num(ey) + "\"/><path fill=\"" + colour +
             "\" d=\"M" + Num(ex + ux * 8) + " " + Num(ey + uy * 8) + "L" +
             Num(ex - ux * 2 - uy * 5) + " " + Num(ey - uy * 2 + ux * 5) + "L" +
             Num(ex - ux * 2 + uy * 5) + " " + Num(ey - uy * 2 - ux * 5) + "Z\"/>";
    double d_site = 0;
    g.Inverse(spec.site.lat_deg, spec.site.lon_deg, l.position.lat_deg, l.position.lon_deg, d_site);
    text += "  (" + Km(d_site / 1000) + " km away)";
    text_w = 7.0 * double(text.size());
    bool anchor_end = ex > f.width / 2;
    double tx = anchor_end ? ex - 18 : ex + 18;
    double x0 = anchor_end ? tx - text_w : tx;
    double ly = PlaceLabel(placed, x0, x0 + text_w, std::clamp(ey + 4, 28.0, f.height - 20), 14,
                           f.height - 20);
    labels += "<text x=\"" + Num(tx) + "\" y=\"" + Num(ly) + "\" fill=\"" + colour + "\"" +
              (anchor_end ? " text-anchor=\"end\"" : "") + ">" + Escape(text) + "</text>";
  }
  // The claimed site: a black cross in a white ring.
  marks +=
      "<g stroke-linecap=\"round\"><circle cx=\"" + Num(site_x) + "\" cy=\"" + Num(site_y) +
      "\" r=\"7\" fill=\"#ffffff\" fill-opacity=\"0.8\" stroke=\"#000000\" stroke-width=\"1.5\"/>"
      "<path stroke=\"#000000\" stroke-width=\"2\" d=\"M" +
      Num(site_x - 4) + " " + Num(site_y - 4) + "L" + Num(site_x + 4) + " " + Num(site_y + 4) +
      "M" + Num(site_x - 4) + " " + Num(site_y + 4) + "L" + Num(site_x + 4) + " " +
      Num(site_y - 4) + "\"/></g>";
  std::string site_text =
      "claimed site " + Fmt("%.4f", spec.site.lat_deg) + "," + Fmt("%.4f", spec.site.lon_deg);
  double site_w = 7.0 * double(site_text.size());
  bool site_right = site_x + 12 + site_w < f.width;
  double sx0 = site_right ? site_x + 12 : site_x - 12 - site_w;
  double sly = PlaceLabel(placed, sx0, sx0 + site_w, site_y - 10, 14, f.height - 4);
  labels += "<text x=\"" + Num(site_right ? site_x + 12 : site_x - 12) + "\" y=\"" + Num(sly) +
            "\" font-weight=\"bold\"" + (site_right ? "" : " text-anchor=\"end\"") + ">" +
            Escape(site_text) + "</text>";
  // Country labels where there is room: the name when the country fills a fair part of the
  // frame, else its code; at the sample point nearest the middle of its visible samples.
  std::string country_labels;
  {
    const int nx = 48, ny = std::max(8, int(48 * f.height / f.width));
    struct Acc {
      double sx = 0, sy = 0;
      int n = 0;
      std::vector<std::pair<double, double>> pts;
    };
    std::map<std::string, Acc> acc;
    for (int iy = 0; iy < ny; ++iy) {
      for (int ix = 0; ix < nx; ++ix) {
        double x = (ix + 0.5) * f.width / nx, y = (iy + 0.5) * f.height / ny;
        double lat = f.lat1 - y / f.scale, lon = Wrap180(f.lon0 + x / (f.scale * f.k));
        std::string code = map.CountryAt({lat, lon});
        if (code.empty()) continue;
        Acc& a = acc[code];
        a.sx += x, a.sy += y, ++a.n;
        a.pts.push_back({x, y});
      }
    }
    for (const auto& [code, a] : acc) {
      if (a.n < 3) continue;
      double mx = a.sx / a.n, my = a.sy / a.n;
      auto best = *std::min_element(a.pts.begin(), a.pts.end(), [&](auto& p, auto& q) {
        return std::hypot(p.first - mx, p.second - my) < std::hypot(q.first - mx, q.second - my);
      });
      const Country* c = map.Find(code);
      std::string text = (c != nullptr && a.n >= 25 && !c->name.empty()) ? c->name : code;
      double w = 6.5 * double(text.size());
      LabelBox box{best.first - w / 2, best.second - 10, best.first + w / 2, best.second + 3};
      if (box.x0 < 0 || box.x1 > f.width || box.y0 < 0 || box.y1 > f.height) continue;
      if (std::any_of(placed.begin(), placed.end(), [&](auto& p) { return p.Overlaps(box); }))
        continue;
      placed.push_back(box);
      country_labels += "<text x=\"" + Num(best.first) + "\" y=\"" + Num(best.second) + "\">" +
                        Escape(text) + "</text>";
    }
  }
  s += "<g fill=\"#6b6b6b\" font-size=\"11\" text-anchor=\"middle\" letter-spacing=\"0.5\">" +
       country_labels + "</g>\n";
  s += marks + "\n";
  s +=
      "<g paint-order=\"stroke\" stroke=\"#ffffff\" stroke-width=\"3\" stroke-linejoin=\"round\">" +
      labels + "</g>\n";

  // Scale bar (true at the standard parallel), bottom right.
  double target_km = f.width / 5 / f.PxPerKm();
  double bar_km = std::pow(10, std::floor(std::log10(target_km)));
  for (double m : {5.0, 2.0}) {
    if (bar_km * m <= target_km) {
      bar_km *= m;
      break;
    }
  }
  double bar_px = bar_km * f.PxPerKm();
  std::string bar_text = (bar_km >= 1 ? Km(bar_km) : Fmt("%.1f", bar_km)) + " km (true at " +
                         Fmt("%.0f", std::abs(f.parallel_deg)) +
                         (f.parallel_deg >= 0 ? "°N)" : "°S)");
  double bar_box = std::max(bar_px, 6.2 * double(bar_text.size()));
  double bx = f.width - bar_box / 2 - bar_px / 2 - 16, by = f.height - 22;
  s += "<g><rect x=\"" + Num(bx + bar_px / 2 - bar_box / 2 - 6) + "\" y=\"" + Num(by - 16) +
       "\" width=\"" + Num(bar_box + 12) +
       "\" height=\"26\" fill=\"#ffffff\" fill-opacity=\"0.85\"/><path stroke=\"#000000\" "
       "stroke-width=\"2\" fill=\"none\" d=\"M" +
       Num(bx) + " " + Num(by - 4) + "V" + Num(by + 2) + "H" + Num(bx + bar_px) + "V" +
       Num(by - 4) + "\"/><text x=\"" + Num(bx + bar_px / 2) + "\" y=\"" + Num(by - 4) +
       "\" text-anchor=\"middle\" font-size=\"11\">" + bar_text + "</text></g>\n";
  s += "<rect x=\"0\" y=\"0\" width=\"" + Num(f.width) + "\" height=\"" + Num(f.height) +
       "\" fill=\"none\" stroke=\"#333333\" stroke-width=\"1\"/>\n";

  // Legend: the verdict and its sentences, then the key.
  const char* verdict_colour = spec.verdict == "verified"    ? "#1b7837"
                               : spec.verdict == "violation" ? "#b2182b"
                                                             : "#b35806";
  double y = legend_top + 18;
  s += "<text x=\"0\" y=\"" + Num(y) +
       "\" font-size=\"16\" font-weight=\"bold\">Verdict: <tspan fill=\"" + verdict_colour + "\">" +
       Escape(spec.verdict) + "</tspan></text>\n";
  y += 6;
  for (const auto& line : reason_lines) {
    y += kLegendLineHeight;
    s += "<text x=\"0\" y=\"" + Num(y) + "\" xml:space=\"preserve\">" + Escape(line) + "</text>\n";
  }
  y += 26;
  struct Key {
    std::string swatch, text;
  };
  std::string licensed_codes;
  for (const auto& c : spec.licensed) licensed_codes += (licensed_codes.empty() ? "" : ",") + c;
  std::vector<Key> keys = {
      {"<rect width=\"16\" height=\"11\" y=\"-10\" fill=\"#f2c2c2\" stroke=\"#8a8a8a\"/>",
       "restricted territory (proofs add a " + Fmt("%.0f", policy.border_buffer_km) +
           " km buffer)"},
      {"<rect width=\"16\" height=\"11\" y=\"-10\" fill=\"#cfe8c9\" stroke=\"#8a8a8a\"/>",
       licensed_codes.empty() ? std::string("no licensed zone given")
                              : "licensed zone (" + licensed_codes + ")"},
      {"<rect width=\"16\" height=\"11\" y=\"-10\" fill=\"#2f6fd6\" fill-opacity=\"0.35\"/>",
       region_any ? std::string("feasible region (illustrative grid; the proof is the engine's)")
                  : std::string("feasible region: empty at this grid's resolution")},
      {"<path d=\"M0 -4H16\" stroke=\"" + std::string(kLandmarkColours[0]) +
           "\" stroke-width=\"1.6\"/><circle cx=\"8\" cy=\"-4\" r=\"4\" fill=\"" +
           kLandmarkColours[0] + "\"/>",
       "landmark and the distance its fastest answer allows, at " +
           std::string(policy.speed_model_name() == std::string("c") ? "the speed of light"
                                                                     : "2/3 c (fibre)")},
      {"<circle cx=\"8\" cy=\"-4\" r=\"6\" fill=\"#ffffff\" stroke=\"#000000\" "
       "stroke-width=\"1.5\"/>",
       "claimed site"},
  };
  for (size_t i = 0; i < keys.size(); ++i) {
    double kx = 0, ky = y + double(i) * 19;
    s += "<g transform=\"translate(" + Num(kx) + "," + Num(ky) + ")\">" + keys[i].swatch +
         "<text x=\"24\" y=\"0\">" + Escape(keys[i].text) + "</text></g>\n";
  }
  s += "<text x=\"" + Num(f.width) + "\" y=\"" + Num(total_h - 14) +
       "\" text-anchor=\"end\" font-size=\"10\" fill=\"#666666\">Equirectangular, standard "
       "parallel " +
       Fmt("%.1f", f.parallel_deg) +
       "°; borders Natural Earth 1:10m (world-atlas); distances WGS84 geodesics</text>\n";
  s += "</svg>\n";
  return s;
}

}  // namespace custodian::geo
