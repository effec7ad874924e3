// CpuSet: a set of small non-negative ids (CPU OS indices or NUMA node ids) with the
// strict list syntax of cpuset(7), numactl and hwloc: "0-3,8,10-11".
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/expected.h"

namespace xeonplace {

// Linux supports at most 8192 CPUs (CONFIG_NR_CPUS) and 1024 nodes; anything far above is a typo
// or an attack, and a bound keeps "0-4000000000" from allocating gigabytes.
inline constexpr unsigned kMaxSetId = 65535;

class CpuSet {
 public:
  CpuSet() = default;
  CpuSet(std::initializer_list<unsigned> ids);
  static CpuSet from_ids(const std::vector<unsigned>& ids);

  // Strict parse of a list such as "0-3,8". Empty text is the empty set. Rejects reversed ranges,
  // dangling commas or dashes, signs, spaces, non-digits, and ids >= limit (limit is the machine's
  // id bound when known). `what` names the input in the error message, e.g. "XEONRUN_CORE_LIST".
  static Expected<CpuSet> parse(std::string_view text, std::string_view what,
                                unsigned limit = kMaxSetId + 1);

  // Canonical list form: ascending, ranges collapsed ("0-3,8"); "" for the empty set.
  std::string format() const;

  // Grows to hold `id`; callers pass ids from parse() or a loader, which never exceed kMaxSetId.
  void add(unsigned id);
  void remove(unsigned id);
  bool contains(unsigned id) const;
  std::size_t count() const;
  bool empty() const { return count() == 0; }
  std::vector<unsigned> ids() const;  // ascending
  std::optional<unsigned> first() const;
  std::optional<unsigned> last() const;

  CpuSet operator&(const CpuSet& other) const;
  CpuSet operator|(const CpuSet& other) const;
  CpuSet minus(const CpuSet& other) const;
  bool is_subset_of(const CpuSet& other) const;
  bool operator==(const CpuSet& other) const;
  bool operator!=(const CpuSet& other) const { return !(*this == other); }

 private:
  void trim();
  std::vector<std::uint64_t> words_;
};

}  // namespace xeonplace
