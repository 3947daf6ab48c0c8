// custodian bench tlog — transparency log throughput and latency (bench_tlog.h). Targets
// (issue): >= 10,000 entries/s appended and integrated on SQLite on the 2-core machine, and an
// inclusion proof in < 100 us.
//
// For each database, on a fresh, empty one with the log's tables and a baseline table of the
// same shape as tlog_pending (bench_plain: seq, entry TEXT, added_ms), entries of --entry-bytes
// random printable bytes (like the registry's canonical JSON), built before the clock starts:
//   1. append, transactions of 1 entry: --single entries through tlog::AppendEntry, and the
//      baseline: the same rows (base64, as the log stores them) INSERTed into bench_plain, in
//      alternating rounds (log first, then baseline first, …) so neither gets the quieter time;
//   2. append, transactions of 100 entries: --entries entries, and the baseline the same way;
//   3. integrate: Log::Integrate until nothing is pending (batches of --batch); entries/s.
//      Append + integrate is the rate of the two one after the other (1 / (1/a + 1/i));
//   4. sustained: --single entries appended in transactions of 1, as fast as one thread can,
//      with the background integrator running (interval --interval-ms, woken by full batches),
//      until the last of them is in a signed checkpoint (the load goes on meanwhile);
//   5. latency: entries appended at --rate per second in transactions of 1 for --latency-s with
//      the integrator running; for each, the time from the start of its append to the moment a
//      checkpoint that includes it was committed (p50/p99), the load going on until the last
//      is in (a steady stream: no final partial batch waiting for the interval);
//   6. proofs: --proofs inclusion proofs for random (index, size) pairs (size <= the latest
//      checkpoint) and --proofs consistency proofs on the Log that integrated (a running
//      server's: its cache holds what it wrote), then inclusion proofs on a Log just opened
//      (tiles read from the database); against the baseline of one point SELECT by primary key
//      in a read transaction.
#include "cli/bench_tlog.h"

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/bench_machine.h"
#include "cli/bench_postgres.h"
#include "cli/command.h"
#include "core/bytes.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "store/database.h"
#include "store/migrate.h"
#include "tlog/log.h"

namespace custodian::cli {
namespace {

using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

constexpr double kTargetEntriesPerS = 10000;
constexpr double kTargetProofUs = 100;
constexpr size_t kBigTx = 100;

struct Options {
  std::string db = "both";
  std::string pg_url;
  int entries = 20000;
  int single = 5000;
  int entry_bytes = 256;
  int batch = 256;
  int64_t interval_ms = 1000;
  int rate = 1000;
  double latency_s = 5;
  int proofs = 2000;
  bool json = false;
};

json Percentiles(std::vector<double> v) {
  if (v.empty()) return {{"count", 0}};
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return Quantile(v, q); };
  double sum = 0;
  for (double x : v) sum += x;
  return {{"count", v.size()},
          {"p50", at(0.50)},
          {"p99", at(0.99)},
          {"max", v.back()},
          {"mean", sum / double(v.size())}};
}

std::vector<Bytes> MakeEntries(size_t count, size_t bytes) {
  std::mt19937_64 rng(20240611);
  std::vector<Bytes> out(count);
  for (size_t i = 0; i < count; ++i) {
    out[i].resize(bytes);
    for (auto& b : out[i]) b = uint8_t(' ' + rng() % 95);
  }
  return out;
}

// One run on one fresh database.
class Run {
 public:
  Run(const Options& o, std::unique_ptr<store::Database> db, const std::vector<Bytes>& entries)
      : o_(o), db_(std::move(db)), entries_(entries) {}

