#!/usr/bin/env python3
"""Launch-and-wait cost of N really placed ranks on a 32-CPU machine: a QEMU guest.

usage: bench_spawn_vm.py --build-dir BUILD [--reps R] [--ns 2,32] [--save-dir DIR]

bench_spawn.py measures on the build machine, which has 2 CPUs: 32 ranks can only be planned there
on a synthetic topology, not placed, so its 32-rank figure with the library in each rank measures a
dry run (the engine loads and logs in every rank), not what a placed rank costs. This benchmark
boots a TCG guest of 2 sockets x 16 cores (2 NUMA nodes, 32 CPUs) with the tests' QEMU harness
(tests/vm/xeonvm_guest.py) and times, inside it, interleaved rep by rep (tools/bench/launch_timer.c,
every variant one `/bin/sh -c` of busybox):

  numactl       N x `numactl -C <i> -m <node of i> /usr/bin/true &`, then `wait`
  numactl+rt    the same with LD_PRELOAD=tcmalloc:libiomp5 (what spawn+lib+rt's ranks preload)
  spawn         exec xeonrun-spawn --library '' --ninstances N, placement only: the spawner
                applies each rank's CPUs and memory policy between fork and exec, no library
  spawn+lib     the same with libxeonplace.so preloaded in every rank: the library confirms the
                handed placement in its front, without loading the engine (design.md section 4)
  spawn+lib+rt  the same with the defaults: the allocator and LLVM OpenMP preloaded in each rank
  dry-run       xeonrun-spawn --dry-run: the spawner discovering the machine and planning, no rank

/usr/bin/true is Debian's (dynamic: busybox's would never load the library). Before timing, the
guest runs 32 ranks of `cat /proc/self/status /proc/self/maps` and `env` under spawn+lib, and the
host checks that every rank was placed on its own CPUs, has the library mapped, has NOT mapped
the engine (the front's fast path) and was told its CPUs (XEONRUN_PLACED_CPUS).

TCG translates every guest instruction: a launch costs ~10x what it costs on hardware, and code
run once (a dynamic loader resolving a library's relocations) weighs more than it would. Both
sides of each ratio pay that alike; compare ratios, not milliseconds. The guest's CPU times are not
printed: 32 vCPU threads share the host's CPUs, and the guest charges the time a vCPU waited on the
host to whatever process it was running (a numactl of /usr/bin/true "used" a second).
"""

import argparse
import os
import re
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "vm"))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from xeonvm_guest import (GUEST_DUMP, HostSetupError, Initramfs, QemuTopology,  # noqa: E402
                          boot_retrying_once, find_host_tools)

CORES_PER_SOCKET = 16
TOPOLOGY = QemuTopology(smp="32,sockets=2,cores=16,threads=1",
                        nodes=[(384, "0-15"), (384, "16-31")])
TRUE = "/usr/bin/true"
RT_LIBRARIES = ["/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4", "/usr/lib/x86_64-linux-gnu/libiomp5.so"]
CHECK_RANKS = 32


def variants(n, spawn, library):
    shell = " ".join(f"numactl -C {i} -m {i // CORES_PER_SOCKET} {TRUE} &" for i in range(n))
    placement_only = "--use-default-allocator --disable-iomp"
    launch = f"--ninstances {n} --no-python {TRUE}"
    return {
        "numactl": f"{shell} wait",
        "numactl+rt": f"export LD_PRELOAD={':'.join(RT_LIBRARIES)}; {shell} wait",
        "spawn": f"exec {spawn} --library '' {placement_only} {launch}",
        "spawn+lib": f"exec {spawn} --library {library} {placement_only} {launch}",
        "spawn+lib+rt": f"exec {spawn} --library {library} {launch}",
        # the spawner's own fixed cost: discovering the guest and planning, nothing launched
        "dry-run": f"exec {spawn} --dry-run {placement_only} {launch}",
    }


def guest_script(spawn, library, timer, ns, reps):
    lines = [f"{n}-{name}\t{command}" for n in ns for name, command in
             variants(n, spawn, library).items()]
    check = f"{spawn} --library {library} --use-default-allocator --disable-iomp " \
            f"--ninstances {CHECK_RANKS} --no-python"
    return "\n".join([
        "set -u",
        "mkdir -p /tmp/out /tmp/err",
        "cat > /tmp/variants <<'EOF'", *lines, "EOF",
        "nproc > /tmp/out/nproc.txt",
        f"{check} /usr/bin/cat /proc/self/status /proc/self/maps > /tmp/out/check-proc.txt 2>&1",
        f"{check} /usr/bin/env > /tmp/out/check-env.txt 2>&1",
        # one untimed round first: the page cache and TCG's translation cache warm up alike
        f"{timer} 1 /tmp/variants /tmp/err > /dev/null",
        f"{timer} {reps} /tmp/variants /tmp/err > /tmp/out/times.txt",
        "for f in /tmp/err/*.err; do [ -s \"$f\" ] && cp \"$f\" /tmp/out/; done",
        GUEST_DUMP,
    ]) + "\n"


def by_rank(text):
    ranks = {}
    for line in (text or "").splitlines():
        m = re.match(r"\[run(\d+)\] (.*)$", line)
        if m:
            ranks.setdefault(int(m.group(1)), []).append(m.group(2))
    return ranks


