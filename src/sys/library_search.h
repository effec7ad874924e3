// Finding the libraries a rank chain-loads (issue #4), and listing what this process has mapped.
//
// Where we look, in order: an absolute path given in the variable (alone); then run_cpu's
// directories ($CONDA_PREFIX/lib, $VIRTUAL_ENV/lib, ~/.local/lib, /usr/local/lib,
// /usr/local/lib64, /usr/lib, /usr/lib64), then the multiarch directories where Debian and Ubuntu
// ship them (/usr/lib/<triplet>, /lib/<triplet>), then the loader cache /etc/ld.so.cache, which
// covers every directory ldconfig knows (ld.so.conf.d, e.g. /opt/intel/...). The cache is parsed in
// process (core/ld_cache) rather than asked of `ldconfig -p`: no fork and exec inside the host.
// Never a relative path nor the current directory: a directory from the environment that is not
// absolute is skipped. Under secure execution (AT_SECURE) only the system directories are used.
#pragma once

#include <string>
#include <vector>

#include "core/env_map.h"
#include "core/expected.h"
#include "core/preload.h"

namespace xeonplace {

struct SearchPlaces {
  std::vector<std::string> directories;  // absolute, in order, without duplicates
  std::string ld_cache_path;             // "" to skip the loader cache
};

// The places to look for this process's environment. `secure`: getauxval(AT_SECURE).
SearchPlaces library_search_places(const EnvMap& env, bool secure);

// The first file that exists for `request`: families in the request's order (tcmalloc before
// jemalloc for `auto`), and within a family each directory in order, trying every name of that
// family in it; then the loader cache. The error is the one warning line for the user: what was
// looked for, where, and which package provides it.
Expected<std::string> find_library(const LibraryRequest& request, const SearchPlaces& places);

// Paths of the objects mapped in this process (the executable's own entry, "", excluded).
std::vector<std::string> loaded_objects();

}  // namespace xeonplace