  Result<json> Go() {
    auto migrated =
        store::Migrate(*db_, {tlog::LogMigration(1),
                              {2, "bench baseline",
                               "CREATE TABLE bench_plain (seq {{AUTO_ID}}, entry TEXT NOT NULL, "
                               "added_ms BIGINT NOT NULL)"}});
    if (!migrated.ok()) return migrated.status();
    options_.origin = "bench.custodian.localhost/log";
    options_.key = std::make_shared<SigningKey>(SigningKey::Generate());
    options_.batch_max = size_t(o_.batch);
    options_.integrate_interval_ms = o_.interval_ms;
    auto log = tlog::Log::Open(*db_, options_);
    if (!log.ok()) return log.status();
    log_ = std::move(*log);
    json out;
    const size_t single = size_t(o_.single), many = size_t(o_.entries);

    // 1, 2: appends against plain INSERTs of the same rows, interleaved in rounds so that
    // neither side gets the fresher database or the quieter moment.
    auto tx1 = Compare(0, single, 1);
    if (!tx1.ok()) return tx1.status();
    auto tx100 = Compare(single, single + many, kBigTx);
    if (!tx100.ok()) return tx100.status();
    out["append_tx1"] = {
        {"entries", single}, {"log_per_s", tx1->first}, {"baseline_per_s", tx1->second}};
    out["append_tx100"] = {
        {"entries", many}, {"log_per_s", tx100->first}, {"baseline_per_s", tx100->second}};
    const double log1 = tx1->first, log100 = tx100->first;

    // 3: integrate everything pending.
    const uint64_t pending = single + many;
    auto start = SteadyClock::now();
    uint64_t size = 0;
    int integrations = 0;
    while (size < pending) {
      auto r = log_->Integrate();
      if (!r.ok()) return r.status();
      if (*r == size) return Status::Internal("bench: Integrate made no progress");
      size = *r;
      ++integrations;
    }
    const double integrate_s = SecondsSince(start);
    const double integrate_rate = double(pending) / integrate_s;
    out["integrate"] = {{"entries", pending},
                        {"integrations", integrations},
                        {"seconds", integrate_s},
                        {"per_s", integrate_rate}};
    out["append_tx1_plus_integrate_per_s"] = 1 / (1 / log1 + 1 / integrate_rate);
    out["append_tx100_plus_integrate_per_s"] = 1 / (1 / log100 + 1 / integrate_rate);

    next_entry_ = single + many;
    // 4: sustained, with the integrator running; 5: append -> checkpoint latency at a fixed
    // rate. Both under continued load (see Stream).
    log_->StartIntegrator();
    auto sustained = Stream(single, 0);
    if (!sustained.ok()) return sustained.status();
    out["sustained_tx1"] = {{"entries", single},
                            {"append_seconds", sustained->appended_s},
                            {"integrated_seconds", sustained->included_s},
                            {"per_s", double(single) / sustained->included_s}};
    auto latency = Stream(size_t(double(o_.rate) * o_.latency_s), o_.rate);
    if (!latency.ok()) return latency.status();
    std::vector<double> ms(latency->appended.size());
    for (size_t k = 0; k < ms.size(); ++k) {
      ms[k] = std::chrono::duration<double, std::milli>(latency->included[k] - latency->appended[k])
                  .count();
    }
    out["latency_ms"] = Percentiles(ms);
    out["latency_ms"]["rate_per_s"] = o_.rate;
    log_->StopIntegrator();

    // 6: proofs.
    auto proofs = Proofs();
    if (!proofs.ok()) return proofs.status();
    out["proofs_us"] = *proofs;
    out["final_size"] = log_->size();
    return out;
  }

 private:
  Status Append(size_t i) {
    return db_->InTransaction(store::TxMode::kWrite, [&](store::Transaction& tx) {
      return tlog::AppendEntry(tx, entries_[i]);
    });
  }

