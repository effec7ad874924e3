#include "core/cpu_quota.h"

#include <algorithm>
#include <charconv>

#include "core/text.h"

namespace xeonplace {
namespace {

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  return text;
}

std::optional<std::uint64_t> number(std::string_view text) {
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

std::optional<CpuQuota> quota_of(std::string_view quota, std::string_view period,
                                 const std::string& where) {
  const auto q = number(quota);
  const auto p = number(period);
  if (!q || !p || *q == 0 || *p == 0) return std::nullopt;
  return CpuQuota{*q, *p, where};
}

std::vector<std::string> strings(std::string_view list, char separator) {
  std::vector<std::string> out;
  for (std::string_view piece : split(list, separator)) {
    if (!piece.empty()) out.emplace_back(piece);
  }
  return out;
}

bool has(const std::vector<std::string>& items, const std::string& item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

// The mount of `membership`'s hierarchy: v2's, or the v1 mount whose controllers are the ones the
// membership line names.
const CgroupMount* mount_of(const CgroupMembership& membership,
                            const std::vector<CgroupMount>& mounts) {
  for (const CgroupMount& mount : mounts) {
    if (mount.v2 != membership.v2) continue;
    if (mount.v2) return &mount;
    const bool all = std::all_of(membership.controllers.begin(), membership.controllers.end(),
                                 [&](const std::string& c) { return has(mount.options, c); });
    if (all && !membership.controllers.empty()) return &mount;
  }
  return nullptr;
}

// The cgroup path below the mount's root ("" when the process's cgroup is the root or outside it).
std::string relative_path(const std::string& path, const std::string& root) {
  if (root == "/") return path == "/" ? "" : path;
  if (path == root) return "";
  if (starts_with(path, root) && path.size() > root.size() && path[root.size()] == '/') {
    return path.substr(root.size());
  }
  return "";
}

}  // namespace

unsigned quota_cpus(const CpuQuota& quota) {
  const std::uint64_t cpus = (quota.quota_us + quota.period_us - 1) / quota.period_us;
  return static_cast<unsigned>(std::clamp<std::uint64_t>(cpus, 1, 1U << 20));
}

std::string describe_cpus(const CpuQuota& quota) {
  const std::uint64_t tenths = (quota.quota_us * 10 + quota.period_us / 2) / quota.period_us;
  std::string text = std::to_string(tenths / 10);
  if (tenths % 10 != 0) text += "." + std::to_string(tenths % 10);
  return text + (tenths == 10 ? " CPU" : " CPUs");
}

std::optional<CpuQuota> parse_cpu_max(std::string_view text, const std::string& where) {
  const std::vector<std::string_view> fields = split(trimmed(text), ' ');
  if (fields.size() != 2 || fields[0] == "max") return std::nullopt;
  return quota_of(fields[0], fields[1], where);
}

std::optional<CpuQuota> parse_cfs_quota(std::string_view quota, std::string_view period,
                                        const std::string& where) {
  return quota_of(trimmed(quota), trimmed(period), where);  // "-1" is no number: no limit
}

std::optional<CpuQuota> tighter(std::optional<CpuQuota> a, std::optional<CpuQuota> b) {
  if (!a) return b;
  if (!b) return a;
  // a.quota/a.period <= b.quota/b.period; long double holds the products of two 64-bit values
  // closely enough to order two quotas.
  const long double left = static_cast<long double>(a->quota_us) * b->period_us;
  const long double right = static_cast<long double>(b->quota_us) * a->period_us;
  return left <= right ? a : b;
}

std::vector<CgroupMembership> parse_proc_cgroup(std::string_view text) {
  std::vector<CgroupMembership> out;
  for (std::string_view line : split(text, '\n')) {
    // "hierarchy-ID:controller-list:cgroup-path"; the path may itself contain ':'.
    const auto first = line.find(':');
    if (first == std::string_view::npos) continue;
    const auto second = line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    CgroupMembership membership;
    const std::string_view id = line.substr(0, first);
    const std::string_view controllers = line.substr(first + 1, second - first - 1);
    membership.v2 = id == "0" && controllers.empty();
    membership.controllers = strings(controllers, ',');
    membership.path = std::string(line.substr(second + 1));
    if (membership.path.empty() || membership.path[0] != '/') continue;
    out.push_back(std::move(membership));
  }
  return out;
}

std::vector<CgroupMount> parse_cgroup_mounts(std::string_view mountinfo) {
  std::vector<CgroupMount> out;
  for (std::string_view line : split(mountinfo, '\n')) {
    // "ID PARENT MAJ:MIN ROOT MOUNT-POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER-OPTIONS"
    const std::vector<std::string> fields = strings(line, ' ');
    const auto dash = std::find(fields.begin(), fields.end(), "-");
    if (fields.size() < 5 || dash == fields.end() || fields.end() - dash < 4) continue;
    const std::string& type = *(dash + 1);
    if (type != "cgroup" && type != "cgroup2") continue;
    CgroupMount mount;
    mount.v2 = type == "cgroup2";
    mount.root = fields[3];
    mount.mount_point = fields[4];
    mount.options = strings(*(dash + 3), ',');
    out.push_back(std::move(mount));
  }
  return out;
}

std::vector<QuotaDirectory> quota_directories(const std::vector<CgroupMembership>& memberships,
                                              const std::vector<CgroupMount>& mounts) {
  std::vector<QuotaDirectory> out;
  for (const CgroupMembership& membership : memberships) {
    if (!membership.v2 && !has(membership.controllers, "cpu")) continue;
    const CgroupMount* mount = mount_of(membership, mounts);
    if (mount == nullptr) continue;
    std::string relative = relative_path(membership.path, mount->root);
    while (true) {
      out.push_back({membership.v2, mount->mount_point + relative});
      if (relative.empty()) break;
      relative.erase(relative.rfind('/'));
    }
  }
  return out;
}

}  // namespace xeonplace
