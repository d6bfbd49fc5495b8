// The overlay of API changes and its three-way merge over CONFIG_DIR.
#include "config/api_changes.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

// config/api_changes.h: the overlay of API changes and its merge over CONFIG_DIR.
TEST(ApiStateTest, WithWriteKeepsTheFirstBaseAndDropsWhatReturnsToIt) {
  using svpc::config::ApiChanges;
  using svpc::config::FileMap;
  using svpc::config::WithWrite;
  const FileMap f0{{"a.json", "A0"}, {"b.json", "B0"}};
  const FileMap f1{{"a.json", "A1"}, {"b.json", "B0"}, {"c.json", "C1"}};
  ApiChanges changes = WithWrite({}, f0, f1);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes["a.json"].base, "A0");
  EXPECT_EQ(changes["a.json"].current, "A1");
  EXPECT_FALSE(changes["c.json"].base.has_value());
  const FileMap f2{{"a.json", "A0"}, {"b.json", "B0"}, {"c.json", "C2"}};
  changes = WithWrite(changes, f1, f2);
  EXPECT_EQ(changes.count("a.json"), 0u);  // back at its base
  EXPECT_EQ(changes["c.json"].current, "C2");
  const FileMap f3{{"a.json", "A0"}};
  changes = WithWrite(changes, f2, f3);
  EXPECT_EQ(changes.count("c.json"), 0u);  // created, then deleted: as before
  EXPECT_EQ(changes["b.json"].base, "B0");
  EXPECT_FALSE(changes["b.json"].current.has_value());
}

TEST(ApiStateTest, MergeTakesKeepsDropsAndReportsConflicts) {
  svpc::config::ApiChanges changes{{"kept.json", {"K0", "K1"}},
                                   {"exported.json", {"E0", "E1"}},
                                   {"edited.json", {"D0", "D1"}},
                                   {"deleted.json", {"X0", std::nullopt}}};
  const svpc::config::FileMap theirs{
      {"kept.json", "K0"}, {"exported.json", "E1"}, {"edited.json", "D9"}, {"deleted.json", "X0"}};
  svpc::config::MergeResult m = svpc::config::Merge(changes, theirs);
  EXPECT_EQ(m.files.at("kept.json"), "K1");
  EXPECT_EQ(m.files.at("exported.json"), "E1");
  EXPECT_EQ(m.files.at("edited.json"), "D9");  // the directory wins
  EXPECT_EQ(m.files.count("deleted.json"), 0u);
  EXPECT_EQ(m.reapplied, 2u);
  EXPECT_EQ(m.already, 1u);
  ASSERT_EQ(m.conflicts.size(), 1u);
  EXPECT_EQ(m.conflicts[0].path, "edited.json");
  EXPECT_EQ(m.conflicts[0].ours, "D1");
  EXPECT_EQ(m.changes.size(), 2u);  // kept and deleted remain
}

TEST(ApiStateTest, SerializeParseRoundTripAndRefusals) {
  svpc::config::ApiChanges changes{{"p/a.json", {std::nullopt, "{\n}\n"}},
                                   {"p/b.json", {"x", std::nullopt}}};
  svpc::config::ApiChanges back;
  std::string error;
  ASSERT_TRUE(
      svpc::config::ApiState::Parse(svpc::config::ApiState::Serialize(changes), &back, &error))
      << error;
  EXPECT_EQ(back, changes);
  EXPECT_FALSE(svpc::config::ApiState::Parse("{\"version\":2,\"changes\":{}}", &back, &error));
  EXPECT_FALSE(svpc::config::ApiState::Parse(
      "{\"version\":1,\"changes\":{\"../x\":{\"base\":null,\"current\":\"y\"}}}", &back, &error));
  EXPECT_FALSE(svpc::config::ApiState::Parse("{\"version\":1,", &back, &error));
}