  // Entries [begin, end) in transactions of `per_tx`, into the log and into the baseline
  // table, in kRounds alternating rounds: (log entries/s, baseline rows/s).
  Result<std::pair<double, double>> Compare(size_t begin, size_t end, size_t per_tx) {
    constexpr size_t kRounds = 4;
    double log_s = 0, base_s = 0;
    for (size_t r = 0; r < kRounds; ++r) {
      const size_t a = begin + (end - begin) * r / kRounds;
      const size_t b = begin + (end - begin) * (r + 1) / kRounds;
      for (bool log : {r % 2 == 0, r % 2 != 0}) {
        auto start = SteadyClock::now();
        CUSTODIAN_RETURN_IF_ERROR(Insert(a, b, per_tx, log));
        (log ? log_s : base_s) += SecondsSince(start);
      }
    }
    return std::make_pair(double(end - begin) / log_s, double(end - begin) / base_s);
  }

  Status Insert(size_t begin, size_t end, size_t per_tx, bool log) {
    for (size_t i = begin; i < end; i += per_tx) {
      const size_t last = std::min(end, i + per_tx);
      Status st = db_->InTransaction(store::TxMode::kWrite, [&](store::Transaction& tx) {
        for (size_t j = i; j < last; ++j) {
          if (log) {
            CUSTODIAN_RETURN_IF_ERROR(tlog::AppendEntry(tx, entries_[j]));
          } else {
            CUSTODIAN_RETURN_IF_ERROR(
                tx.Exec("INSERT INTO bench_plain (entry, added_ms) VALUES (?, ?)",
                        {Base64Encode(entries_[j]), RealtimeNs() / 1'000'000}));
          }
        }
        return Status::Ok();
      });
      if (!st.ok()) return st;
    }
    return Status::Ok();
  }

  struct Timeline {
    std::vector<SteadyClock::time_point> appended;  // when each measured append started
    std::vector<SteadyClock::time_point> included;  // when a checkpoint holding it committed
    double appended_s = 0;  // from the first append until the last measured one committed
    double included_s = 0;  // from the first append until the last measured one was signed
  };

  // Appends `count` measured entries in transactions of 1, at `rate` per second (0: as fast as
  // possible), with the integrator running, and goes on appending at the same rate until all
  // of them are in a signed checkpoint: the load does not stop at the last measured entry, so
  // it does not wait for the next interval as a final partial batch would. Entry k of the run
  // is at index base + k (one appender, nothing else pending: the integrator takes entries in
  // order). Waits for the extra entries to be integrated before returning.
  Result<Timeline> Stream(size_t count, int rate) {
    const uint64_t base = log_->size();
    Timeline t;
    t.appended.resize(count);
    t.included.resize(count);
    std::atomic<bool> all_in{false}, stop{false};
    std::thread watcher([&] {
      uint64_t seen = base;
      while (seen < base + count && !stop.load()) {
        log_->WaitForSize(seen + 1, 100);
        const uint64_t now_size = std::min<uint64_t>(log_->size(), base + count);
        const auto now = SteadyClock::now();
        for (uint64_t i = seen; i < now_size; ++i) t.included[i - base] = now;
        seen = std::max(seen, now_size);
      }
      all_in = seen >= base + count;
    });
    const auto start = SteadyClock::now();
    const auto deadline = start + std::chrono::minutes(10);
    Status failed;
    size_t k = 0;
    for (; k < count || !all_in.load(); ++k) {
      if (rate > 0) {
        std::this_thread::sleep_until(start +
                                      std::chrono::microseconds(int64_t(1e6 * double(k) / rate)));
      }
      if (k < count) t.appended[k] = SteadyClock::now();
      failed = Append(next_entry_++ % entries_.size());
      if (!failed.ok()) break;
      if (k + 1 == count) t.appended_s = SecondsSince(start);
      if (SteadyClock::now() > deadline) {
        failed = Status::Internal("bench: the integrator did not catch up within 10 minutes");
        break;
      }
    }
    stop = true;
    watcher.join();
    if (!failed.ok()) return failed;
    t.included_s = std::chrono::duration<double>(t.included.back() - start).count();
    if (!log_->WaitForSize(base + k, 600'000)) {
      return Status::Internal("bench: the integrator did not catch up within 10 minutes");
    }
    return t;
  }

  template <typename F>
  static std::vector<double> TimeEach(size_t n, F&& f) {
    std::vector<double> us;
    us.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      auto start = SteadyClock::now();
      if (!f(i)) return {};
      us.push_back(std::chrono::duration<double, std::micro>(SteadyClock::now() - start).count());
    }
    return us;
  }

