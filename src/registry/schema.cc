#include "registry/schema.h"

#include "screen/list_store.h"
#include "tlog/log.h"

namespace custodian::registry {

// Times are Unix milliseconds (BIGINT, *_ms); lists of country codes are comma-separated TEXT;
// structured evidence is canonical JSON TEXT. Ids chosen by people (operators, sites, landmarks,
// licences) are TEXT; ids the server assigns (attestations, verdicts, alerts) are integers.
const std::vector<store::Migration>& RegistryMigrations() {
  static const std::vector<store::Migration> kMigrations = {
      {1, "registry", R"sql(
CREATE TABLE tokens (
  id TEXT PRIMARY KEY,
  secret_hash TEXT NOT NULL,
  role TEXT NOT NULL,
  operator_id TEXT,
  node_id TEXT,
  landmark_id TEXT,
  name TEXT NOT NULL,
  created_ms BIGINT NOT NULL,
  revoked_ms BIGINT
);
CREATE TABLE operators (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  created_ms BIGINT NOT NULL
);
CREATE TABLE landmarks (
  id TEXT PRIMARY KEY,
  operator_id TEXT NOT NULL REFERENCES operators(id),
  lat DOUBLE PRECISION NOT NULL,
  lon DOUBLE PRECISION NOT NULL,
  country TEXT NOT NULL,
  public_key TEXT NOT NULL UNIQUE,
  address TEXT NOT NULL,
  status TEXT NOT NULL,
  status_reason TEXT NOT NULL,
  status_changed_ms BIGINT NOT NULL,
  created_ms BIGINT NOT NULL
);
CREATE TABLE sites (
  id TEXT PRIMARY KEY,
  operator_id TEXT NOT NULL REFERENCES operators(id),
  name TEXT NOT NULL,
  lat DOUBLE PRECISION NOT NULL,
  lon DOUBLE PRECISION NOT NULL,
  country TEXT NOT NULL,
  licensed TEXT NOT NULL,
  created_ms BIGINT NOT NULL
);
CREATE TABLE licences (
  id TEXT PRIMARY KEY,
  operator_id TEXT NOT NULL REFERENCES operators(id),
  site_id TEXT NOT NULL REFERENCES sites(id),
  countries TEXT NOT NULL,
  models TEXT NOT NULL,
  valid_from_ms BIGINT NOT NULL,
  valid_until_ms BIGINT NOT NULL,
  created_ms BIGINT NOT NULL
);
CREATE INDEX licences_site ON licences(site_id);
CREATE TABLE enrolments (
  id TEXT PRIMARY KEY,
  secret_hash TEXT NOT NULL,
  operator_id TEXT NOT NULL REFERENCES operators(id),
  site_id TEXT NOT NULL REFERENCES sites(id),
  created_ms BIGINT NOT NULL,
  expires_ms BIGINT NOT NULL,
  used_ms BIGINT,
  node_id TEXT
);
CREATE TABLE nodes (
  id TEXT PRIMARY KEY,
  operator_id TEXT NOT NULL REFERENCES operators(id),
  site_id TEXT NOT NULL REFERENCES sites(id),
  name TEXT NOT NULL,
  public_key TEXT NOT NULL UNIQUE,
  key_binding TEXT NOT NULL,
  gpus TEXT NOT NULL,
  enrolled_ms BIGINT NOT NULL,
  last_attestation_id BIGINT,
  last_attestation_ms BIGINT,
  last_kind TEXT
);
CREATE INDEX nodes_site ON nodes(site_id);
CREATE TABLE chips (
  id TEXT PRIMARY KEY,
  serial TEXT NOT NULL,
  model TEXT NOT NULL,
  node_id TEXT NOT NULL REFERENCES nodes(id),
  site_id TEXT NOT NULL REFERENCES sites(id),
  operator_id TEXT NOT NULL REFERENCES operators(id),
  enrolled_ms BIGINT NOT NULL,
  last_kind TEXT,
  last_verdict_ms BIGINT,
  last_attestation_id BIGINT,
  inconclusive_since_ms BIGINT
);
CREATE INDEX chips_node ON chips(node_id);
CREATE INDEX chips_site ON chips(site_id);
CREATE TABLE attestations (
  id {{AUTO_ID}},
  node_id TEXT NOT NULL REFERENCES nodes(id),
  received_ms BIGINT NOT NULL,
  kind TEXT NOT NULL,
  verdict TEXT NOT NULL,
  bundle TEXT NOT NULL
);
CREATE INDEX attestations_node ON attestations(node_id, id);
CREATE TABLE receipts (
  transcript_hash TEXT PRIMARY KEY,
  attestation_id BIGINT NOT NULL,
  node_id TEXT NOT NULL,
  landmark_id TEXT NOT NULL,
  lat DOUBLE PRECISION NOT NULL,
  lon DOUBLE PRECISION NOT NULL,
  radius_km DOUBLE PRECISION NOT NULL,
  start_ms BIGINT NOT NULL,
  end_ms BIGINT NOT NULL
);
CREATE INDEX receipts_node_time ON receipts(node_id, end_ms);
CREATE TABLE verdicts (
  id {{AUTO_ID}},
  chip_id TEXT NOT NULL REFERENCES chips(id),
  attestation_id BIGINT NOT NULL,
  kind TEXT NOT NULL,
  at_ms BIGINT NOT NULL,
  summary TEXT NOT NULL
);
CREATE INDEX verdicts_chip ON verdicts(chip_id, id);
CREATE TABLE crosschecks (
  id {{AUTO_ID}},
  transcript_hash TEXT NOT NULL UNIQUE,
  measurer_id TEXT NOT NULL,
  measured_id TEXT NOT NULL,
  min_rtt_ns BIGINT NOT NULL,
  distance_km DOUBLE PRECISION NOT NULL,
  min_possible_rtt_ns BIGINT NOT NULL,
  contradiction BIGINT NOT NULL,
  at_ms BIGINT NOT NULL
);
CREATE INDEX crosschecks_measured ON crosschecks(measured_id);
CREATE TABLE alerts (
  id {{AUTO_ID}},
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  dedup_key TEXT NOT NULL,
  operator_id TEXT,
  site_id TEXT,
  node_id TEXT,
  chip_id TEXT,
  landmark_id TEXT,
  reason TEXT NOT NULL,
  numbers TEXT NOT NULL,
  evidence TEXT NOT NULL,
  first_ms BIGINT NOT NULL,
  last_ms BIGINT NOT NULL,
  count BIGINT NOT NULL,
  acknowledged_by TEXT,
  acknowledged_ms BIGINT,
  resolved_by TEXT,
  resolved_ms BIGINT,
  comment TEXT
);
CREATE UNIQUE INDEX alerts_one_open ON alerts(dedup_key) WHERE status <> 'resolved';
CREATE INDEX alerts_status ON alerts(status, id);
)sql"},
      // The transparency log's tables (tlog/log.h): every state change above appends an entry
      // in its own transaction.
      tlog::LogMigration(2),
      // Screening lists, their entities and every screening decision (screen/list_store.h).
      screen::ScreenMigration(3),
  };
  return kMigrations;
}

}  // namespace custodian::registry
