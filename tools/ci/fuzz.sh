#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (ASan + UBSan + coverage), replays every
# seed corpus (the regression inputs of crashes found so far), then fuzzes each target for a
# bounded time. Any crash, leak, UB report, timeout or out-of-memory fails the script and leaves
# the reproducer under the output directory.
#
#   tools/ci/fuzz.sh [BUILD_DIR]       default BUILD_DIR: build-fuzz at the top of the tree
#   FUZZ_SECONDS=25                    seconds per target (default 25)
#   FUZZ_SEED=1                        libFuzzer's -seed (default 1: CI runs start the same search,
#                                      though coverage feedback makes it drift: two fuzz_planner
#                                      runs with one seed parted after ~180 inputs; 0 lets libFuzzer
#                                      pick a seed, for longer campaigns)
#   FUZZ_TARGETS="cpuset planner"      a subset (default: all)
#   FUZZ_MERGE=1                       also merge new interesting inputs into tests/fuzz/corpus/
#
# Needs clang-14 and libclang-rt-14-dev (Debian's libFuzzer lives there; libfuzzer-14-dev is only
# the standalone archive and is not needed).
set -euo pipefail

top="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$top/build-fuzz}"
seconds="${FUZZ_SECONDS:-25}"
seed="${FUZZ_SEED:-1}"
targets=(${FUZZ_TARGETS:-cpuset options launcher lscpu hwloc_xml planner handed_reader})
corpus_root="$top/tests/fuzz/corpus"
out="$build/fuzz-out"

if [[ ! -f $build/build.ninja ]]; then
  CC=clang CXX=clang++ meson setup "$build" "$top" \
    -Dfuzzing=true -Dvm_tests=false -Dwerror=true \
    -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
else
  meson configure "$build" -Dfuzzing=true >/dev/null
fi
ninja -C "$build" -j2 "${targets[@]/#/tests/fuzz/fuzz_}" >&2

# UB is a finding, not a message: stop at the first report with a stack.
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:symbolize=1"
# Known leaks inside libhwloc only (see the file); ours are never suppressed.
export LSAN_OPTIONS="suppressions=$top/tests/fuzz/lsan.supp:print_suppressions=0"

rm -rf "$out"
mkdir -p "$out"
status=0
summary=()
for t in "${targets[@]}"; do
  exe="$build/tests/fuzz/fuzz_$t"
  seeds="$corpus_root/$t"
  work="$out/$t/corpus"
  mkdir -p "$work" "$out/$t/artifacts"
  # 1. Regressions: every seed must pass.
  if ! "$exe" -runs=0 "$seeds" >"$out/$t/replay.log" 2>&1; then
    echo "fuzz: $t: a seed input fails (see $out/$t/replay.log)" >&2
    tail -n 30 "$out/$t/replay.log" >&2
    status=1
    continue
  fi
  # 2. Bounded fuzzing from the seeds; new inputs go to the scratch corpus only.
  dict=()
  [[ $t == options || $t == launcher ]] && dict=(-dict="$top/tests/fuzz/env.dict")
  if "$exe" "$work" "$seeds" "${dict[@]}" -seed="$seed" -max_total_time="$seconds" -timeout=10 \
      -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 -artifact_prefix="$out/$t/artifacts/" \
      >"$out/$t/fuzz.log" 2>&1; then
    result=ok
  else
    result=FAILED
    status=1
    echo "fuzz: $t: finding (reproducer in $out/$t/artifacts/):" >&2
    grep -a -E "invariant broken|ERROR:|SUMMARY|runtime error" "$out/$t/fuzz.log" | head -n 10 >&2
    # The output directory dies with a CI machine: the reproducer goes to the log too, so a
    # finding can be replayed from the log alone (base64 -d > FILE; fuzz_$t FILE).
    for artifact in "$out/$t/artifacts/"*; do
      [[ -f $artifact ]] || continue
      echo "fuzz: $t: reproducer $(basename "$artifact")," \
        "$(stat -c %s "$artifact") bytes, base64:" >&2
      base64 -w 96 "$artifact" >&2
    done
  fi
  execs=$(grep -a -o 'stat::number_of_executed_units: [0-9]*' "$out/$t/fuzz.log" | awk '{print $2}' ||
    true)
  summary+=("$(printf '%-10s %-7s %10s executions in %ss, seed %s' "$t" "$result" "${execs:-?}" \
    "$seconds" "$seed")")
  if [[ ${FUZZ_MERGE:-0} == 1 && $result == ok ]]; then
    "$exe" -merge=1 "$seeds" "$work" >"$out/$t/merge.log" 2>&1
  fi
done

printf 'fuzz: %s\n' "${summary[@]}"
exit "$status"