  Result<json> Proofs() {
    const uint64_t latest = log_->size();
    const size_t n = size_t(o_.proofs);
    std::mt19937_64 rng(7);
    auto pairs = [&] {
      std::vector<std::pair<uint64_t, uint64_t>> out(n);  // (index, size), index < size
      for (auto& [a, b] : out) {
        b = 1 + rng() % latest;
        a = rng() % b;
      }
      return out;
    };
    Status failed;
    auto inclusion = [&](tlog::Log& log, const std::vector<std::pair<uint64_t, uint64_t>>& p) {
      return TimeEach(n, [&](size_t i) {
        auto proof = log.InclusionProof(p[i].first, p[i].second);
        if (!proof.ok()) failed = proof.status();
        return proof.ok();
      });
    };
    // The Log that integrated (a running server's): its cache holds the tiles and interior
    // nodes its integrations wrote, up to LogOptions::cache_bytes.
    std::vector<double> warm = inclusion(*log_, pairs());
    if (!failed.ok()) return failed;
    std::vector<double> consistency = TimeEach(n, [&](size_t) {
      uint64_t to = 1 + rng() % latest, from = 1 + rng() % to;
      auto proof = log_->ConsistencyProof(from, to);
      if (!proof.ok()) failed = proof.status();
      return proof.ok();
    });
    if (!failed.ok()) return failed;
    // A fresh Log (a restart): its cache holds only the right edge it checked on opening, so
    // tiles come from the database and interior nodes are hashed on first use.
    auto fresh = tlog::Log::Open(*db_, options_);
    if (!fresh.ok()) return fresh.status();
    std::vector<double> cold = inclusion(**fresh, pairs());
    if (!failed.ok()) return failed;
    // Proofs against the latest root must verify (a check that we timed real proofs).
    auto cp = (*fresh)->LatestCheckpointParsed();
    if (!cp.ok()) return cp.status();
    for (int i = 0; i < 50; ++i) {
      const uint64_t index = rng() % cp->size;
      auto proof = (*fresh)->InclusionProof(index, cp->size);
      auto entry = (*fresh)->ReadEntry(index);
      if (!proof.ok() || !entry.ok()) return Status::Internal("bench: proof or entry missing");
      Status ok = tlog::VerifyInclusion(tlog::LeafHash(*entry), index, cp->size, *proof, cp->root);
      if (!ok.ok()) return ok.WithContext("bench: inclusion proof " + std::to_string(index));
    }
    // Baseline: one row by primary key, in a read transaction.
    const uint64_t rows = uint64_t(o_.single) + uint64_t(o_.entries);
    std::vector<double> select = TimeEach(n, [&](size_t) {
      const int64_t seq = int64_t(1 + rng() % rows);
      Status st = db_->InTransaction(store::TxMode::kRead, [&](store::Transaction& tx) -> Status {
        auto r = tx.Query("SELECT entry FROM bench_plain WHERE seq = ?", {seq});
        if (!r.ok()) return r.status();
        return r->size() == 1 ? Status::Ok() : Status::Internal("bench: baseline row missing");
      });
      if (!st.ok()) failed = st;
      return st.ok();
    });
    if (!failed.ok()) return failed;
    return json{{"log_size", latest},
                {"inclusion_cold", Percentiles(cold)},
                {"inclusion_warm", Percentiles(warm)},
                {"consistency_warm", Percentiles(consistency)},
                {"baseline_select", Percentiles(select)}};
  }

