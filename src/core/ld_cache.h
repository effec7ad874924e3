// The dynamic loader's cache (/etc/ld.so.cache, written by ldconfig) as a value: which file each
// soname resolves to. Read in-process instead of running `ldconfig -p`, which would cost a fork and
// an exec inside someone else's process. Pure: the shell reads the bytes.
#pragma once

#include <string>
#include <vector>

namespace xeonplace {

struct LdCacheEntry {
  std::string soname;  // "libjemalloc.so.2"
  std::string path;    // "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
};

// Entries of glibc's "glibc-ld.so.cache1.1" format (alone, or after the old "ld.so-1.7.0" table
// that glibc before 2.32 wrote in front of it) for ELF libraries of this process's architecture,
// in file order. Anything malformed or truncated yields the entries read so far, never a crash.
std::vector<LdCacheEntry> parse_ld_cache(const std::string& bytes);

}  // namespace xeonplace