def check_fast_path(files, library):
    """What the check ranks show: problems found, as sentences (empty: all held)."""
    proc = by_rank(files.get("/tmp/out/check-proc.txt"))
    env = by_rank(files.get("/tmp/out/check-env.txt"))
    problems, cpu_sets = [], set()
    if len(proc) != CHECK_RANKS or len(env) != CHECK_RANKS:
        problems.append(f"{len(proc)} and {len(env)} of {CHECK_RANKS} ranks printed anything")
    for rank, lines in sorted(proc.items()):
        allowed = next((line.split()[1] for line in lines
                        if line.startswith("Cpus_allowed_list:")), None)
        told = next((line.split("=", 1)[1] for line in env.get(rank, [])
                     if line.startswith("XEONRUN_PLACED_CPUS=")), None)
        cpu_sets.add(allowed)
        if not any(line.endswith("/" + os.path.basename(library)) for line in lines):
            problems.append(f"rank {rank}: libxeonplace.so is not mapped")
        if any("libxeonplace-engine.so" in line for line in lines):
            problems.append(f"rank {rank}: the engine is mapped (no fast path)")
        if told is None or told != allowed:
            problems.append(f"rank {rank}: runs on {allowed}, told XEONRUN_PLACED_CPUS={told}")
    if len(cpu_sets) != len(proc):
        problems.append(f"{len(proc)} ranks ran on {len(cpu_sets)} distinct CPU sets")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--reps", type=int, default=11)
    ap.add_argument("--ns", default="2,32")
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--save-dir", help="keep the guest's console and files here")
    args = ap.parse_args()
    build = os.path.abspath(args.build_dir)
    spawn = os.path.join(build, "tools", "spawn", "xeonrun-spawn")
    library = os.path.join(build, "src", "shim", "libxeonplace.so")
    engine = os.path.join(build, "src", "shim", "libxeonplace-engine.so")
    timer = os.path.join(build, "tools", "bench", "launch_timer")
    ns = [int(n) for n in args.ns.split(",")]
    if any(n < 1 or n > 32 for n in ns):
        sys.exit("bench_spawn_vm: --ns takes rank counts from 1 to 32 (the guest has 32 CPUs)")
    for path in (spawn, library, engine, timer):
        if not os.path.exists(path):
            sys.exit(f"bench_spawn_vm: {path} not found: build it first (ninja -C {build})")
    try:
        tools = find_host_tools()
    except HostSetupError as e:
        sys.exit(f"bench_spawn_vm: {e}")
    root = Initramfs(tools)
    with tempfile.TemporaryDirectory() as tmp:
        initrd = os.path.join(tmp, "initrd.cpio")
        try:
            for path in (spawn, library, engine, timer, "/usr/bin/numactl", TRUE, "/usr/bin/cat",
                         "/usr/bin/env", *RT_LIBRARIES):
                root.add_file(path)
            root.add_text("/guest-script.sh", guest_script(spawn, library, timer, ns, args.reps))
            root.pack(initrd)
        finally:
            root.cleanup()
        result = boot_retrying_once(tools, initrd, TOPOLOGY, args.timeout, "bench-spawn-vm")
    if args.save_dir:
        os.makedirs(args.save_dir, exist_ok=True)
        with open(os.path.join(args.save_dir, "console.txt"), "w") as f:
            f.write(result.console)
    if result.exit_code is None or "/tmp/out/times.txt" not in result.files:
        tail = "\n".join(result.console.splitlines()[-30:])
        sys.exit(f"bench_spawn_vm: the guest did not finish (timed out: {result.timed_out}):\n{tail}")

    wall, statuses = {}, {}
    for line in result.files["/tmp/out/times.txt"].splitlines():
        name, _, wall_ns, _, status = line.split()
        wall.setdefault(name, []).append(int(wall_ns) / 1e6)
        statuses.setdefault(name, set()).add(int(status))
    nproc = result.files.get("/tmp/out/nproc.txt", "?").strip()
    print(f"launch and wait for N ranks of {TRUE} in a QEMU TCG guest ({TOPOLOGY.smp}, "
          f"2 nodes, {nproc} CPUs online); medians of {args.reps} interleaved runs; "
          f"boot {result.boot_seconds:.1f} s, guest run {result.total_seconds:.0f} s; host load "
          f"{os.getloadavg()[0]:.1f}")
    problems = check_fast_path(result.files, library)
    print(f"check, {CHECK_RANKS} ranks under spawn+lib: " +
          ("every rank on its own CPUs, told them, library mapped, engine not mapped"
           if not problems else "FAILED: " + "; ".join(problems[:6])))
    print(f"{'variant':<13} {'N':>3} {'median ms':>10} {'min ms':>8} {'max ms':>8} {'exit':>6}")
    for n in ns:
        for name in variants(n, spawn, library):
            key = f"{n}-{name}"
            if key not in wall:
                continue
            print(f"{name:<13} {n:>3} {statistics.median(wall[key]):>10.1f} "
                  f"{min(wall[key]):>8.1f} {max(wall[key]):>8.1f} "
                  f"{','.join(str(s) for s in sorted(statuses[key])):>6}")
    print("\nratios of medians (issue #13: spawn+lib <= 1.15 x numactl at N=2, no worse than "
          "numactl at N=32; spawn+lib+rt <= 1.15 x numactl+rt)")
    for n in ns:
        parts = []
        for name, base in (("spawn", "numactl"), ("spawn+lib", "numactl"),
                           ("spawn+lib+rt", "numactl+rt")):
            a, b = f"{n}-{name}", f"{n}-{base}"
            if a in wall and b in wall:
                parts.append(f"{name}/{base} "
                             f"{statistics.median(wall[a]) / statistics.median(wall[b]):.2f}")
        print(f"N={n:<3} " + "  ".join(parts))
    failed = sorted(k for k, s in statuses.items() if s != {0})
    for key in failed:
        err = result.files.get(f"/tmp/out/{key}.err", "").strip().splitlines()
        print(f"  {key} exited {sorted(statuses[key])}: {err[-1][:160] if err else ''}")
    return 1 if problems or failed else 0


if __name__ == "__main__":
    sys.exit(main())