  const Options& o_;
  std::unique_ptr<store::Database> db_;
  const std::vector<Bytes>& entries_;
  tlog::LogOptions options_;
  std::unique_ptr<tlog::Log> log_;
  size_t next_entry_ = 0;  // the next of entries_ to append in Stream (wrapping round)
};

void PrintBackend(const json& r, const Options& o) {
  std::printf("%s (%s)\n", r["backend"].get<std::string>().c_str(),
              r["server"].get<std::string>().c_str());
  if (r.contains("error")) {
    std::printf("  ERROR: %s\n\n", r["error"].get<std::string>().c_str());
    return;
  }
  auto row = [](const char* what, double log, double base, const char* note) {
    std::printf("  %-44s %12.0f %12.0f %7.2f  %s\n", what, log, base, log / base, note);
  };
  std::printf("  %-44s %12s %12s %7s\n", "throughput (entries/s)", "log", "baseline", "ratio");
  const json& a1 = r["append_tx1"];
  const json& a100 = r["append_tx100"];
  row("append, transactions of 1", a1["log_per_s"], a1["baseline_per_s"],
      "baseline: plain INSERT of the same rows");
  row("append, transactions of 100", a100["log_per_s"], a100["baseline_per_s"], "");
  const double integrate = r["integrate"]["per_s"];
  const double plus1 = r["append_tx1_plus_integrate_per_s"];
  const double plus100 = r["append_tx100_plus_integrate_per_s"];
  std::printf("  %-44s %12.0f %12s %7s  %d integrations of <= %d\n", "integrate", integrate, "", "",
              r["integrate"]["integrations"].get<int>(), o.batch);
  // The throughput target is for SQLite on the 2-core machine.
  const bool sqlite = r["backend"] == "sqlite";
  auto target = [&](double rate) {
    return sqlite ? std::string("target (SQLite) >= 10000: ") +
                        (rate >= kTargetEntriesPerS ? "met" : "NOT met")
                  : std::string();
  };
  std::printf("  %-44s %12.0f %12.0f %7.2f  %s\n", "append (tx of 1) + integrate", plus1,
              a1["baseline_per_s"].get<double>(), plus1 / a1["baseline_per_s"].get<double>(),
              target(plus1).c_str());
  std::printf("  %-44s %12.0f %12.0f %7.2f  %s\n", "append (tx of 100) + integrate", plus100,
              a100["baseline_per_s"].get<double>(), plus100 / a100["baseline_per_s"].get<double>(),
              target(plus100).c_str());
  const json& s = r["sustained_tx1"];
  std::printf("  %-44s %12.0f %12.0f %7.2f  appended in %.2f s, all signed at %.2f s\n",
              "sustained: tx of 1, integrator running", s["per_s"].get<double>(),
              a1["baseline_per_s"].get<double>(),
              s["per_s"].get<double>() / a1["baseline_per_s"].get<double>(),
              s["append_seconds"].get<double>(), s["integrated_seconds"].get<double>());
  const json& l = r["latency_ms"];
  std::printf(
      "  append -> signed checkpoint (ms)             p50 %.1f  p99 %.1f  max %.1f  (%d "
      "entries at %d/s, batch %d, interval %lld ms)\n",
      l["p50"].get<double>(), l["p99"].get<double>(), l["max"].get<double>(), l["count"].get<int>(),
      o.rate, o.batch, (long long)o.interval_ms);
  const json& p = r["proofs_us"];
  std::printf("  %-44s %12s %12s %7s   (log of %llu entries)\n", "latency (us)", "p50", "p99", "",
              (unsigned long long)p["log_size"].get<uint64_t>());
  const double base = p["baseline_select"]["p50"];
  auto lat = [&](const char* what, const json& st, const char* note) {
    std::printf("  %-44s %12.1f %12.1f %7.2f  %s\n", what, st["p50"].get<double>(),
                st["p99"].get<double>(), st["p50"].get<double>() / base, note);
  };
  lat("baseline: SELECT one row by key (read tx)", p["baseline_select"], "");
  lat("inclusion proof, just opened (tiles from db)", p["inclusion_cold"], "ratio: p50 / baseline");
  const double warm99 = p["inclusion_warm"]["p99"];
  std::string note =
      std::string("target p99 < 100 us: ") + (warm99 < kTargetProofUs ? "met" : "NOT met");
  lat("inclusion proof, integrating Log", p["inclusion_warm"], note.c_str());
  lat("consistency proof, integrating Log", p["consistency_warm"], "");
  std::printf("\n");
}

int RunBenchTlog(const Options& o) {
  if (o.db != "sqlite" && o.db != "postgresql" && o.db != "both") {
    return Fail(
        Status::InvalidInput("--db: must be sqlite, postgresql or both, got \"" + o.db + "\""));
  }
  if (o.entries < 100 || o.entries > 10'000'000) {
    return Fail(Status::InvalidInput("--entries: must be in 100..10000000"));
  }
  if (o.single < 1 || o.single > 1'000'000) {
    return Fail(Status::InvalidInput("--single: must be in 1..1000000"));
  }
  if (o.entry_bytes < 1 || o.entry_bytes > int(tlog::kMaxEntryBytes)) {
    return Fail(Status::InvalidInput("--entry-bytes: must be in 1..65535"));
  }
  if (o.batch < 1 || o.batch > 65536) {
    return Fail(Status::InvalidInput("--batch: must be in 1..65536"));
  }
  if (o.interval_ms < 1 || o.interval_ms > 600'000) {
    return Fail(Status::InvalidInput("--interval-ms: must be in 1..600000"));
  }
  if (o.rate < 1 || o.rate > 100'000 || !(o.latency_s > 0 && o.latency_s <= 600) ||
      double(o.rate) * o.latency_s < 1) {
    return Fail(Status::InvalidInput(
        "--rate: must be in 1..100000, --latency-s in (0, 600], with rate x latency-s >= 1"));
  }
  if (o.proofs < 1 || o.proofs > 1'000'000) {
    return Fail(Status::InvalidInput("--proofs: must be in 1..1000000"));
  }
  InitCrypto();
  std::vector<std::string> backends;
  if (o.db != "postgresql") backends.push_back("sqlite");
  if (o.db != "sqlite") backends.push_back("postgresql");

  std::unique_ptr<PrivatePostgres> private_pg;
  std::string pg_admin = o.pg_url;
  const char* env = std::getenv("CUSTODIAN_TEST_PG_URL");
  if (pg_admin.empty() && env != nullptr) pg_admin = env;
  std::string pg_settings;
  if (o.db != "sqlite" && pg_admin.empty()) {
    if (!o.json) std::fprintf(stderr, "starting a private PostgreSQL server...\n");
    auto pg = PrivatePostgres::Start();
    if (!pg.ok()) return Fail(pg.status());
    private_pg = std::move(*pg);
    pg_admin = private_pg->admin_url();
    pg_settings = private_pg->settings();
  }

  const size_t total =
      2 * size_t(o.single) + size_t(o.entries) + size_t(double(o.rate) * o.latency_s) + 1;
  const std::vector<Bytes> entries = MakeEntries(total, size_t(o.entry_bytes));

  json report;
  report["machine"] = BenchMachineFacts();
  report["config"] = {{"entries", o.entries},         {"single", o.single},
                      {"entry_bytes", o.entry_bytes}, {"batch", o.batch},
                      {"interval_ms", o.interval_ms}, {"rate", o.rate},
                      {"latency_s", o.latency_s},     {"proofs", o.proofs}};
  report["results"] = json::array();
  bool all_ok = true;
  for (const auto& backend : backends) {
    if (!o.json) std::fprintf(stderr, "running on %s...\n", backend.c_str());
    json r;
    r["backend"] = backend;
    std::string sqlite_dir, url, created_pg;
    if (backend == "sqlite") {
      char templ[] = "/tmp/custodian-bench-tlog-XXXXXX";
      if (::mkdtemp(templ) == nullptr) return Fail(Status::IoError("mkdtemp failed"));
      sqlite_dir = templ;
      url = "sqlite:" + sqlite_dir + "/tlog.db";
      r["server"] = "SQLite " + std::string(sqlite3_libversion()) + ", WAL, synchronous=NORMAL";
    } else {
      auto created = CreatePostgresDatabase(pg_admin, "custodian_bench_tlog");
      if (!created.ok()) return Fail(created.status());
      url = created_pg = *created;
      r["server"] = "PostgreSQL " + PostgresVersion(pg_admin) +
                    (private_pg ? ", private server: " + pg_settings
                                : ", at " + store::RedactDatabaseUrl(pg_admin));
    }
    auto db = store::Database::Open(url);
    Result<json> result =
        db.ok() ? Run(o, std::move(*db), entries).Go() : Result<json>(db.status());
    if (result.ok()) {
      r.update(*result);
    } else {
      r["error"] = result.status().message();
      all_ok = false;
    }
    if (!sqlite_dir.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(sqlite_dir, ec);
    }
    if (!created_pg.empty() && !private_pg) (void)DropPostgresDatabase(pg_admin, created_pg);
    report["results"].push_back(r);
  }

  if (o.json) {
    std::cout << report.dump(2) << "\n";
  } else {
    const json& m = report["machine"];
    std::printf(
        "Transparency log: entries of %d bytes; %d appended in transactions of 1, %d in "
        "transactions of %zu; batches of <= %d\n",
        o.entry_bytes, o.single, o.entries, kBigTx, o.batch);
    std::printf("machine: %u CPUs, %s, load %s, %s\n\n", m["nproc"].get<unsigned>(),
                m["cpu"].get<std::string>().c_str(),
                m["loadavg_at_start"].get<std::string>().c_str(),
                m["date_utc"].get<std::string>().c_str());
    for (const auto& r : report["results"]) PrintBackend(r, o);
  }
  return all_ok ? 0 : 1;
}

}  // namespace

