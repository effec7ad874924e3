// core/text: the one home of the small text helpers (names, suggestions, flag spellings, --help
// layout).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/text.h"

namespace xeonplace {
namespace {

TEST(Text, EditDistanceCountsInsertionsDeletionsAndSubstitutions) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("XEONRUN_NINSTANCE", "XEONRUN_NINSTANCES"), 1u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("--rnak", "--rank"), 2u);
}

TEST(Text, ClosestPicksTheNearestCandidateBelowTheLimit) {
  const std::vector<std::string_view> names = {"--rank", "--ninstances", "--node-id"};
  EXPECT_EQ(closest("--ninstance", names), 1u);
  EXPECT_EQ(closest("--rnak", names, 4), 0u);
  EXPECT_FALSE(closest("--completely-different", names, 4).has_value());
  EXPECT_FALSE(closest("x", {}).has_value());
  // A runaway name is compared by its prefix only, and still finds its match.
  EXPECT_EQ(closest("--ninstances" + std::string(100000, 'x'), names), 1u);
}

TEST(Text, CaseInsensitiveEqualityIsAsciiOnly) {
  EXPECT_TRUE(equals_ignore_case("Latency", "latency"));
  EXPECT_TRUE(equals_ignore_case("", ""));
  EXPECT_FALSE(equals_ignore_case("latency", "latenc"));
  EXPECT_FALSE(equals_ignore_case("multi_instance", "multi-instance"));
}

TEST(Text, FlagSpellingsChangeOnlyTheNameAfterTwoDashes) {
  EXPECT_EQ(dash_spelling("--ncores_per_instance"), "--ncores-per-instance");
  EXPECT_EQ(underscore_spelling("--ncores-per-instance"), "--ncores_per_instance");
  EXPECT_EQ(dash_spelling("-m"), "-m");
  EXPECT_EQ(dash_spelling("__x_y"), "__x_y");
  EXPECT_EQ(underscore_spelling("--"), "--");
}

TEST(Text, JoinPutsTheSeparatorOnlyBetweenItems) {
  EXPECT_EQ(join({}, ", "), "");
  EXPECT_EQ(join({"a"}, ", "), "a");
  EXPECT_EQ(join({"a", "b", "c"}, ", "), "a, b, c");
}

TEST(Text, HelpEntryWrapsUnderItsTextColumnWithinTheWidth) {
  std::string words;
  for (int i = 0; i < 40; ++i) words += "word" + std::to_string(i) + " ";
  words.pop_back();
  const std::string entry = help_entry("--flag VALUE", words);
  EXPECT_EQ(entry.rfind("  --flag VALUE" + std::string(kHelpTextColumn - 14, ' ') + "word0 ", 0),
            0u)
      << entry;
  std::size_t start = 0;
  std::string rejoined;
  while (start < entry.size()) {
    const std::size_t end = entry.find('\n', start);
    const std::string line = entry.substr(start, end - start);
    EXPECT_LE(line.size(), kHelpWidth) << line;
    EXPECT_EQ(line.find_first_not_of(' '), start == 0 ? 2u : kHelpTextColumn) << line;
    rejoined += (rejoined.empty() ? "" : " ") + line.substr(kHelpTextColumn);
    start = end + 1;
  }
  EXPECT_EQ(rejoined, words);
}

TEST(Text, HelpEntryPutsTheTextOfALongNameOnTheNextLine) {
  const std::string name(kHelpTextColumn, 'n');
  EXPECT_EQ(help_entry(name, "text"),
            "  " + name + "\n" + std::string(kHelpTextColumn, ' ') + "text\n");
  EXPECT_EQ(help_entry("", "more"), std::string(kHelpTextColumn, ' ') + "more\n");
}

}  // namespace
}  // namespace xeonplace
