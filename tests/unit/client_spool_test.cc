// The agent's spool: durable, ordered, private, tolerant of corrupt files, one owner at a time.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "client/spool.h"
#include "core/crypto.h"
#include "core/file.h"
#include "unit/client_fake_server.h"

namespace custodian::client {
namespace {

using custodian::testing::ScratchDir;
using nlohmann::json;
namespace fs = std::filesystem;

std::vector<std::string> Files(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

struct Captured {
  std::vector<std::string> lines;
  LogFn fn() {
    return [this](const std::string& l) { lines.push_back(l); };
  }
};

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override { InitCrypto(); }
  std::unique_ptr<Spool> Open(size_t max_entries = 1000) {
    auto s = Spool::Open(dir_ / "spool", log_.fn(), max_entries);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }
  ScratchDir dir_;
  Captured log_;
};

TEST_F(SpoolTest, PutListRemoveKeepsOrderAndContent) {
  auto spool = Open();
  ASSERT_TRUE(spool);
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    auto id = spool->Put(json{{"n", i}, {"receipts", json::array()}});
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    ids.push_back(*id);
  }
  auto listed = spool->List();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ((*listed)[i].id, ids[i]);
    EXPECT_EQ((*listed)[i].bundle["n"], i);
  }
  ASSERT_TRUE(spool->Remove(ids[2]).ok());
  ASSERT_TRUE(spool->Remove(ids[2]).ok()) << "removing twice is not an error";
  EXPECT_EQ(spool->Count().value(), 4u);
  listed = spool->List();
  ASSERT_EQ(listed->size(), 4u);
  EXPECT_EQ((*listed)[2].id, ids[3]);
  EXPECT_EQ(spool->Remove("../../etc/passwd").code(), StatusCode::kInvalidInput);
  EXPECT_TRUE(log_.lines.empty());
}

TEST_F(SpoolTest, FilesArePrivateAndWrittenWhole) {
  auto spool = Open();
  ASSERT_TRUE(spool);
  EXPECT_EQ(ModeOf(dir_ / "spool"), 0700u);
  auto id = spool->Put(json{{"node", "abc"}});
  ASSERT_TRUE(id.ok());
  const std::string path = dir_ / ("spool/" + *id + ".json");
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_EQ(json::parse(ReadFile(path).value()), (json{{"node", "abc"}}));
  // Nothing but the bundle and the lock: the temporary file was renamed into place.
  EXPECT_EQ(Files(dir_ / "spool"), (std::vector<std::string>{".lock", *id + ".json"}));
}

TEST_F(SpoolTest, SurvivesRestartAndKeepsOrderAcrossIt) {
  std::vector<std::string> ids;
  {
    auto spool = Open();
    ASSERT_TRUE(spool);
    ids.push_back(spool->Put(json{{"n", 0}}).value());
    ids.push_back(spool->Put(json{{"n", 1}}).value());
  }
  // A bundle written by a run whose clock was far ahead: later bundles must still sort after.
  const std::string future = "09000000000000000000-00000000";  // year 2255
  ASSERT_TRUE(WriteFileAtomic(dir_ / ("spool/" + future + ".json"), "{\"n\":2}", 0600).ok());
  ids.push_back(future);
  // An interrupted write from the previous process.
  const std::string tmp = dir_ / ("spool/" + ids[0] + ".json.tmp.12345");
  ASSERT_TRUE(WriteFileAtomic(tmp, "{\"n\":", 0600).ok());

  auto spool = Open();
  ASSERT_TRUE(spool);
  EXPECT_FALSE(fs::exists(tmp)) << "leftover temporary files are removed at Open";
  ids.push_back(spool->Put(json{{"n", 3}}).value());
  auto listed = spool->List();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ((*listed)[i].id, ids[i]);
    EXPECT_EQ((*listed)[i].bundle["n"], i);
  }
}

TEST_F(SpoolTest, CorruptFilesAreMovedAsideNotFatal) {
  auto spool = Open();
  ASSERT_TRUE(spool);
  auto good = spool->Put(json{{"n", 1}}).value();
  const std::string broken = "00000000000000000001-0000000a";
  const std::string array = "00000000000000000002-0000000b";
  const std::string empty = "00000000000000000003-0000000c";
  ASSERT_TRUE(WriteFileAtomic(dir_ / ("spool/" + broken + ".json"), "{\"n\": tru", 0600).ok());
  ASSERT_TRUE(WriteFileAtomic(dir_ / ("spool/" + array + ".json"), "[1, 2]", 0600).ok());
  ASSERT_TRUE(WriteFileAtomic(dir_ / ("spool/" + empty + ".json"), "", 0600).ok());
  // Not ours: ignored, left alone.
  ASSERT_TRUE(WriteFileAtomic(dir_ / "spool/notes.json", "hello", 0600).ok());

  auto listed = spool->List();
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id, good);
  for (const std::string& id : {broken, array, empty}) {
    EXPECT_TRUE(fs::exists(dir_ / ("spool/" + id + ".json.bad"))) << id;
    EXPECT_FALSE(fs::exists(dir_ / ("spool/" + id + ".json"))) << id;
  }
  EXPECT_TRUE(fs::exists(dir_ / "spool/notes.json"));
  ASSERT_EQ(log_.lines.size(), 3u);
  EXPECT_NE(log_.lines[0].find("corrupt"), std::string::npos) << log_.lines[0];
  // Listing again finds nothing new to complain about.
  EXPECT_EQ(spool->List()->size(), 1u);
  EXPECT_EQ(log_.lines.size(), 3u);
}

TEST_F(SpoolTest, RejectMovesAsideWithTheReason) {
  auto spool = Open();
  ASSERT_TRUE(spool);
  auto id = spool->Put(json{{"n", 1}}).value();
  ASSERT_TRUE(spool->Reject(id, "HTTP 422: receipts[0]: bad signature").ok());
  EXPECT_EQ(spool->Count().value(), 0u);
  EXPECT_TRUE(fs::exists(dir_ / ("spool/" + id + ".json.rejected")));
  EXPECT_EQ(ReadFile(dir_ / ("spool/" + id + ".json.rejected.txt")).value(),
            "HTTP 422: receipts[0]: bad signature\n");
}

TEST_F(SpoolTest, OneProcessPerDirectory) {
  auto first = Open();
  ASSERT_TRUE(first);
  auto second = Spool::Open(dir_ / "spool");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find("in use"), std::string::npos);
  first.reset();
  EXPECT_TRUE(Spool::Open(dir_ / "spool").ok()) << "the lock goes with its owner";
}

TEST_F(SpoolTest, BoundedDropsTheOldest) {
  auto spool = Open(/*max_entries=*/3);
  ASSERT_TRUE(spool);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(spool->Put(json{{"n", i}}).ok());
  auto listed = spool->List();
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].bundle["n"], 2);
  EXPECT_EQ(log_.lines.size(), 2u);
}

TEST_F(SpoolTest, BadDirectory) {
  ASSERT_TRUE(WriteFileAtomic(dir_ / "file", "x", 0600).ok());
  EXPECT_FALSE(Spool::Open(dir_ / "file").ok());
  EXPECT_EQ(Spool::Open("").status().code(), StatusCode::kInvalidInput);
}

}  // namespace
}  // namespace custodian::client
