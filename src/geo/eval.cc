#include "geo/eval.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <unordered_map>

#include "geo/geodesic.h"
#include "geo/sphere.h"

namespace custodian::geo {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower((unsigned char)a[i]) != std::tolower((unsigned char)b[i])) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Markers other exports of this format use for "no value".
bool IsMissing(std::string_view s) {
  s = Trim(s);
  return s.empty() || EqualsIgnoreCase(s, "null") || EqualsIgnoreCase(s, "na") ||
         EqualsIgnoreCase(s, "n/a") || EqualsIgnoreCase(s, "none") || s == "\\N";
}

// "FILE:LINE: column 'NAME' (field K): MESSAGE"
Status FieldError(const CsvTable& t, const CsvRecord& r, int col, const std::string& message) {
  return Status::InvalidInput(t.source + ":" + std::to_string(r.line) + ": column '" +
                              t.header[size_t(col)] + "' (field " + std::to_string(col + 1) +
                              "): " + message);
}

// A finite decimal number, surrounding blanks allowed, nothing else.
Result<double> ParseNumber(const CsvTable& t, const CsvRecord& r, int col) {
  std::string_view s = Trim(r.fields[size_t(col)]);
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) {
    return FieldError(t, r, col, "'" + std::string(r.fields[size_t(col)]) + "' is not a number");
  }
  return v;
}

Result<int> RequireColumn(const CsvTable& t, std::initializer_list<std::string_view> names) {
  int c = t.Column(names);
  if (c < 0) {
    return Status::InvalidInput(t.source + ": the header has no column '" +
                                std::string(*names.begin()) + "'");
  }
  return c;
}

std::string Fmt(const char* format, double a) {
  char buf[96];
  std::snprintf(buf, sizeof buf, format, a);
  return buf;
}

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  double pos = q * double(v.size() - 1);
  size_t lo = size_t(pos);
  size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - double(lo));
}

nlohmann::json LatLonJson(const LatLon& p) {
  return {{"lat", p.lat_deg}, {"lon", p.lon_deg}};
}

}  // namespace

// ---- CSV ----------------------------------------------------------------------------------

int CsvTable::Column(std::initializer_list<std::string_view> names) const {
  for (size_t i = 0; i < header.size(); ++i) {
    for (auto n : names) {
      if (EqualsIgnoreCase(header[i], n)) return int(i);
    }
  }
  return -1;
}

