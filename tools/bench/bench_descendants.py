#!/usr/bin/env python3
"""What the chain-loaded libraries cost a placed rank's descendants (issue #12).

    bench_descendants.py --library BUILD/src/shim/libxeonplace.so [--runs 200] [--make-runs 15]

A placed rank exports LD_PRELOAD = allocator:OpenMP runtime:libxeonplace.so, so every program it
starts (a shell's commands, make's recipes, a python subprocess) loads tcmalloc and libiomp5
again, even one that is not the rank's program. The environment measured is the one a placed rank
really hands down: captured from `env -0` run placed (re-executed with the chain-load). Variants,
spawned round-robin (interleaved) so machine noise hits each alike; medians:

  plain       no preload at all
  front only  LD_PRELOAD=libxeonplace.so + the placed variables (the front's do-nothing path)
  chained     the captured environment: what a descendant of a placed rank gets
  env -u      the captured environment without LD_PRELOAD (the README's recipe for commands
              that are not the rank's: the placement itself is inherited by the kernel)

1. Per command: spawn+wait of /bin/true, and of `sh -c :`.
2. A build: `make -B -j1` over a generated Makefile of 60 recipes, each one a shell command.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

RECIPES = 60


def base_env():
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("XEONRUN_", "OMP_", "KMP_")) and k not in (
                "LD_PRELOAD", "MALLOC_CONF", "LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_RANK",
                "MPI_LOCALRANKID", "SLURM_LOCALID")}


def placed_environment(library):
    """The environment a placed rank (auto allocator, intel runtime) hands to its children."""
    env = dict(base_env(), LD_PRELOAD=library, XEONRUN_NINSTANCES="1")
    out = subprocess.run(["/usr/bin/env", "-0"], env=env, capture_output=True, check=True).stdout
    captured = dict(e.split("=", 1) for e in out.decode().split("\0") if "=" in e)
    if "libtcmalloc" not in captured.get("LD_PRELOAD", ""):
        sys.exit(f"the placed env was not chain-loaded: LD_PRELOAD={captured.get('LD_PRELOAD')}")
    return captured


def variants(library):
    chained = placed_environment(library)
    placed_only = {k: v for k, v in chained.items() if k != "LD_PRELOAD"}
    return {
        "plain": base_env(),
        "front only": dict(placed_only, LD_PRELOAD=library),
        "chained": chained,
        "env -u": placed_only,
    }


def timed_ms(argv, env, cwd=None):
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    elapsed = (time.perf_counter() - start) * 1e3
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({done.returncode})")
    return elapsed


def interleaved(argv, envs, runs, cwd=None):
    times = {name: [] for name in envs}
    for _ in range(runs):
        for name, env in envs.items():
            times[name].append(timed_ms(argv, env, cwd))
    return {name: statistics.median(t) for name, t in times.items()}


def show(title, medians):
    plain = medians["plain"]
    print(title)
    for name, ms in medians.items():
        print(f"  {name:<11} {ms:8.2f} ms   {ms - plain:+7.2f} ms   x{ms / plain:.2f}")


def makefile(directory):
    targets = " ".join(f"t{i}" for i in range(RECIPES))
    lines = [".PHONY: all " + targets, "all: " + targets]
    for i in range(RECIPES):
        lines.append(f"t{i}:\n\t@echo {i} > /dev/null")
    with open(os.path.join(directory, "Makefile"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--library", required=True)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--make-runs", type=int, default=15)
    args = parser.parse_args()
    envs = variants(os.path.abspath(args.library))
    print(f"chained LD_PRELOAD={envs['chained']['LD_PRELOAD']}")
    show("/bin/true", interleaved(["/bin/true"], envs, args.runs))
    show("sh -c :", interleaved(["/bin/sh", "-c", ":"], envs, args.runs))
    with tempfile.TemporaryDirectory() as tmp:
        makefile(tmp)
        show(f"make -B -j1, {RECIPES} recipes",
             interleaved(["make", "-s", "-B", "-j1"], envs, args.make_runs, cwd=tmp))


if __name__ == "__main__":
    main()
