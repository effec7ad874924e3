#!/usr/bin/env python3
"""Launch-and-wait cost of N ranks of /bin/true: xeonrun-spawn vs numactl from a shell vs run_cpu.

usage: bench_spawn.py [--spawn PATH] [--library PATH] [--reps R] [--ns 1,2,8,32]

Every variant is one child process timed from fork to its exit; its peak RSS comes from one extra
untimed run under GNU time. Runs are interleaved (rep by rep, N by N,
variant by variant) so drift hits every variant alike; medians are printed with ratios.

Variants:
  numactl      bash: N x `numactl -C <i mod cpus> -m 0 /bin/true &`, then `wait`
  numactl+rt   the same with LD_PRELOAD=tcmalloc:libiomp5 (what spawn+lib+rt's ranks preload)
  spawn        xeonrun-spawn --library '' on a synthetic 32-core topology, placement only (the
               launcher alone: planning, fork/exec, pipes, poll, summary; works for every N on a
               2-CPU machine). Placement only, as numactl: with the defaults every rank would also
               preload the allocator and OpenMP runtime (libtcmalloc, libiomp5 and libstdc++:
               ~1.5 ms per /bin/true, measured), which numactl's /bin/true does not load
  spawn+lib    xeonrun-spawn with libxeonplace.so preloaded, planned on this machine, placement
               only (--use-default-allocator --disable-iomp: CPUs and memory policy, what numactl
               -C -m does); only the N this machine's cores allow (more ranks than cores is
               run_cpu's error)
  spawn+lib+rt the same with the defaults: the library also re-executes each rank with an
               allocator and LLVM OpenMP preloaded, as run_cpu's environment does
  spawn+lib/s  placement only on the synthetic topology with --disable-taskset
               --disable-numactl: each rank gets a fixture's plan it cannot apply, so the library
               loads the engine and logs a dry run in every rank. Not what a placed rank costs
               (its front confirms the placement without the engine): 32 really placed ranks are
               measured in a 32-CPU QEMU guest by bench_spawn_vm.py (ninja -C build bench-spawn-vm)
  run_cpu      /usr/bin/python3 -m torch.backends.xeon.run_cpu --ninstances N --no_python /bin/true
               (Debian python3-torch 1.13); its exit status is recorded, it fails above 2 ranks here
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

SYNTHETIC = "synthetic:package:2 core:16 pu:1"
# What `auto` and `intel` find on Debian 12 (libgoogle-perftools4, libomp-14-dev).
RT_PRELOAD = "/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4:/usr/lib/x86_64-linux-gnu/libiomp5.so"


def cpu_of_children():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv, env=None):
    """(seconds, CPU seconds, exit status, stderr) of one child, stdout discarded. The CPU time
    (user + system of the launcher and every process it waited for) is what the launch costs the
    machine, and depends less on what else runs than the wall time does. run_cpu writes ./logs and
    refuses a non-empty one, so every run gets a fresh working directory."""
    with tempfile.TemporaryDirectory() as cwd:
        cpu = cpu_of_children()
        start = time.perf_counter()
        r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=cwd)
        elapsed = time.perf_counter() - start
        cpu = cpu_of_children() - cpu
    return elapsed, cpu, r.returncode, r.stderr.decode(errors="replace")


def peak_rss_mib(argv, env=None):
    """Peak RSS of the launcher and the processes it waited for, through GNU time (a separate,
    untimed run: measured from python, a child's peak would include python's pre-exec copy)."""
    if not os.path.exists("/usr/bin/time"):
        return float("nan")
    with tempfile.TemporaryDirectory() as cwd:
        r = subprocess.run(["/usr/bin/time", "-f", "%M"] + argv, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, env=env, cwd=cwd, text=True)
    try:
        return int(r.stderr.strip().splitlines()[-1]) / 1024.0
    except (ValueError, IndexError):
        return float("nan")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--spawn", default=os.environ.get("XEONRUN_SPAWN", ""))
    ap.add_argument("--library", default=os.environ.get("XEONPLACE_SHIM", ""))
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--run-cpu-reps", type=int, default=3)
    ap.add_argument("--ns", default="1,2,8,32")
    args = ap.parse_args()
    if not args.spawn:
        sys.exit("bench_spawn: pass --spawn PATH (the xeonrun-spawn executable) or set XEONRUN_SPAWN")
    args.spawn = os.path.abspath(args.spawn)
    if args.library:
        args.library = os.path.abspath(args.library)
    ns = [int(n) for n in args.ns.split(",")]
    ncpus = os.cpu_count() or 1
    env = {k: v for k, v in os.environ.items() if not k.startswith("XEONRUN_")}
    have_lib = bool(args.library) and os.path.exists(args.library)
    have_run_cpu = subprocess.run(["/usr/bin/python3", "-c", "import torch.backends.xeon.run_cpu"],
                                  capture_output=True).returncode == 0

    placement_only = ["--use-default-allocator", "--disable-iomp"]

    def variants(n):
        shell = " ".join(f"numactl -C {i % ncpus} -m 0 /bin/true &" for i in range(n)) + " wait"
        out = {"numactl": ["bash", "-c", shell],
               # the same with the libraries spawn+lib+rt's ranks preload (issue #13's target)
               "numactl+rt": ["bash", "-c", f"export LD_PRELOAD={RT_PRELOAD}; {shell}"],
               "spawn": [args.spawn, "--library", "", "--topology", SYNTHETIC, *placement_only,
                         "--ninstances", str(n), "--no-python", "/bin/true"]}
        if have_lib:
            if n <= ncpus:
                out["spawn+lib"] = [args.spawn, "--library", args.library, *placement_only,
                                    "--ninstances", str(n), "--no-python", "/bin/true"]
                out["spawn+lib+rt"] = [args.spawn, "--library", args.library, "--ninstances",
                                       str(n), "--no-python", "/bin/true"]
            out["spawn+lib/s"] = [args.spawn, "--library", args.library, "--topology", SYNTHETIC,
                                  *placement_only, "--disable-taskset", "--disable-numactl",
                                  "--ninstances", str(n), "--no-python", "/bin/true"]
        if have_run_cpu:
            out["run_cpu"] = ["/usr/bin/python3", "-m", "torch.backends.xeon.run_cpu",
                              "--ninstances", str(n), "--no_python", "/bin/true"]
        return out

    samples, cpu, statuses, rss, errors = {}, {}, {}, {}, {}
    load_before = os.getloadavg()[0]
    for rep in range(args.reps):
        for n in ns:
            for name, argv in variants(n).items():
                if name == "run_cpu" and rep >= args.run_cpu_reps:
                    continue
                seconds, cpu_seconds, status, err = timed(argv, env)
                samples.setdefault((name, n), []).append(seconds)
                cpu.setdefault((name, n), []).append(cpu_seconds)
                statuses.setdefault((name, n), set()).add(status)
                if rep == 0:
                    rss[(name, n)] = peak_rss_mib(argv, env)
                if status != 0 and err.strip():
                    errors[(name, n)] = err.strip().splitlines()[-1][:160]

    names = ["numactl", "numactl+rt", "spawn", "spawn+lib", "spawn+lib+rt", "spawn+lib/s",
             "run_cpu"]
    print(f"launch and wait for N ranks of /bin/true; medians of {args.reps} interleaved runs "
          f"(run_cpu: {args.run_cpu_reps}); {ncpus} CPUs")
    print(f"1-minute load average: {load_before:.1f} before, {os.getloadavg()[0]:.1f} after "
          "(other processes share the CPUs: compare the ratios, and the CPU times)")
    print(f"{'variant':<12} {'N':>3} {'median ms':>10} {'min ms':>8} {'CPU ms':>8} "
          f"{'peak RSS MiB':>12} {'exit':>6}")
    for n in ns:
        for name in names:
            if (name, n) not in samples:
                continue
            s = samples[(name, n)]
            st = ",".join(str(x) for x in sorted(statuses[(name, n)]))
            c = statistics.median(cpu[(name, n)])
            print(f"{name:<12} {n:>3} {statistics.median(s) * 1e3:>10.2f} {min(s) * 1e3:>8.2f} "
                  f"{c * 1e3:>8.2f} {rss[(name, n)]:>12.1f} {st:>6}")
    print("\nratios of medians (targets: spawn <= 1.5 x numactl, spawn <= 1/100 of run_cpu)")
    for n in ns:
        med = {name: statistics.median(samples[(name, n)]) for name in names if (name, n) in samples}
        parts = []
        for name in ("spawn", "spawn+lib", "spawn+lib+rt", "spawn+lib/s"):
            if name not in med:
                continue
            base = "numactl+rt" if name == "spawn+lib+rt" else "numactl"
            cpu_ratio = statistics.median(cpu[(name, n)]) / statistics.median(cpu[(base, n)])
            parts.append(f"{name}/{base} {med[name] / med[base]:.2f} (CPU {cpu_ratio:.2f})")
            if "run_cpu" in med:
                parts.append(f"{name}/run_cpu 1/{med['run_cpu'] / med[name]:.0f}")
        print(f"N={n:<3} " + "  ".join(parts))
    if errors:
        print("\nfailures (last stderr line):")
        for (name, n), line in sorted(errors.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            print(f"  {name} N={n}: {line}")


if __name__ == "__main__":
    main()
