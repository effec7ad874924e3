#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/cpuset.h"

namespace xeonplace {
namespace {

std::string parse_error(const std::string& text, unsigned limit = kMaxSetId + 1) {
  Expected<CpuSet> set = CpuSet::parse(text, "XEONRUN_CORE_LIST", limit);
  EXPECT_FALSE(set.ok()) << text << " parsed as " << (set.ok() ? set->format() : "");
  return set.ok() ? std::string() : set.error().message;
}

TEST(CpuSetParse, ListOfRangesAndSingleIds) {
  Expected<CpuSet> set = CpuSet::parse("0-3,8,10-11", "XEONRUN_CORE_LIST");
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->ids(), (std::vector<unsigned>{0, 1, 2, 3, 8, 10, 11}));
  EXPECT_EQ(set->count(), 7U);
}

TEST(CpuSetParse, EmptyTextIsTheEmptySet) {
  Expected<CpuSet> set = CpuSet::parse("", "XEONRUN_CORE_LIST");
  ASSERT_TRUE(set.ok());
  EXPECT_TRUE(set->empty());
  EXPECT_EQ(set->format(), "");
}

TEST(CpuSetParse, SingleIdRangeIsAccepted) {
  Expected<CpuSet> set = CpuSet::parse("5-5", "x");
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->ids(), std::vector<unsigned>{5});
}

TEST(CpuSetParse, ReversedRangeIsAnErrorNamingVariableValueAndAcceptedForm) {
  EXPECT_EQ(parse_error("3-1"),
            "XEONRUN_CORE_LIST=3-1: reversed range 3-1; accepted: a list of ids like 0-3,8,10-11");
}

TEST(CpuSetParse, DanglingCommasAreErrors) {
  EXPECT_NE(parse_error("1,").find("dangling ','"), std::string::npos);
  EXPECT_NE(parse_error(",1").find("empty item"), std::string::npos);
  EXPECT_NE(parse_error("1,,2").find("empty item"), std::string::npos);
  EXPECT_NE(parse_error(",").find("empty item"), std::string::npos);
}

TEST(CpuSetParse, DanglingDashesAreErrors) {
  EXPECT_NE(parse_error("1-").find("range 1- has no end"), std::string::npos);
  EXPECT_NE(parse_error("1-,3").find("range 1- has no end"), std::string::npos);
  EXPECT_NE(parse_error("-1").find("unexpected '-'"), std::string::npos);
  EXPECT_NE(parse_error("1--3").find("unexpected '-'"), std::string::npos);
  EXPECT_NE(parse_error("1-2-3").find("unexpected character '-'"), std::string::npos);
}

TEST(CpuSetParse, SignsSpacesAndHexAreErrors) {
  EXPECT_NE(parse_error("+1").find("unexpected character '+'"), std::string::npos);
  EXPECT_NE(parse_error("-3").find("negative"), std::string::npos);
  EXPECT_NE(parse_error(" 1").find("unexpected character ' '"), std::string::npos);
  EXPECT_NE(parse_error("1, 2").find("unexpected character ' '"), std::string::npos);
  EXPECT_NE(parse_error("1 ").find("unexpected character ' '"), std::string::npos);
  EXPECT_NE(parse_error("0x3").find("unexpected character 'x'"), std::string::npos);
  EXPECT_NE(parse_error("ff").find("unexpected character 'f'"), std::string::npos);
}

TEST(CpuSetParse, OverflowIsAnErrorNotAWrapAround) {
  EXPECT_EQ(parse_error("99999999999999999999"),
            "XEONRUN_CORE_LIST=99999999999999999999: id 99999999999999999999 is larger than "
            "65535; accepted: a list of ids like 0-3,8,10-11");
  EXPECT_NE(parse_error("4294967296").find("larger than 65535"), std::string::npos);
  EXPECT_NE(parse_error("0-4000000000").find("larger than 65535"), std::string::npos);
}

TEST(CpuSetParse, LargestAllowedIdIsAccepted) {
  Expected<CpuSet> set = CpuSet::parse("65535", "x");
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->last(), 65535U);
  EXPECT_NE(parse_error("65536").find("larger than 65535"), std::string::npos);
}

