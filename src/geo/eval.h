// Evaluation of the verdict engine on measured latency between hosting data centres
// (`custodian geo eval`; data format of ../shared/data/latency/wondernetwork-2020, see its
// SOURCE.md). Each host in turn is the target and the others are its landmarks; the report
// says how many hosts outside restricted territory the engine verifies (completeness), that no
// host inside it is verified (soundness), which hosts' stated positions their own measurements
// disprove, and what happens when each restricted host claims to be at a handful of allowed
// cities. docs/geolocation.md, "Evaluation".
//
// Input handling. Both files are RFC 4180 CSV (quoted fields with "" escapes, CRLF or LF, an
// optional UTF-8 BOM); columns are found by header name (case-insensitive), never by position.
// Malformed input — a syntax error, a wrong field count, a number that does not parse, an
// out-of-range coordinate, a negative RTT, a duplicate server id — is an InvalidInput error that
// names file:line and the column. Data that is well-formed but unusable is skipped and counted:
// a server without coordinates (empty, NULL, NA, \N), a ping naming an unknown server or one
// without coordinates, a self-ping, a ping with an empty `min`. Repeated rows for one pair keep
// the smallest `min` (every row is a real measurement; physics needs only the fastest).
//
// Soundness rule beyond the engine (DESIGN §3, "a landmark whose measurements contradict
// physics is quarantined"): a first pass with every measurement finds the hosts whose stated
// position is impossible; those are never used as landmarks afterwards. A host that lies about
// its position could otherwise put a small circle far from where it really is, and a
// restricted target near it would "prove" a claim to be there (tests/unit/eval_test.cc). Such
// a lie is always caught: whenever it excludes an honest target's true position, that target's
// own measurement, used as a landmark for the liar, disproves the liar's stated position.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "geo/countries.h"
#include "geo/geometry.h"
#include "geo/verdict.h"

namespace custodian::geo {

// ---- CSV ----------------------------------------------------------------------------------

struct CsvRecord {
  int line = 0;  // physical line (1-based) where the record starts
  std::vector<std::string> fields;
};

struct CsvTable {
  std::string source;               // file name used in error messages
  std::vector<std::string> header;  // as written (trimmed)
  std::vector<CsvRecord> records;   // data records (blank lines dropped)
  // Index of the column whose header equals one of `names` (ASCII case-insensitive); -1 if none.
  int Column(std::initializer_list<std::string_view> names) const;
};

// Strict RFC 4180. The first non-blank record is the header; every record must have as many
// fields as the header. Errors: "FILE:LINE: field N: ..." (InvalidInput).
Result<CsvTable> ParseCsv(std::string_view text, const std::string& source);

// ---- The data set -------------------------------------------------------------------------

struct EvalHost {
  std::string id;              // the `id` column, as referenced by pings' source/destination
  std::string name;            // `title`, else `name`, else the id: for sentences
  std::string stated_country;  // the file's `country` column (free text), may be empty
  LatLon position;             // stated position
};

struct EvalHosts {
  std::vector<EvalHost> hosts;                // with coordinates
  std::vector<std::string> without_position;  // ids skipped: no coordinates
};

// servers CSV: required columns id, latitude (or lat), longitude (or lon, lng); optional title,
// name, country.
Result<EvalHosts> ParseServersCsv(std::string_view text, const std::string& source);

struct EvalPings {
  int n = 0;                        // hosts.size()
  std::vector<int64_t> min_rtt_ns;  // n×n, symmetric: min over both directions; -1 = none
  int rows = 0;                     // data rows read
  int used_rows = 0;                // rows that gave a measurement
  int self_pings = 0;
  int unknown_host_rows = 0;  // source or destination not in the servers file
  int no_position_rows = 0;   // an end without coordinates
  int missing_min_rows = 0;   // `min` empty / NULL
  int repeated_rows = 0;      // a (source, destination) seen before: smallest kept
  int64_t at(int i, int j) const { return min_rtt_ns[size_t(i) * size_t(n) + size_t(j)]; }
};

// pings CSV: required columns source, destination, min (milliseconds, round trip). `min` is
// converted to whole nanoseconds rounding up, so a radius is never smaller than measured.
Result<EvalPings> ParsePingsCsv(std::string_view text, const std::string& source,
                                const EvalHosts& hosts);

// ---- The evaluation -----------------------------------------------------------------------

struct EvalOptions {
  int max_landmarks = 0;   // 0: every other host; else the N nearest (see Evaluate)
  bool quarantine = true;  // exclude hosts with impossible stated positions as landmarks
};

struct ClaimCity {
  std::string name;
  LatLon position;
};
// Singapore, Johor Bahru, Kuala Lumpur, Tokyo, Sydney, Frankfurt, Dubai.
const std::vector<ClaimCity>& ClaimCities();

struct VerdictCounts {
  int violation = 0;
  int inconclusive = 0;
  int verified = 0;
  void Add(VerdictKind kind);
  nlohmann::json ToJson() const;
};

struct EvalReport {
  // The JSON keys of `geo eval --json`.
  int targets = 0;
  int restricted_targets = 0;
  int eligible_targets = 0;
  int verified = 0;
  double completeness = 0;  // verified / eligible (0 when nothing is eligible)
  nlohmann::json unsound = nlohmann::json::array();     // restricted targets verified
  nlohmann::json impossible = nlohmann::json::array();  // stated positions physics disproves
  nlohmann::json claim_checks = nlohmann::json::object();
  double radius_median_km = 0, radius_p90_km = 0;  // smallest cap per target
  std::string speed_model;
  double targets_per_second = 0;

  // For the readable table and the docs.
  int hosts_without_position = 0;
  EvalPings pings_stats;  // counters only (matrix cleared)
  int max_landmarks = 0;
  double border_buffer_km = 0;
  double verdict_seconds = 0;  // all Decide calls: quarantine pass, targets, claim checks
  int decisions = 0;
  std::vector<std::string> at_sea;  // targets whose stated position is in no country
  VerdictCounts claim_total;
  std::vector<std::pair<ClaimCity, std::pair<std::string, VerdictCounts>>> claim_rows;
  std::vector<std::string> impossible_sentences;

  bool sound() const { return unsound.empty() && claim_total.verified == 0; }
  nlohmann::json ToJson() const;  // exactly the documented keys
  std::string ToText() const;     // the readable table
};

// Targets: every host. A target is restricted when its stated position is in the policy's
// restricted territory or within border_buffer_km of it (the engine's buffered territory; a
// city-level position can fall just off a coast), eligible otherwise. Its landmarks: the other
// hosts it has a measurement with (not quarantined), or with max_landmarks = N the N of them
// nearest its stated position; operator "wondernetwork" for all, country from the map. Request: the
// measurements, site = stated position, no licensed zone. Verified counts eligible targets
// whose verdict is verified and whose stated position is not impossible.
// Impossible (and the quarantine) always use every measurement, whatever max_landmarks says.
// Claim checks: each restricted target claims each ClaimCities() site, licensed = that site's
// country, with the landmarks nearest that site (the ones a deployment would use there).
EvalReport Evaluate(const CountryMap& map, VerdictEngine& engine, const EvalHosts& hosts,
                    const EvalPings& pings, const EvalOptions& options);

}  // namespace custodian::geo