Result<CsvTable> ParseCsv(std::string_view text, const std::string& source) {
  CsvTable table;
  table.source = source;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  int line = 1;
  size_t i = 0;
  auto error = [&](int at_line, size_t field, const std::string& message) {
    return Status::InvalidInput(source + ":" + std::to_string(at_line) + ": field " +
                                std::to_string(field + 1) + ": " + message);
  };
  bool have_header = false;
  while (i < text.size()) {
    CsvRecord record;
    record.line = line;
    bool record_done = false;
    while (!record_done) {
      std::string field;
      if (i < text.size() && text[i] == '"') {
        int opened_line = line;
        ++i;
        while (true) {
          if (i >= text.size()) {
            return error(opened_line, record.fields.size(),
                         "quoted field is never closed (opened on this line)");
          }
          char c = text[i++];
          if (c == '"') {
            if (i < text.size() && text[i] == '"') {
              field += '"';
              ++i;
              continue;
            }
            break;
          }
          if (c == '\n') ++line;
          field += c;
        }
        // After the closing quote: a separator, the end of the record, or the end of the file.
        if (i < text.size() && text[i] != ',' && text[i] != '\n' &&
            !(text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) {
          return error(line, record.fields.size(),
                       std::string("unexpected '") + text[i] + "' after a closing quote");
        }
      } else {
        while (i < text.size() && text[i] != ',' && text[i] != '\n') {
          if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') break;
          if (text[i] == '"') {
            return error(line, record.fields.size(),
                         "a quote inside an unquoted field (quote the whole field and double "
                         "the quote)");
          }
          field += text[i++];
        }
      }
      record.fields.push_back(std::move(field));
      if (i < text.size() && text[i] == ',') {
        ++i;
        continue;
      }
      if (i < text.size() && text[i] == '\r') ++i;
      if (i < text.size() && text[i] == '\n') ++i, ++line;
      record_done = true;
    }
    bool blank = record.fields.size() == 1 && record.fields[0].empty();
    if (blank) continue;
    if (!have_header) {
      for (auto& h : record.fields) table.header.emplace_back(Trim(h));
      for (size_t a = 0; a < table.header.size(); ++a) {
        for (size_t b = a + 1; b < table.header.size(); ++b) {
          if (!table.header[a].empty() && EqualsIgnoreCase(table.header[a], table.header[b])) {
            return error(record.line, b,
                         "column '" + table.header[b] + "' appears twice in the header");
          }
        }
      }
      have_header = true;
      continue;
    }
    if (record.fields.size() != table.header.size()) {
      return Status::InvalidInput(source + ":" + std::to_string(record.line) + ": expected " +
                                  std::to_string(table.header.size()) +
                                  " fields (as in the header), found " +
                                  std::to_string(record.fields.size()));
    }
    table.records.push_back(std::move(record));
  }
  if (!have_header) return Status::InvalidInput(source + ": empty file (no header line)");
  return table;
}

// ---- The data set -------------------------------------------------------------------------

Result<EvalHosts> ParseServersCsv(std::string_view text, const std::string& source) {
  auto table = ParseCsv(text, source);
  if (!table.ok()) return table.status();
  const CsvTable& t = *table;
  auto id_col = RequireColumn(t, {"id"});
  if (!id_col.ok()) return id_col.status();
  auto lat_col = RequireColumn(t, {"latitude", "lat"});
  if (!lat_col.ok()) return lat_col.status();
  auto lon_col = RequireColumn(t, {"longitude", "lon", "lng"});
  if (!lon_col.ok()) return lon_col.status();
  int title_col = t.Column({"title"}), name_col = t.Column({"name"});
  int country_col = t.Column({"country"});

  EvalHosts out;
  std::unordered_map<std::string, int> seen;  // id -> line
  for (const auto& r : t.records) {
    std::string id(Trim(r.fields[size_t(*id_col)]));
    if (id.empty()) return FieldError(t, r, *id_col, "empty server id");
    auto [it, inserted] = seen.emplace(id, r.line);
    if (!inserted) {
      return FieldError(
          t, r, *id_col,
          "server id '" + id + "' already used on line " + std::to_string(it->second));
    }
    const std::string& lat_s = r.fields[size_t(*lat_col)];
    const std::string& lon_s = r.fields[size_t(*lon_col)];
    if (IsMissing(lat_s) || IsMissing(lon_s)) {
      out.without_position.push_back(id);  // unusable, not malformed: counted
      continue;
    }
    auto lat = ParseNumber(t, r, *lat_col);
    if (!lat.ok()) return lat.status();
    auto lon = ParseNumber(t, r, *lon_col);
    if (!lon.ok()) return lon.status();
    if (std::abs(*lat) > 90)
      return FieldError(t, r, *lat_col, "latitude " + lat_s + " is outside [-90, 90]");
    if (std::abs(*lon) > 180) {
      return FieldError(t, r, *lon_col, "longitude " + lon_s + " is outside [-180, 180]");
    }
    EvalHost h;
    h.id = id;
    for (int c : {title_col, name_col}) {
      if (c >= 0 && h.name.empty()) h.name = std::string(Trim(r.fields[size_t(c)]));
    }
    if (h.name.empty()) h.name = id;
    if (country_col >= 0) h.stated_country = std::string(Trim(r.fields[size_t(country_col)]));
    h.position = {*lat, *lon};
    out.hosts.push_back(std::move(h));
  }
  return out;
}

Result<EvalPings> ParsePingsCsv(std::string_view text, const std::string& source,
                                const EvalHosts& hosts) {
  auto table = ParseCsv(text, source);
  if (!table.ok()) return table.status();
  const CsvTable& t = *table;
  auto src_col = RequireColumn(t, {"source"});
  if (!src_col.ok()) return src_col.status();
  auto dst_col = RequireColumn(t, {"destination"});
  if (!dst_col.ok()) return dst_col.status();
  auto min_col = RequireColumn(t, {"min"});
  if (!min_col.ok()) return min_col.status();

  std::unordered_map<std::string, int> index;
  for (size_t k = 0; k < hosts.hosts.size(); ++k) index.emplace(hosts.hosts[k].id, int(k));
  std::set<std::string> no_position(hosts.without_position.begin(), hosts.without_position.end());
  EvalPings p;
  p.n = int(hosts.hosts.size());
  p.min_rtt_ns.assign(size_t(p.n) * size_t(p.n), -1);
  std::vector<int64_t> directed(size_t(p.n) * size_t(p.n), -1);  // to detect repeated rows
  for (const auto& r : t.records) {
    ++p.rows;
    std::string src(Trim(r.fields[size_t(*src_col)])), dst(Trim(r.fields[size_t(*dst_col)]));
    if (src.empty()) return FieldError(t, r, *src_col, "empty server id");
    if (dst.empty()) return FieldError(t, r, *dst_col, "empty server id");
    // Check the number first: a malformed value is an error even in a row we would skip.
    const std::string& min_s = r.fields[size_t(*min_col)];
    bool missing = IsMissing(min_s);
    double ms = 0;
    if (!missing) {
      auto v = ParseNumber(t, r, *min_col);
      if (!v.ok()) return v.status();
      ms = *v;
      // Negative is not a measurement; beyond 1,000 s it is not a ping on this planet (and would
      // overflow nanoseconds).
      if (ms < 0 || ms > 1e6) {
        return FieldError(t, r, *min_col,
                          "'" + min_s + "' ms is not a round-trip time in [0, 1e6]");
      }
    }
    if (src == dst) {
      ++p.self_pings;
      continue;
    }
    auto a = index.find(src), b = index.find(dst);
    if (a == index.end() || b == index.end()) {
      bool known = (a != index.end() || no_position.count(src)) &&
                   (b != index.end() || no_position.count(dst));
      ++(known ? p.no_position_rows : p.unknown_host_rows);
      continue;
    }
    if (missing) {
      ++p.missing_min_rows;
      continue;
    }
    // Round up to whole nanoseconds: a radius must never come out smaller than measured.
    int64_t ns = int64_t(std::ceil(ms * 1e6));
    size_t ij = size_t(a->second) * size_t(p.n) + size_t(b->second);
    size_t ji = size_t(b->second) * size_t(p.n) + size_t(a->second);
    if (directed[ij] >= 0) ++p.repeated_rows;
    directed[ij] = directed[ij] < 0 ? ns : std::min(directed[ij], ns);
    int64_t& m = p.min_rtt_ns[ij];
    m = m < 0 ? ns : std::min(m, ns);
    p.min_rtt_ns[ji] = m;
    ++p.used_rows;
  }
  return p;
}

// ---- The evaluation -----------------------------------------------------------------------

const std::vector<ClaimCity>& ClaimCities() {
  static const std::vector<ClaimCity> kCities = {
      {"Singapore", {1.3521, 103.8198}},    {"Johor Bahru", {1.4927, 103.7414}},
      {"Kuala Lumpur", {3.1390, 101.6869}}, {"Tokyo", {35.6762, 139.6503}},
      {"Sydney", {-33.8688, 151.2093}},     {"Frankfurt", {50.1109, 8.6821}},
      {"Dubai", {25.2048, 55.2708}},
  };
  return kCities;
}

void VerdictCounts::Add(VerdictKind kind) {
  switch (kind) {
    case VerdictKind::kVerified:
      ++verified;
      break;
    case VerdictKind::kViolation:
      ++violation;
      break;
    case VerdictKind::kInconclusive:
      ++inconclusive;
      break;
  }
}

nlohmann::json VerdictCounts::ToJson() const {
  return {{"violation", violation}, {"inconclusive", inconclusive}, {"verified", verified}};
}

namespace {

std::string Label(const EvalHost& h) {
  return h.name == h.id ? h.id : h.name + " (" + h.id + ")";
}

class Evaluator {
 public:
  Evaluator(const CountryMap& map, VerdictEngine& engine, const EvalHosts& hosts,
            const EvalPings& pings)
      : engine_(engine), hosts_(hosts), pings_(pings) {
    const size_t n = hosts.hosts.size();
    landmarks_.resize(n);
    country_.resize(n);
    for (size_t k = 0; k < n; ++k) {
      const EvalHost& h = hosts.hosts[k];
      country_[k] = map.CountryAt(h.position);
      TrustedLandmark& l = landmarks_[k];
      // The engine keys observations by landmark id: ids must be unique, whatever the names.
      l.id = Label(h);
      while (by_label_.count(l.id) != 0) l.id += " #" + std::to_string(k);
      l.operator_name = "wondernetwork";  // one operator: the data set's
      l.position = h.position;
      l.country = country_[k].empty() ? "--" : country_[k];
      by_label_.emplace(l.id, int(k));
    }
    quarantined_.assign(n, false);
  }

  const std::string& CountryOf(int k) const { return country_[size_t(k)]; }
  void Quarantine(int k) { quarantined_[size_t(k)] = true; }
  int IndexOf(const std::string& label) const {
    auto it = by_label_.find(label);
    return it == by_label_.end() ? -1 : it->second;
  }

  // The target's measurements to usable landmarks, nearest `reference` first, at most
  // max_landmarks of them (0: all).
  std::vector<Observation> ObservationsFor(int target, const LatLon& reference, int max_landmarks,
                                           bool skip_quarantined) const {
    std::vector<std::pair<double, int>> candidates;
    for (int k = 0; k < pings_.n; ++k) {
      if (k == target || pings_.at(target, k) < 0) continue;
      if (skip_quarantined && quarantined_[size_t(k)]) continue;
      candidates.push_back({SphereDistanceKm(reference, hosts_.hosts[size_t(k)].position), k});
    }
    std::sort(candidates.begin(), candidates.end());
    if (max_landmarks > 0 && int(candidates.size()) > max_landmarks)
      candidates.resize(size_t(max_landmarks));
    std::vector<Observation> out;
    out.reserve(candidates.size());
    for (const auto& [d, k] : candidates)
      out.push_back({&landmarks_[size_t(k)], pings_.at(target, k)});
    return out;
  }

  Verdict Decide(const VerdictRequest& request) {
    auto t0 = std::chrono::steady_clock::now();
    Verdict v = engine_.Decide(request);
    seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ++decisions_;
    return v;
  }
  double seconds() const { return seconds_; }
  int decisions() const { return decisions_; }

 private:
  VerdictEngine& engine_;
  const EvalHosts& hosts_;
  const EvalPings& pings_;
  std::vector<TrustedLandmark> landmarks_;  // one per host, built in memory
  std::vector<std::string> country_;
  std::vector<bool> quarantined_;
  std::unordered_map<std::string, int> by_label_;
  double seconds_ = 0;
  int decisions_ = 0;
};

bool IsImpossibleReason(const Reason& r) {
  return r.code == "too_fast_for_site" || r.code == "empty_region";
}

// For an empty region the engine names no landmark: find the pair of caps farthest from
// meeting (WGS84), which is the proof when the region is empty pairwise.
nlohmann::json WorstCapPair(const std::vector<Observation>& obs, const VerdictEngine& engine) {
  nlohmann::json best;
  double worst_gap = -1e300;
  for (size_t i = 0; i < obs.size(); ++i) {
    for (size_t j = i + 1; j < obs.size(); ++j) {
      const LatLon &a = obs[i].landmark->position, &b = obs[j].landmark->position;
      double d = GeodesicDistanceKm(a.lat_deg, a.lon_deg, b.lat_deg, b.lon_deg);
      double ri = engine.RadiusKm(obs[i].min_rtt_ns), rj = engine.RadiusKm(obs[j].min_rtt_ns);
      if (d - ri - rj > worst_gap) {
        worst_gap = d - ri - rj;
        best = {{"landmark", obs[i].landmark->id},
                {"other_landmark", obs[j].landmark->id},
                {"min_rtt_ms", double(obs[i].min_rtt_ns) / 1e6},
                {"other_min_rtt_ms", double(obs[j].min_rtt_ns) / 1e6},
                {"radius_km", ri},
                {"other_radius_km", rj},
                {"landmarks_distance_km", d}};
      }
    }
  }
  return best;
}

}  // namespace

EvalReport Evaluate(const CountryMap& map, VerdictEngine& engine, const EvalHosts& hosts,
                    const EvalPings& pings, const EvalOptions& options) {
  EvalReport report;
  Evaluator ev(map, engine, hosts, pings);
  const Policy& policy = engine.policy();
  const int n = int(hosts.hosts.size());
  report.targets = n;
  report.speed_model = policy.speed_model_name();
  report.max_landmarks = options.max_landmarks;
  report.border_buffer_km = policy.border_buffer_km;
  report.hosts_without_position = int(hosts.without_position.size());
  report.pings_stats = pings;
  report.pings_stats.min_rtt_ns.clear();

  std::vector<bool> restricted(static_cast<size_t>(n), false),
      impossible(static_cast<size_t>(n), false);
  for (int k = 0; k < n; ++k) {
    // Restricted territory as the engine defines it: the countries grown by the border buffer.
    // So a city-level position that falls just off the coast (Hong Kong's is in the harbour)
    // still counts, and a target the engine cannot tell apart from restricted land is never
    // counted as an eligible one it failed to verify.
    const LatLon& p = hosts.hosts[size_t(k)].position;
    restricted[size_t(k)] =
        policy.IsRestricted(ev.CountryOf(k)) ||
        engine.restricted().NearestPoint(p).distance_km <= policy.border_buffer_km;
    if (ev.CountryOf(k).empty()) {
      report.at_sea.push_back(Label(hosts.hosts[size_t(k)]) +
                              (restricted[size_t(k)] ? " (restricted: within the buffer)" : ""));
    }
  }

  // Pass 1, every measurement: whose stated position does physics disprove? Those hosts are
  // quarantined as landmarks. Each verdict is kept: it is the final one for a target whose
  // landmark set does not change in pass 2.
  std::vector<Verdict> all_landmarks_verdict(static_cast<size_t>(n));
  for (int k = 0; k < n; ++k) {
    const EvalHost& h = hosts.hosts[size_t(k)];
    VerdictRequest req;
    req.observations = ev.ObservationsFor(k, h.position, 0, false);
    req.site = h.position;
    Verdict v = ev.Decide(req);
    nlohmann::json proofs = nlohmann::json::array();
    for (const auto& r : v.reasons) {
      if (!IsImpossibleReason(r)) continue;
      nlohmann::json numbers = r.numbers;
      std::string text = r.text;
      if (r.code == "empty_region") {
        numbers = WorstCapPair(req.observations, engine);
        if (!numbers.is_null()) {
          text += ": e.g. landmarks " + numbers["landmark"].get<std::string>() + " and " +
                  numbers["other_landmark"].get<std::string>() + " are " +
                  Fmt("%.0f km apart", numbers["landmarks_distance_km"].get<double>()) +
                  Fmt(" but allow at most %.0f", numbers["radius_km"].get<double>()) +
                  Fmt(" + %.0f km", numbers["other_radius_km"].get<double>());
        }
      } else if (numbers.contains("landmark")) {
        int l = ev.IndexOf(numbers["landmark"].get<std::string>());
        if (l >= 0) {
          numbers["landmark_id"] = hosts.hosts[size_t(l)].id;
          numbers["landmark_position"] = LatLonJson(hosts.hosts[size_t(l)].position);
          numbers["min_rtt_ms"] = numbers["min_rtt_ns"].get<double>() / 1e6;
        }
      }
      proofs.push_back({{"code", r.code}, {"text", text}, {"numbers", numbers}});
    }
    if (!proofs.empty()) {
      impossible[size_t(k)] = true;
      report.impossible.push_back({{"target", h.id},
                                   {"name", h.name},
                                   {"stated", LatLonJson(h.position)},
                                   {"country", ev.CountryOf(k)},
                                   {"proofs", proofs}});
      report.impossible_sentences.push_back(
          Label(h) + Fmt(", stated at %.4f,", h.position.lat_deg) +
          Fmt("%.4f", h.position.lon_deg) +
          (ev.CountryOf(k).empty() ? std::string(" (at sea)") : " (" + ev.CountryOf(k) + ")") +
          ": " + proofs[0]["text"].get<std::string>() +
          (proofs.size() > 1 ? " (and " + std::to_string(proofs.size() - 1) + " more)" : ""));
    }
    all_landmarks_verdict[size_t(k)] = std::move(v);
  }
  bool any_quarantined = false;
  if (options.quarantine) {
    for (int k = 0; k < n; ++k) {
      if (impossible[size_t(k)]) {
        ev.Quarantine(k);
        any_quarantined = true;
      }
    }
  }
  const bool skip_quarantined = options.quarantine;

  // Pass 2: the targets' verdicts with the landmarks a deployment would use.
  std::vector<double> smallest_radius_km;
  for (int k = 0; k < n; ++k) {
    const EvalHost& h = hosts.hosts[size_t(k)];
    Verdict v;
    if (options.max_landmarks == 0 && !any_quarantined) {
      v = std::move(all_landmarks_verdict[size_t(k)]);
    } else {
      VerdictRequest req;
      req.observations = ev.ObservationsFor(k, h.position, options.max_landmarks, skip_quarantined);
      req.site = h.position;
      v = ev.Decide(req);
    }
    if (!v.caps.empty()) {
      double r = v.caps[0].radius_km;
      for (const auto& c : v.caps) r = std::min(r, c.radius_km);
      smallest_radius_km.push_back(r);
    }
    if (restricted[size_t(k)]) {
      ++report.restricted_targets;
      if (v.kind == VerdictKind::kVerified) {
        report.unsound.push_back({{"target", h.id},
                                  {"name", h.name},
                                  {"stated", LatLonJson(h.position)},
                                  {"country", ev.CountryOf(k)},
                                  {"verdict", v.ToJson()}});
      }
    } else {
      ++report.eligible_targets;
      if (v.kind == VerdictKind::kVerified && !impossible[size_t(k)]) ++report.verified;
    }
  }
  report.completeness =
      report.eligible_targets > 0 ? double(report.verified) / double(report.eligible_targets) : 0;
  report.radius_median_km = Percentile(smallest_radius_km, 0.5);
  report.radius_p90_km = Percentile(smallest_radius_km, 0.9);

  // Claim checks: every restricted target pretends to be at each city.
  nlohmann::json per_city = nlohmann::json::object();
  nlohmann::json verified_claims = nlohmann::json::array();
  for (const auto& city : ClaimCities()) {
    std::string cc = map.CountryAt(city.position);
    VerdictCounts counts;
    for (int k = 0; k < n; ++k) {
      if (!restricted[size_t(k)]) continue;
      VerdictRequest req;
      req.observations =
          ev.ObservationsFor(k, city.position, options.max_landmarks, skip_quarantined);
      req.site = city.position;
      if (!cc.empty()) req.licensed = {cc};
      Verdict v = ev.Decide(req);
      counts.Add(v.kind);
      report.claim_total.Add(v.kind);
      if (v.kind == VerdictKind::kVerified) {
        verified_claims.push_back({{"target", hosts.hosts[size_t(k)].id},
                                   {"name", hosts.hosts[size_t(k)].name},
                                   {"city", city.name},
                                   {"verdict", v.ToJson()}});
      }
    }
    nlohmann::json row = counts.ToJson();
    row["site"] = LatLonJson(city.position);
    row["licensed"] = cc;
    per_city[city.name] = row;
    report.claim_rows.push_back({city, {cc, counts}});
  }
  report.claim_checks = report.claim_total.ToJson();
  report.claim_checks["claims"] =
      report.claim_total.violation + report.claim_total.inconclusive + report.claim_total.verified;
  report.claim_checks["per_city"] = per_city;
  report.claim_checks["verified_claims"] = verified_claims;

  report.verdict_seconds = ev.seconds();
  report.decisions = ev.decisions();
  report.targets_per_second = ev.seconds() > 0 ? double(n) / ev.seconds() : 0;
  return report;
}

nlohmann::json EvalReport::ToJson() const {
  return {{"targets", targets},
          {"restricted_targets", restricted_targets},
          {"eligible_targets", eligible_targets},
          {"verified", verified},
          {"completeness", completeness},
          {"unsound", unsound},
          {"impossible", impossible},
          {"claim_checks", claim_checks},
          {"region_radius_km", {{"median", radius_median_km}, {"p90", radius_p90_km}}},
          {"speed_model", speed_model},
          {"targets_per_second", targets_per_second}};
}

std::string EvalReport::ToText() const {
  std::string s;
  auto line = [&](const std::string& l) { s += l + "\n"; };
  const auto& p = pings_stats;
  line("geo eval: " + std::to_string(targets) + " targets (" +
       std::to_string(hosts_without_position) + " hosts skipped: no position); pings: " +
       std::to_string(p.rows) + " rows, " + std::to_string(p.used_rows) + " used, " +
       std::to_string(p.self_pings) + " self-pings, " + std::to_string(p.unknown_host_rows) +
       " to unknown hosts, " + std::to_string(p.no_position_rows) + " to hosts without position, " +
       std::to_string(p.missing_min_rows) + " without min, " + std::to_string(p.repeated_rows) +
       " repeated");
  line("speed model " + speed_model + Fmt(", border buffer %.0f km", border_buffer_km) +
       ", landmarks per target: " +
       (max_landmarks > 0 ? "the " + std::to_string(max_landmarks) + " nearest"
                          : std::string("all")) +
       ", hosts with impossible positions quarantined as landmarks");
  line("");
  line(Fmt("  targets              %5.0f", targets));
  line(Fmt("  restricted targets   %5.0f   (stated position in restricted territory)",
           restricted_targets));
  line(Fmt("  eligible targets     %5.0f", eligible_targets));
  line(Fmt("  verified             %5.0f", verified) +
       Fmt("   completeness %.1f %%", completeness * 100));
  line(Fmt("  unsound              %5.0f", double(unsound.size())) +
       "   (restricted targets verified: must be 0)");
  line(Fmt("  smallest cap radius  median %.0f km", radius_median_km) +
       Fmt(", p90 %.0f km", radius_p90_km));
  line(Fmt("  verdicts             %5.0f", decisions) + Fmt(" in %.2f s", verdict_seconds) +
       Fmt(" (%.0f targets/s)", targets_per_second));
  if (!at_sea.empty()) {
    std::string list;
    for (const auto& a : at_sea) list += (list.empty() ? "" : ", ") + a;
    line("  stated at sea (in no country on the map): " + list);
  }
  for (const auto& u : unsound) {
    line("  UNSOUND: " + u["name"].get<std::string>() + " (" + u["target"].get<std::string>() +
         ", " + u["country"].get<std::string>() + ") was verified");
  }
  line("");
  line("Impossible stated positions (" + std::to_string(impossible.size()) + "):");
  if (impossible_sentences.empty()) line("  none found");
  for (const auto& t : impossible_sentences) line("  - " + t);
  line("");
  line("Claim checks: each restricted target claims each city (licensed = its country)");
  char buf[160];
  std::snprintf(buf, sizeof buf, "  %-14s %-8s %10s %13s %9s", "city", "licensed", "violation",
                "inconclusive", "verified");
  line(buf);
  for (const auto& [city, row] : claim_rows) {
    std::snprintf(buf, sizeof buf, "  %-14s %-8s %10d %13d %9d", city.name.c_str(),
                  row.first.c_str(), row.second.violation, row.second.inconclusive,
                  row.second.verified);
    line(buf);
  }
  std::snprintf(buf, sizeof buf, "  %-14s %-8s %10d %13d %9d", "total", "", claim_total.violation,
                claim_total.inconclusive, claim_total.verified);
  line(buf);
  line(sound() ? "Sound: no restricted target was verified, at its own position or at any claimed "
                 "city."
               : "SOUNDNESS FAILURE: a restricted target was verified (see above).");
  return s;
}

}  // namespace custodian::geo
