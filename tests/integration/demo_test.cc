// `custodian demo receipts`: three landmark processes, a netem process, three agents,
// receipt verification and a geo verdict. It must succeed and print what it promises.
#include <gtest/gtest.h>

#include "support/cli_runner.h"

namespace custodian::testing {
namespace {

TEST(Demo, PrintsTheTableAndAVerifiedVerdict) {
  CliResult r = RunCli({"demo", "receipts", "--samples", "4"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const char* row : {"SIN-1    Singapore", "FRA-1    Frankfurt", "IAD-1    Ashburn VA"}) {
    auto at = r.out.find(row);
    ASSERT_NE(at, std::string::npos) << row << "\n" << r.out;
    std::string line = r.out.substr(at, r.out.find('\n', at) - at);
    EXPECT_EQ(line.substr(line.size() - 3), "yes") << line;  // receipt valid
  }
  EXPECT_NE(r.out.find("no answer beat light"), std::string::npos);
  EXPECT_NE(r.out.find("\nverified\n"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace custodian::testing