TEST(CpuSetParse, IdsBeyondTheMachineAreErrors) {
  EXPECT_EQ(parse_error("0-8", 8),
            "XEONRUN_CORE_LIST=0-8: id 8 is out of range; accepted: a list of ids in 0-7 like "
            "0-3,8,10-11");
  Expected<CpuSet> ok = CpuSet::parse("0-7", "XEONRUN_CORE_LIST", 8);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->count(), 8U);
}

TEST(CpuSetParse, ErrorNamesTheGivenInput) {
  Expected<CpuSet> set = CpuSet::parse("a", "--core-list");
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.error().message.rfind("--core-list=a: ", 0), 0U) << set.error().message;
}

TEST(CpuSetFormat, RoundTripIsCanonical) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"0-3,8,10-11", "0-3,8,10-11"},
      {"3,2,1,0", "0-3"},
      {"0,1,2,3,8", "0-3,8"},
      {"5,5,5", "5"},
      {"0-3,2-5", "0-5"},
      {"7,0-1", "0-1,7"},
      {"00,01", "0-1"},
      {"63-64", "63-64"},
      {"1,3,5", "1,3,5"},
      {"0-127,200", "0-127,200"},
      {"64", "64"},
      {"", ""},
  };
  for (const auto& [input, canonical] : cases) {
    Expected<CpuSet> set = CpuSet::parse(input, "x");
    ASSERT_TRUE(set.ok()) << input << ": " << set.error().message;
    EXPECT_EQ(set->format(), canonical) << input;
    Expected<CpuSet> again = CpuSet::parse(set->format(), "x");
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, *set) << input;
  }
}

TEST(CpuSetAlgebra, IntersectionUnionDifference) {
  const CpuSet a{0, 1, 2, 3, 70};
  const CpuSet b{2, 3, 4, 130};
  EXPECT_EQ((a & b), (CpuSet{2, 3}));
  EXPECT_EQ((a | b), (CpuSet{0, 1, 2, 3, 4, 70, 130}));
  EXPECT_EQ(a.minus(b), (CpuSet{0, 1, 70}));
  EXPECT_EQ(b.minus(a), (CpuSet{4, 130}));
  EXPECT_TRUE((CpuSet{2, 3}).is_subset_of(a));
  EXPECT_FALSE(b.is_subset_of(a));
  EXPECT_TRUE(CpuSet{}.is_subset_of(a));
}

TEST(CpuSetAlgebra, EqualityIgnoresHowTheSetWasBuilt) {
  CpuSet grown{1, 200};
  grown.remove(200);
  EXPECT_EQ(grown, CpuSet{1});
  EXPECT_EQ((CpuSet{1, 200} & CpuSet{1}), CpuSet{1});
  EXPECT_EQ((CpuSet{300}.minus(CpuSet{300})), CpuSet{});
  EXPECT_NE(CpuSet{1}, CpuSet{2});
}

TEST(CpuSetAccess, FirstLastContainsAndIds) {
  CpuSet set = CpuSet::from_ids({9, 64, 3, 127});
  EXPECT_EQ(set.first(), 3U);
  EXPECT_EQ(set.last(), 127U);
  EXPECT_TRUE(set.contains(64));
  EXPECT_FALSE(set.contains(65));
  EXPECT_FALSE(set.contains(100000));
  EXPECT_EQ(set.ids(), (std::vector<unsigned>{3, 9, 64, 127}));
  set.remove(127);
  EXPECT_EQ(set.last(), 64U);
  set.remove(500);  // absent: no effect
  EXPECT_EQ(set.count(), 3U);
  EXPECT_FALSE(CpuSet{}.first().has_value());
  EXPECT_FALSE(CpuSet{}.last().has_value());
}

// Found by tests/fuzz/fuzz_cpuset: a line break in the value went into the error verbatim, and a
// runaway value was quoted whole.
TEST(CpuSetParse, ErrorShowsControlCharactersEscapedOnOneLine) {
  const std::string message = parse_error("0,1\n2");
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_NE(message.find("unexpected character '\\n' at offset 3"), std::string::npos) << message;
  EXPECT_LT(parse_error(std::string(100000, '7')).size(), 1000U);
}

}  // namespace
}  // namespace xeonplace
