#include "core/ld_cache.h"

#include <cstdint>
#include <cstring>

namespace xeonplace {
namespace {

// Layout from glibc's sysdeps/generic/dl-cache.h (a stable on-disk format).
constexpr char kOldMagic[] = "ld.so-1.7.0";           // 11 chars + NUL
constexpr char kNewMagic[] = "glibc-ld.so.cache1.1";  // magic + version, 20 bytes
constexpr std::size_t kOldHeaderSize = 16;            // magic[12], nlibs
constexpr std::size_t kOldEntrySize = 12;             // flags, key, value
constexpr std::size_t kNewHeaderSize = 48;  // magic, version, nlibs, len_strings, flags...
constexpr std::size_t kNewEntrySize = 24;   // flags, key, value, osversion, hwcap
constexpr std::uint32_t kTypeMask = 0x00ff;
constexpr std::uint32_t kElfLibc6 = 0x0003;
constexpr std::uint32_t kArchMask = 0xff00;
#if defined(__x86_64__)
constexpr std::uint32_t kThisArch = 0x0300;  // FLAG_X8664_LIB64
#elif defined(__aarch64__)
constexpr std::uint32_t kThisArch = 0x0a00;  // FLAG_AARCH64_LIB64
#else
constexpr std::uint32_t kThisArch = 0xffff;  // unknown: accept any architecture
#endif

bool read_u32(const std::string& bytes, std::size_t at, std::uint32_t& out) {
  if (at > bytes.size() || bytes.size() - at < 4) return false;
  std::memcpy(&out, bytes.data() + at, 4);
  return true;
}

// A NUL-terminated string at `at`, or empty when it runs off the end.
std::string string_at(const std::string& bytes, std::size_t base, std::uint32_t offset) {
  std::size_t at = base + offset;
  if (at >= bytes.size()) return {};
  std::size_t end = bytes.find('\0', at);
  if (end == std::string::npos) return {};
  return bytes.substr(at, end - at);
}

}  // namespace

std::vector<LdCacheEntry> parse_ld_cache(const std::string& bytes) {
  std::vector<LdCacheEntry> out;
  std::size_t start = 0;
  if (bytes.compare(0, sizeof kOldMagic - 1, kOldMagic) == 0) {
    std::uint32_t old_count = 0;
    if (!read_u32(bytes, sizeof kOldMagic, old_count)) return out;
    start = kOldHeaderSize + std::size_t{old_count} * kOldEntrySize;
    start = (start + 7) & ~std::size_t{7};  // the new table is aligned for its uint64 field
  }
  if (bytes.size() < start + kNewHeaderSize ||
      bytes.compare(start, sizeof kNewMagic - 1, kNewMagic) != 0) {
    return out;
  }
  std::uint32_t count = 0;
  if (!read_u32(bytes, start + 20, count)) return out;
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::size_t entry = start + kNewHeaderSize + std::size_t{i} * kNewEntrySize;
    std::uint32_t flags = 0, key = 0, value = 0;
    if (!read_u32(bytes, entry, flags) || !read_u32(bytes, entry + 4, key) ||
        !read_u32(bytes, entry + 8, value)) {
      break;
    }
    if ((flags & kTypeMask) != kElfLibc6) continue;
    if (kThisArch != 0xffff && (flags & kArchMask) != kThisArch) continue;
    // String offsets of the new format count from the start of its header.
    LdCacheEntry e{string_at(bytes, start, key), string_at(bytes, start, value)};
    if (!e.soname.empty() && !e.path.empty()) out.push_back(std::move(e));
  }
  return out;
}

}  // namespace xeonplace
