// `custodian api`, `alerts` and `fleet` against the real server: pretty JSON, exit codes
// (0 on 2xx, 1 when the server refuses, 2 on bad usage), the problem detail on stderr, tables.
#include <gtest/gtest.h>

#include <cstdlib>

#include "support/cli_runner.h"
#include "support/server_process.h"

namespace custodian::testing {
namespace {

using nlohmann::json;

class ApiCli : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = "sqlite:" + (dir_ / "custodian.db");
    admin_ = InitAdmin(db_);
    ASSERT_FALSE(admin_.empty());
    ASSERT_TRUE(WriteFileAtomic(dir_ / "admin.token", admin_ + "\n", 0600).ok());
    server_ = std::make_unique<ServerProcess>(dir_, db_);
    ASSERT_TRUE(server_->started());
  }
  CliResult Run(std::vector<std::string> args) {
    args.insert(args.end(), {"--server", server_->url(), "--token-file", dir_ / "admin.token"});
    return RunCli(args);
  }

  TempDir dir_;
  std::string db_, admin_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(ApiCli, PrintsPrettyJsonAndExitsByStatus) {
  CliResult who = Run({"api", "GET", "/v1/whoami"});
  ASSERT_EQ(who.exit_code, 0) << who.err;
  EXPECT_EQ(json::parse(who.out).value("role", ""), "admin");
  EXPECT_NE(who.out.find("\n  \"role\": \"admin\""), std::string::npos) << who.out;

  CliResult created =
      Run({"api", "post", "/v1/operators", "--data", R"({"id": "op-sg", "name": "Example"})"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_EQ(json::parse(created.out).value("id", ""), "op-sg");

  ASSERT_TRUE(WriteFileAtomic(dir_ / "op.json", R"({"id": "op-sg", "name": "Again"})", 0644).ok());
  CliResult dup = Run({"api", "POST", "/v1/operators", "--data", "@" + (dir_ / "op.json")});
  EXPECT_EQ(dup.exit_code, 1);
  EXPECT_EQ(dup.err_lines(), 1u) << dup.err;
  EXPECT_NE(dup.err.find("custodian: POST /v1/operators: HTTP 409: body.id: operator \"op-sg\""),
            std::string::npos)
      << dup.err;
  EXPECT_TRUE(dup.out.empty());

  CliResult bad = Run({"api", "POST", "/v1/sites", "--data", R"({"id": "x", "lat": 91})"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("HTTP 400: "), std::string::npos) << bad.err;

  CliResult missing = Run({"api", "GET", "/v1/sites/nope"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("HTTP 404"), std::string::npos) << missing.err;

  CliResult unauth = RunCli(
      {"api", "GET", "/v1/whoami", "--server", server_->url(), "--token", "cus_000000000000_00"});
  EXPECT_EQ(unauth.exit_code, 1);
  EXPECT_NE(unauth.err.find("HTTP 401"), std::string::npos) << unauth.err;
}

TEST_F(ApiCli, BadUsageExitsTwo) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"api", "FETCH", "/v1/whoami"},
           {"api", "GET", "v1/whoami"},
           {"api", "POST", "/v1/operators", "--data", "{not json"},
           {"api", "POST", "/v1/operators", "--data", "@/nonexistent.json"},
           {"api", "GET"},
           {"fleet", "--by", "country"},
       }) {
    CliResult r = Run(args);
    EXPECT_EQ(r.exit_code, 2) << args[1] << ": " << r.err;
    EXPECT_EQ(r.err_lines(), 1u) << r.err;
  }
  CliResult url = RunCli({"api", "GET", "/v1/whoami", "--server", "localhost:8080"});
  EXPECT_EQ(url.exit_code, 2) << url.err;
  EXPECT_NE(url.err.find("--server"), std::string::npos) << url.err;
}

TEST_F(ApiCli, ServerAndTokenFromTheEnvironment) {
  ::setenv("CUSTODIAN_SERVER", server_->url().c_str(), 1);
  ::setenv("CUSTODIAN_TOKEN", admin_.c_str(), 1);
  CliResult r = RunCli({"api", "GET", "/v1/whoami"});
  ::unsetenv("CUSTODIAN_SERVER");
  ::unsetenv("CUSTODIAN_TOKEN");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out).value("role", ""), "admin");
}

TEST_F(ApiCli, AlertsAndFleetTables) {
  CliResult none = Run({"alerts", "--status", "open"});
  ASSERT_EQ(none.exit_code, 0) << none.err;
  EXPECT_EQ(none.out, "no alerts\n");

  Run({"api", "POST", "/v1/operators", "--data", R"({"id": "op-sg", "name": "Example"})"});
  CliResult site = Run({"api", "POST", "/v1/sites", "--data",
                        R"({"id": "jurong-1", "operator": "op-sg", "name": "Jurong", "lat": 1.33,
                            "lon": 103.74, "country": "SG", "licensed": ["SG"]})"});
  ASSERT_EQ(site.exit_code, 0) << site.err;
  CliResult empty = Run({"fleet"});
  ASSERT_EQ(empty.exit_code, 0) << empty.err;
  EXPECT_EQ(empty.out, "no sites\n") << "sites without chips are not in the fleet";

  // One node with one chip, enrolled the way an agent does it.
  CliResult enrolment = Run({"api", "POST", "/v1/enrolments", "--data", R"({"site": "jurong-1"})"});
  ASSERT_EQ(enrolment.exit_code, 0) << enrolment.err;
  Keygen(dir_, "node.key");
  ASSERT_TRUE(
      WriteFileAtomic(
          dir_ / "gpus.json",
          R"([{"uuid": "GPU-6f2d4c3a-1b2c-4d5e-8f90-a1b2c3d4e5f6", "model": "NVIDIA H100"}])", 0644)
          .ok());
  CliResult enrol = RunCli({"agent", "enrol", "--server", server_->url(), "--enrolment-token",
                            json::parse(enrolment.out).value("token", ""), "--key",
                            dir_ / "node.key", "--gpus-file", dir_ / "gpus.json"});
  ASSERT_EQ(enrol.exit_code, 0) << enrol.err;
  std::string last = enrol.out.substr(enrol.out.rfind('\n', enrol.out.size() - 2) + 1);
  EXPECT_EQ(last.rfind("cus_", 0), 0u)
      << "without --token-out the token is the last line: " << enrol.out;

  CliResult fleet = Run({"fleet"});
  ASSERT_EQ(fleet.exit_code, 0) << fleet.err;
  EXPECT_EQ(fleet.out.rfind("SITE      OPERATOR  CHIPS  VERIFIED  INCONCLUSIVE  VIOLATION", 0), 0u)
      << fleet.out;
  EXPECT_NE(fleet.out.find("\njurong-1  op-sg     1      0"), std::string::npos) << fleet.out;
  CliResult ops = Run({"fleet", "--by", "operator"});
  ASSERT_EQ(ops.exit_code, 0) << ops.err;
  EXPECT_EQ(ops.out.rfind("OPERATOR  CHIPS", 0), 0u) << ops.out;
  EXPECT_NE(ops.out.find("\nop-sg     1"), std::string::npos) << ops.out;
  CliResult raw = Run({"fleet", "--json"});
  ASSERT_EQ(raw.exit_code, 0);
  EXPECT_EQ(json::parse(raw.out)["sites"][0]["site"], "jurong-1") << raw.out;
  CliResult filtered = Run({"alerts", "--kind", "stale", "--site", "jurong-1", "--limit", "5"});
  EXPECT_EQ(filtered.exit_code, 0) << filtered.err;
}

}  // namespace
}  // namespace custodian::testing
