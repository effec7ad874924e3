// CpuSet::parse over arbitrary text: whatever parses must format to a canonical list that parses
// back to the same set, and the set algebra must agree with itself.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/cpuset.h"
#include "fuzz_common.h"

using xeonplace::CpuSet;
using xeonplace::fuzz::require;
using xeonplace::fuzz::require_one_line;

namespace {

void check_set(const CpuSet& set, unsigned limit) {
  const std::vector<unsigned> ids = set.ids();
  require(ids.size() == set.count(), "count() disagrees with ids()");
  for (std::size_t i = 0; i < ids.size(); ++i) {
    require(ids[i] < limit, "id at or above the limit", std::to_string(ids[i]));
    require(set.contains(ids[i]), "contains() misses an id of ids()");
    if (i) require(ids[i - 1] < ids[i], "ids() not strictly ascending");
  }
  require(set.empty() == ids.empty(), "empty() disagrees with ids()");
  if (!ids.empty()) {
    require(set.first() == ids.front() && set.last() == ids.back(), "first()/last() wrong");
  }
  const std::string text = set.format();
  auto again = CpuSet::parse(text, "format", limit);
  require(again.ok(), "format() does not re-parse", text);
  require(*again == set, "format() re-parses to another set", text);
  require(again->format() == text, "format() is not canonical", text);
  require(CpuSet::from_ids(ids) == set, "from_ids(ids()) differs");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  // Small limits reach the "beyond the machine" branch; the default one the kMaxSetId bound.
  const unsigned limit = input.ConsumeBool() ? input.ConsumeIntegralInRange<unsigned>(1, 300)
                                             : xeonplace::kMaxSetId + 1;
  const std::string first = input.ConsumeRandomLengthString(512);
  const std::string second = input.ConsumeRemainingBytesAsString();

  auto a = CpuSet::parse(first, "XEONRUN_CORE_LIST", limit);
  auto b = CpuSet::parse(second, "XEONRUN_MEM_NODES", limit);
  if (!a) require_one_line(a.error());
  if (!b) require_one_line(b.error());
  if (a) check_set(*a, limit);
  if (b) check_set(*b, limit);
  if (!a || !b) return 0;

  const CpuSet both = *a | *b;
  const CpuSet common = *a & *b;
  const CpuSet only_a = a->minus(*b);
  require(a->is_subset_of(both) && b->is_subset_of(both), "union misses a member");
  require(common.is_subset_of(*a) && common.is_subset_of(*b), "intersection too large");
  require((only_a & *b).empty(), "difference keeps a member of the other set");
  require((only_a | common) == *a, "difference and intersection do not rebuild the set");
  require(both.count() == a->count() + b->count() - common.count(), "inclusion-exclusion");
  check_set(both, limit);
  check_set(common, limit);
  check_set(only_a, limit);

  CpuSet edited = *a;
  for (unsigned id : b->ids()) edited.add(id);
  require(edited == both, "add() differs from union");
  for (unsigned id : b->ids()) edited.remove(id);
  require(edited == only_a, "remove() differs from minus()");
  return 0;
}
