#!/usr/bin/env bash
# The README's first command ends here: show this machine's plan, then run two ranks of a
# barrier-heavy OpenMP demo unplaced and placed, side by side, and print the ratio.
set -euo pipefail
build_dir="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build}"
spawn="$build_dir/tools/spawn/xeonrun-spawn"
demo="$build_dir/tools/demo/omp_barrier"
loops="${XEONPLACE_DEMO_LOOPS:-4000}"

echo "== This machine's plan for two ranks (xeonrun-spawn --dry-run --ninstances 2)"
"$spawn" --dry-run --ninstances 2 --no-python "$demo"

now() { date +%s.%N; }

echo
echo "== Two copies of $(basename "$demo") started side by side, unplaced"
t0=$(now)
"$demo" "$loops" & "$demo" "$loops" & wait
t1=$(now)

echo
echo "== The same two copies as two ranks of xeonrun-spawn (each placed by libxeonplace.so)"
"$spawn" --ninstances 2 --no-python "$demo" "$loops"
t2=$(now)

awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN {
  printf "\nunplaced: %.3f s   placed: %.3f s   speedup: %.1fx\n", b - a, c - b, (b - a) / (c - b) }'
