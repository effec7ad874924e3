#!/usr/bin/env python3
"""A rank whose figure depends on its placement in a known way (tests/tune/test_tune.py).

usage: fake_workload.py --best-cores T [--log FILE] [--slow-file FILE]

Prints `figure: X` where X = c / (1 + |c - T|) * allocator * omp * membind * logical, c being the
CPUs it was placed on (XEONRUN_PLACED_CPUS): summed over n ranks of c = cores / n CPUs that is
cores / (1 + |c - T|), largest when every rank has T cores. The factors: jemalloc preloaded 3,
tcmalloc 2, glibc 1; no Intel/LLVM OpenMP preloaded 1.5, else 1; memory bound 1.2, else 1; SMT
siblings asked for 0.5, else 1. So the best candidate is T cores per rank, jemalloc, the
program's own OpenMP, bind, no siblings. --log appends one line per rank (its candidate and
rank, its pid); --slow-file: when that file exists, sleep a minute before printing.
"""
import argparse
import os
import time


def cpu_count(text):
    count = 0
    for item in text.split(","):
        if item:
            lo, _, hi = item.partition("-")
            count += int(hi or lo) - int(lo) + 1
    return count


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--best-cores", type=int, required=True)
    ap.add_argument("--log")
    ap.add_argument("--slow-file")
    args = ap.parse_args()
    env = os.environ
    c = cpu_count(env.get("XEONRUN_PLACED_CPUS", ""))
    preload = env.get("LD_PRELOAD", "")
    figure = c / (1 + abs(c - args.best_cores))
    figure *= 3 if "jemalloc" in preload else 2 if "tcmalloc" in preload else 1
    figure *= 1 if ("libiomp" in preload or "libomp" in preload) else 1.5
    figure *= 1.2 if env.get("XEONRUN_PLACED_MEMBIND") == "bind" else 1
    figure *= 0.5 if env.get("XEONRUN_USE_LOGICAL_CORE") == "1" else 1
    if args.log:
        line = (f"{env.get('XEONRUN_PLACED_NRANKS')} {env.get('XEONRUN_PLACED_RANK')} {c} "
                f"{os.path.basename(preload.split(':')[0])} {preload.count(':')} "
                f"{env.get('XEONRUN_PLACED_MEMBIND')} {env.get('XEONRUN_USE_LOGICAL_CORE')} "
                f"pid={os.getpid()}\n")
        fd = os.open(args.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.write(fd, line.encode())
        os.close(fd)
    if args.slow_file and os.path.exists(args.slow_file):
        time.sleep(60)
    print(f"figure: {figure:.6f}", flush=True)


if __name__ == "__main__":
    main()