void AddBenchTlogCommand(CLI::App* bench) {
  auto o = std::make_shared<Options>();
  auto* cmd = bench->add_subcommand(
      "tlog",
      "Transparency log: append and integrate throughput, append-to-checkpoint latency and "
      "proof latency on SQLite and PostgreSQL, against plain INSERTs and SELECTs in the same run");
  cmd->add_option("--db", o->db, "sqlite, postgresql or both")->capture_default_str();
  cmd->add_option("--pg-url", o->pg_url,
                  "PostgreSQL server (URL of its `postgres` database; a fresh database is created "
                  "there). Default: $CUSTODIAN_TEST_PG_URL, else a private server");
  cmd->add_option("--entries", o->entries, "Entries appended in transactions of 100")
      ->capture_default_str();
  cmd->add_option("--single", o->single,
                  "Entries appended in transactions of 1 (and again with the integrator running)")
      ->capture_default_str();
  cmd->add_option("--entry-bytes", o->entry_bytes, "Bytes per entry")->capture_default_str();
  cmd->add_option("--batch", o->batch, "Entries per integration at most (serve --log-batch)")
      ->capture_default_str();
  cmd->add_option("--interval-ms", o->interval_ms,
                  "Background integration period (serve --log-interval-ms)")
      ->capture_default_str();
  cmd->add_option("--rate", o->rate, "Appends per second in the latency run")
      ->capture_default_str();
  cmd->add_option("--latency-s", o->latency_s, "Length of the latency run")->capture_default_str();
  cmd->add_option("--proofs", o->proofs, "Proofs timed per kind")->capture_default_str();
  cmd->add_flag("--json", o->json, "Machine-readable output");
  OnRun(cmd, [o] { return RunBenchTlog(*o); });
}

}  // namespace custodian::cli
