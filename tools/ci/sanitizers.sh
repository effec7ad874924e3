#!/usr/bin/env bash
# Builds xeonplace with AddressSanitizer + UndefinedBehaviorSanitizer and runs the tests that can
# run under them:
#   - unit (GoogleTest on src/core and src/sys) and spawn-units (xeonrun-spawn's pure parts);
#   - integration: its driver puts the sanitizer runtimes first in LD_PRELOAD by itself;
#   - hostile: the ASan-built libxeonplace.so preloaded into real, uninstrumented programs
#     (/bin/true, C probes, unshare/sh) with the ASan runtime first in LD_PRELOAD, which ASan
#     requires when the program itself is not instrumented.
# The chainload, launchers and spawn-processes suites preload the library into programs and
# launchers with an LD_PRELOAD of their own (no runtime in front) and re-exec; they run in the
# normal build only. UB is fatal (halt_on_error) and leaks fail the unit tests.
#
#   tools/ci/sanitizers.sh [BUILD_DIR]     default BUILD_DIR: build-asan at the top of the tree
set -euo pipefail

top="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$top/build-asan}"

if [[ ! -f $build/build.ninja ]]; then
  meson setup "$build" "$top" -Dvm_tests=false -Dwerror=true \
    -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
ninja -C "$build" -j2 >&2

export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export ASAN_OPTIONS="detect_leaks=1:strict_string_checks=1:check_initialization_order=1"
meson test -C "$build" --print-errorlogs --num-processes 2 --suite unit
meson test -C "$build" --print-errorlogs spawn-units
# Leak checking off in placed programs: see the hostile run below.
ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" \
  meson test -C "$build" --print-errorlogs --num-processes 2 --suite integration \
    --no-suite integration-plain

# In uninstrumented programs: the runtime goes first, and ASan must not insist on being linked
# into the executable. Leak checking is off there: the front dlclose()s the engine after placing,
# and the 72704-byte emergency exception pool of the engine's static libstdc++ (allocated once,
# never freed by design) then shows up as a leak from "<unknown module>" that no suppression can
# name; LeakSanitizer also needs /proc, which one case removes. Leaks of our code are checked by
# the unit tests above, which link the same core and sys code.
XP_PRELOAD_FIRST="$(gcc -print-file-name=libasan.so)" \
ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0:detect_leaks=0" \
  meson test -C "$build" --print-errorlogs --num-processes 1 --suite hostile
