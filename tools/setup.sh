#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for xeonplace and runs one job:
#   tools/setup.sh demo   install, build, show this machine's plan, run two ranks of a demo
#   tools/setup.sh test   install, build with warnings as errors, run every test suite
#   tools/setup.sh build  install and build only
# Idempotent: packages already installed are not fetched again.
set -euo pipefail

job="${1:-build}"
top="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${XEONPLACE_BUILD_DIR:-$top/build}"

# What `tools/setup.sh demo` installs: the build, the required libraries, and what the demo's ranks
# preload (tcmalloc and LLVM's OpenMP runtime, libomp.so.5). Nothing else: a bare machine reaches
# the demo's output after these alone.
demo_packages=(
  # build
  meson ninja-build pkg-config g++ gcc
  # required libraries
  libhwloc-dev libnuma-dev libspdlog-dev libfmt-dev
  # what the demo's ranks chain-load
  libgoogle-perftools4 libomp5-14
)

# What `build` and `test` install: the demo's packages and what the test suites need.
packages=(
  "${demo_packages[@]}"
  googletest libgtest-dev libgmock-dev
  # what placed programs chain-load, and the tools tests compare with
  libjemalloc2 libtcmalloc-minimal4 libomp-14-dev
  numactl hwloc util-linux python3 procps
  # QEMU guests with virtual sockets/SMT/NUMA (meson test --suite vm); the generic kernel, not
  # the cloud one (no NUMA emulation there)
  qemu-system-x86 linux-image-amd64 linux-image-6.12-amd64 busybox-static cpio
  # the run_cpu being replaced, for the conformance test and the launch benchmark
  python3-torch
  # thread pools other than OpenMP (issue #15): numpy on OpenBLAS, numexpr, and threadpoolctl to
  # read their sizes
  libopenblas0-pthread python3-numexpr python3-threadpoolctl
  # hardening (issue #8): clang 14 and its libFuzzer (in libclang-rt-14-dev) for tools/ci/fuzz.sh
  clang libclang-rt-14-dev
  # GNU time: peak RSS of each launcher in tools/bench/bench_spawn.py
  time
  # the plots of tools/bench/bench_torch.py --plot and xeonrun-tune --plot (issue #16)
  python3-matplotlib
  # the debugger the chainload suite runs placed programs under (issue #12)
  gdb
  # the launchers of the launchers suite (torchrun comes with python3-torch, for /usr/bin/python3)
  openmpi-bin libopenmpi-dev mpich slurm-wlm
  # the generated man pages are checked with groff -ww and man -l (tests/install, suite docs)
  groff-base man-db
  # the Python package's wheel, built offline and installed into a venv (suite python-package);
  # meson-python asks for patchelf
  python3-mesonpy python3-build python3-venv patchelf
  # the Debian packages, built, checked and installed (suite deb)
  dpkg-dev build-essential debhelper lintian git
)
[[ $job == demo ]] && packages=("${demo_packages[@]}")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

werror=false
[[ $job == test ]] && werror=true
tests=true
[[ $job == demo ]] && tests=false  # the demo builds the library, the spawner and the demo only
options=(-Dwerror=$werror -Dtests=$tests -Dvm_tests=$tests)
if [[ -f $build_dir/build.ninja ]]; then
  meson configure "$build_dir" "${options[@]}" >/dev/null
else
  meson setup "$build_dir" "$top" "${options[@]}" >/dev/null
fi
ninja -C "$build_dir" >&2

case "$job" in
  build) ;;
  test)
    # Every suite; then the suites that run real processes again on one CPU of this affinity (the
    # last), so that a test which only passes on this machine's CPUs fails here (issue #11). Its
    # own log (testlog-onecpu.json) keeps the first run's testlog.json; .ci/run counts both.
    # The suites plan from a clean slate: a shell inside a launcher's job (srun, mpirun, torchrun,
    # Flux), or one with OMP_NUM_THREADS or LD_PRELOAD exported, would otherwise hand its rank and
    # settings to every test. tests/support/runner_env.py, which every test driver starts its
    # processes with, names them (one list of prefixes for both).
    names="$(python3 "$top/tests/support/runner_env.py")"
    dropped=()
    [[ -z $names ]] || mapfile -t dropped <<<"$names"
    for name in "${dropped[@]}"; do unset "$name"; done
    ((${#dropped[@]} == 0)) || echo "setup: the tests run without ${dropped[*]}" >&2
    status=0
    meson test -C "$build_dir" --print-errorlogs --num-processes 2 || status=$?
    one_cpu="$(python3 -c 'import os; print(max(os.sched_getaffinity(0)))')"
    echo "setup: the real-process suites again under taskset -c $one_cpu" >&2
    taskset -c "$one_cpu" meson test -C "$build_dir" --no-rebuild --print-errorlogs \
      --num-processes 2 --logbase testlog-onecpu --suite integration --suite chainload \
      --suite spawn --suite hostile --suite launchers || status=$?
    # The Debian packages (issue #17): built, installed into /usr, used from there and purged,
    # alone, after the suites that use the build tree (suite deb; testlog-deb.json, which .ci/run
    # counts too).
    echo "setup: the Debian packages (meson test --suite deb)" >&2
    meson test -C "$build_dir" --no-rebuild --print-errorlogs --logbase testlog-deb --suite deb \
      || status=$?
    ((status == 0)) || exit "$status"
    # Issue #8: an ASan+UBSan build of the unit, integration and hostile suites, then a bounded
    # libFuzzer run of every parser and the planner.
    "$top/tools/ci/sanitizers.sh" "${build_dir}-asan"
    "$top/tools/ci/fuzz.sh" "${build_dir}-fuzz"
    ;;
  demo)
    exec "$top/tools/demo.sh" "$build_dir"
    ;;
  *)
    echo "setup: unknown job '$job' (accepted: demo, test, build)" >&2
    exit 2
    ;;
esac
