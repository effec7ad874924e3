#!/usr/bin/env python3
"""What chain-loading costs and buys (issue #4).

    bench_chainload.py --library BUILD/src/shim/libxeonplace.so --malloc-threads BUILD/.../malloc_threads
                       [--runs 200] [--malloc-runs 7]

1. Start-up: placement + re-exec added to /bin/true and to `python3 -c pass`, side by side with the
   launcher equivalent `LD_PRELOAD=<same libraries> numactl -C <cpus> -m 0 PROGRAM` (what run_cpu
   starts). Variants are spawned round-robin (interleaved) so machine noise hits each alike; the
   figure is the median wall time of spawn+wait seen by this parent. Target: xeonplace <= numactl
   + 1 ms.
2. Throughput: malloc_threads under glibc, under an allocator preloaded directly (alone, and with
   numactl as run_cpu starts it), and under the same allocator chain-loaded by libxeonplace.so
   (placement + re-exec), interleaved, median ops per CPU second (on a shared machine the wall
   figure measures the neighbours; both are printed). An explicit jemalloc gets run_cpu's
   MALLOC_CONF when chained, so the direct runs get it too. Target: chained / direct >= 0.97; the
   speedup over glibc is reported too.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

MULTIARCH = "/usr/lib/x86_64-linux-gnu"
ALLOCATORS = {"tcmalloc": MULTIARCH + "/libtcmalloc.so.4",
              "jemalloc": MULTIARCH + "/libjemalloc.so.2"}
IOMP = MULTIARCH + "/libiomp5.so"


def base_env():
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("XEONRUN_", "OMP_", "KMP_")) and k not in (
                "LD_PRELOAD", "MALLOC_CONF", "LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_RANK",
                "MPI_LOCALRANKID", "SLURM_LOCALID")}


def spawn_ms(argv, env):
    devnull = os.open(os.devnull, os.O_RDWR)
    start = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=[
        (os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)])
    _, status = os.waitpid(pid, 0)
    elapsed = (time.perf_counter() - start) * 1e3
    os.close(devnull)
    if status != 0:
        sys.exit(f"{' '.join(argv)} failed (status {status})")
    return elapsed


def startup(library, program, runs):
    numactl = shutil.which("numactl")
    cpus = ",".join(str(c) for c in sorted(os.sched_getaffinity(0)))
    libs = ALLOCATORS["tcmalloc"] + ":" + IOMP  # what `auto` + `intel` chain-load here
    env = base_env()
    variants = {
        "plain": (program, env),
        "numactl+LD_PRELOAD": ([numactl, "-C", cpus, "-m", "0"] + program,
                               {**env, "LD_PRELOAD": libs}),
        "xeonplace placed, no libs": (program, {**env, "LD_PRELOAD": library,
                                                "XEONRUN_NINSTANCES": "1",
                                                "XEONRUN_ALLOCATOR": "default",
                                                "XEONRUN_OMP_RUNTIME": "default"}),
        "xeonplace placed + re-exec": (program, {**env, "LD_PRELOAD": library,
                                                 "XEONRUN_NINSTANCES": "1"}),
    }
    times = {name: [] for name in variants}
    for _ in range(5):  # warm the page cache
        for argv, e in variants.values():
            spawn_ms(argv, e)
    for _ in range(runs):
        for name, (argv, e) in variants.items():
            times[name].append(spawn_ms(argv, e))
    med = {name: statistics.median(t) for name, t in times.items()}
    print(f"\n{' '.join(program)}: median wall ms over {runs} interleaved runs")
    for name, m in med.items():
        print(f"  {name:28s} {m:7.3f} ms   (+{m - med['plain']:.3f} over plain)")
    gap = med["xeonplace placed + re-exec"] - med["numactl+LD_PRELOAD"]
    print(f"  xeonplace + re-exec - numactl+LD_PRELOAD = {gap:+.3f} ms (target <= +1 ms: "
          f"{'met' if gap <= 1.0 else 'NOT met'})")
    return med


JEMALLOC_CONF = "oversize_threshold:1,background_thread:true,metadata_thp:auto"


def throughput(library, malloc_threads, runs, threads, ops):
    env = base_env()
    program = [malloc_threads, str(threads), str(ops)]
    cpus = ",".join(str(c) for c in sorted(os.sched_getaffinity(0)))
    numactl = [shutil.which("numactl"), "-C", cpus, "-m", "0"]
    variants = {"glibc": ([], {**env})}
    for name, path in ALLOCATORS.items():
        conf = {"MALLOC_CONF": JEMALLOC_CONF} if name == "jemalloc" else {}
        variants[f"{name} direct"] = ([], {**env, **conf, "LD_PRELOAD": path})
        variants[f"{name} numactl"] = (numactl, {**env, **conf, "LD_PRELOAD": path})
        variants[f"{name} chained"] = ([], {**env, "LD_PRELOAD": library, "XEONRUN_NINSTANCES": "1",
                                            "XEONRUN_ALLOCATOR": name,
                                            "XEONRUN_OMP_RUNTIME": "default"})
    results = {name: {"ops_per_s": [], "ops_per_cpu_s": []} for name in variants}
    for _ in range(runs):
        for name, (prefix, e) in variants.items():
            out = subprocess.run(prefix + program, env=e, capture_output=True, text=True,
                                 check=True).stdout
            for line in out.splitlines():
                key, value = line.split("=", 1)
                results[name][key].append(float(value))
    med = {name: {k: statistics.median(v) for k, v in r.items()} for name, r in results.items()}
    print(f"\nmalloc_threads {threads} threads x {ops} ops: medians over {runs} interleaved runs")
    print(f"  {'':18s} {'M ops/CPU s':>12s} {'M ops/wall s':>13s}")
    for name, m in med.items():
        print(f"  {name:18s} {m['ops_per_cpu_s'] / 1e6:12.2f} {m['ops_per_s'] / 1e6:13.2f}")
    for name in ALLOCATORS:
        chained = med[f"{name} chained"]["ops_per_cpu_s"]
        for base in ("direct", "numactl"):
            ratio = chained / med[f"{name} {base}"]["ops_per_cpu_s"]
            print(f"  {name}: chained / {base} = {ratio:.3f} (target >= 0.97: "
                  f"{'met' if ratio >= 0.97 else 'NOT met'})")
        print(f"  {name}: chained / glibc = {chained / med['glibc']['ops_per_cpu_s']:.2f}x")
    return med


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--library", required=True, help="path of the built libxeonplace.so")
    parser.add_argument("--malloc-threads", required=True, help="path of malloc_threads")
    parser.add_argument("--runs", type=int, default=200, help="start-up runs per variant")
    parser.add_argument("--malloc-runs", type=int, default=7, help="throughput runs per variant")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--ops", type=int, default=2000000, help="malloc/free pairs per thread")
    parser.add_argument("--python", default="/usr/bin/python3",
                        help="the python3 to start (a real binary, not a pyenv shim)")
    args = parser.parse_args()
    for path in [args.library, args.malloc_threads, IOMP, args.python] + list(ALLOCATORS.values()):
        if not os.path.exists(path):
            sys.exit(f"missing {path}")
    if shutil.which("numactl") is None:
        sys.exit("numactl is needed for the launcher comparison")
    library = os.path.abspath(args.library)
    startup(library, ["/bin/true"], args.runs)
    startup(library, [args.python, "-c", "pass"], max(20, args.runs // 4))
    throughput(library, os.path.abspath(args.malloc_threads), args.malloc_runs, args.threads,
               args.ops)


if __name__ == "__main__":
    main()
