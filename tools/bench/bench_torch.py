#!/usr/bin/python3
"""PyTorch CPU inference as N instances, launched five ways side by side (issue #16).

usage:
  bench_torch.py --spawn PATH --library PATH [--reps 3] [--seconds 2] [--quick]
                 [--scenarios plain,dataloader] [--ns 1,2] [--plot FILE.png] [--json FILE]
                                 the comparison (ninja -C build bench-torch)
  bench_torch.py --worker [--seconds 2] [--dataloader] [--out DIR]
                                 one instance: prints "throughput: X items/s" and, with --out,
                                 writes DIR/<pid>.json (its latencies and peak RSS)

The workload: a small conv net followed by an MLP head, built here with a fixed seed, answers
requests of BATCH images (3 x 64 x 64, fixed input) under torch.inference_mode() for --seconds
after WARMUP requests. Scenario `dataloader`: each instance is fed by a DataLoader with
num_workers=2 over bench_dataloader.py's CPU-heavy transform (3 x 128 x 128 images); a request is
then fetching a batch and answering it.

N runs over 1, 2 and the machine's physical core count (xeonrun-spawn's one-rank plan), at most
that count. Launchers, each run of N instances started at once and waited for:
  unplaced      N x `python3 bench_torch.py --worker`, nothing set
  run_cpu       python3 -m torch.backends.xeon.run_cpu --ninstances N bench_torch.py --worker
  xeonrun-spawn xeonrun-spawn --ninstances N bench_torch.py --worker (PYTHON=this python)
  LD_PRELOAD    N x `LD_PRELOAD=libxeonplace.so XEONRUN_RANK=i XEONRUN_NINSTANCES=N python3 ...`
  numactl       N x `numactl -C <i-th slice> -m <its nodes>` with OMP_NUM_THREADS=<slice size>,
                slices cut in order from this process's affinity (the hand-written recipe)
and the limit: xeonrun-spawn --ninstances N --rank 0, one placed instance alone on its slice,
times N. Runs are interleaved (rep by rep, scenario by scenario, N by N, launchers in a rotated
order) so drift hits every launcher alike. Figures are medians over reps of: aggregate items/s
(the sum of the instances' rates), p50 and p99 of every request's latency pooled over the
instances, and the largest peak RSS of one instance (the process, not its DataLoader workers).

Needs Debian's python3-torch (/usr/bin/python3) and numactl; --plot needs python3-matplotlib.
"""
import argparse
import glob
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

BATCH = 8
IMAGE = 64
WARMUP = 3
LAUNCHERS = ["unplaced", "run_cpu", "xeonrun-spawn", "LD_PRELOAD", "numactl"]
LIMIT = "limit"
DEFAULT_PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def build_model(torch):
    """A conv net (3 convolutions) followed by an MLP head (3 linear layers); seed 0."""
    torch.manual_seed(0)
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(4), nn.Flatten(),
        nn.Linear(64 * 16, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
        nn.Linear(256, 10)).eval()


def requests(torch, dataloader):
    """An endless iterator of input batches: one fixed tensor, or a DataLoader's batches."""
    if not dataloader:
        x = torch.randn(BATCH, 3, IMAGE, IMAGE, generator=torch.Generator().manual_seed(1))
        while True:
            yield x
    from torch.utils.data import DataLoader
    import bench_dataloader  # this file's directory is on sys.path
    loader = DataLoader(bench_dataloader.heavy_transform_dataset(1 << 20), batch_size=BATCH,
                        num_workers=2)
    for x, _ in loader:
        yield x


def worker(args):
    import torch
    model = build_model(torch)
    feed = requests(torch, args.dataloader)
    latencies = []
    with torch.inference_mode():
        for _ in range(WARMUP):
            model(next(feed))
        start = time.perf_counter()
        while time.perf_counter() - start < args.seconds:
            t0 = time.perf_counter()
            model(next(feed))
            latencies.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - start
    rate = BATCH * len(latencies) / elapsed
    print(f"throughput: {rate:.2f} items/s", flush=True)
    if args.out:
        result = {"items_per_s": rate, "latencies_s": latencies,
                  "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "cpus": sorted(os.sched_getaffinity(0)), "threads": torch.get_num_threads()}
        with open(os.path.join(args.out, f"{os.getpid()}.json"), "w") as f:
            json.dump(result, f)
    os._exit(0)  # the DataLoader's workers are not waited for: they are daemons


def clean_env():
    prefixes = ("XEONRUN_", "OMP_", "KMP_", "GOMP_", "LD_PRELOAD", "MALLOC_CONF", "MKL_")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


def cpu_slices(n):
    """The numactl recipe: this process's CPUs cut in order into n equal slices, with the NUMA
    nodes each slice's CPUs belong to (from /sys, as a user writing the recipe would read them)."""
    cpus = sorted(os.sched_getaffinity(0))
    per = len(cpus) // n
    node_of = {}
    for path in glob.glob("/sys/devices/system/node/node[0-9]*/cpulist"):
        node = int(path.split("/")[-2][4:])
        for cpu in parse_list(open(path).read()):
            node_of[cpu] = node
    slices = []
    for i in range(n):
        part = cpus[i * per:(i + 1) * per]
        nodes = sorted({node_of.get(c, 0) for c in part})
        slices.append((",".join(map(str, part)), ",".join(map(str, nodes)), len(part)))
    return slices


def parse_list(text):
    out = []
    for item in text.strip().split(","):
        if item:
            lo, _, hi = item.partition("-")
            out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def physical_cores(args):
    """What xeonrun-spawn plans for one rank without SMT siblings: this machine's cores as the
    launchers count them (run_cpu refuses more instances than that)."""
    out = subprocess.run([args.spawn, "--library", args.library, "--dry-run", "--json",
                          "--ninstances", "1", "--no-python", "true"], env=clean_env(),
                         check=True, capture_output=True, text=True).stdout
    return len(json.loads(out)["ranks"][0]["cpus"])


def commands(args, launcher, n, worker_argv):
    """[(argv, env)] to start at once for one run of `launcher` with n instances."""
    base = clean_env()
    script = [os.path.abspath(__file__)] + worker_argv
    if launcher == "unplaced":
        return [([args.python] + script, base)] * n
    if launcher == "run_cpu":
        return [([args.python, "-m", "torch.backends.xeon.run_cpu", "--ninstances", str(n),
                  "--log_path", "logs"] + script, base)]
    if launcher in ("xeonrun-spawn", LIMIT):
        rank = ["--rank", "0"] if launcher == LIMIT else []
        return [([args.spawn, "--library", args.library, "--ninstances", str(n)] + rank + script,
                 dict(base, PYTHON=args.python))]
    if launcher == "LD_PRELOAD":
        return [([args.python] + script, dict(base, LD_PRELOAD=args.library, XEONRUN_RANK=str(i),
                                              XEONRUN_NINSTANCES=str(n))) for i in range(n)]
    if launcher == "numactl":
        return [(["numactl", "-C", cpus, "-m", nodes, args.python] + script,
                 dict(base, OMP_NUM_THREADS=str(count))) for cpus, nodes, count in cpu_slices(n)]
    raise ValueError(launcher)


def run_once(args, launcher, n, scenario):
    """One run: its instances' results, aggregated."""
    with tempfile.TemporaryDirectory() as tmp:
        worker_argv = ["--worker", "--seconds", str(args.seconds), "--out", tmp]
        if scenario == "dataloader":
            worker_argv.append("--dataloader")
        procs = [subprocess.Popen(argv, env=env, cwd=tmp, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
                 for argv, env in commands(args, launcher, n, worker_argv)]
        errors = [p.communicate()[1] for p in procs]
        results = [json.load(open(f)) for f in glob.glob(os.path.join(tmp, "*.json"))]
    expected = 1 if launcher == LIMIT else n
    if any(p.returncode for p in procs) or len(results) != expected:
        sys.exit(f"bench_torch: {launcher} with {n} instances failed: exit "
                 f"{[p.returncode for p in procs]}, {len(results)} results\n"
                 f"{''.join(errors)[-2000:]}")
    latencies = sorted(x for r in results for x in r["latencies_s"])
    scale = n if launcher == LIMIT else 1
    return {"items_per_s": scale * sum(r["items_per_s"] for r in results),
            "p50_ms": 1e3 * latencies[len(latencies) // 2],
            "p99_ms": 1e3 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
            "rss_mib": max(r["peak_rss_kib"] for r in results) / 1024.0,
            "threads": [r["threads"] for r in results]}


def measure(args, ns):
    samples = {}
    variants = LAUNCHERS + [LIMIT]
    for rep in range(args.reps):
        for scenario in args.scenarios:
            for n in ns:
                shift = rep % len(variants)
                for launcher in variants[shift:] + variants[:shift]:
                    r = run_once(args, launcher, n, scenario)
                    samples.setdefault((scenario, n, launcher), []).append(r)
                    print(f"  rep {rep + 1}/{args.reps} {scenario:10} N={n} {launcher:13} "
                          f"{r['items_per_s']:8.1f} items/s", file=sys.stderr, flush=True)
    return {key: {k: statistics.median(r[k] for r in runs) for k in runs[0] if k != "threads"}
            | {"runs": [r["items_per_s"] for r in runs], "threads": runs[0]["threads"]}
            for key, runs in samples.items()}


def table(summary, args, ns):
    lines = ["| scenario | N | launcher | items/s | p50 ms | p99 ms | peak RSS MiB | ÷ run_cpu "
             "| ÷ limit |",
             "|---|---|---|---|---|---|---|---|---|"]
    for scenario in args.scenarios:
        for n in ns:
            ref = summary[(scenario, n, "run_cpu")]["items_per_s"]
            limit = summary[(scenario, n, LIMIT)]["items_per_s"]
            for launcher in LAUNCHERS:
                s = summary[(scenario, n, launcher)]
                lines.append(f"| {scenario} | {n} | {launcher} | {s['items_per_s']:.1f} | "
                             f"{s['p50_ms']:.1f} | {s['p99_ms']:.1f} | {s['rss_mib']:.0f} | "
                             f"{s['items_per_s'] / ref:.2f} | {s['items_per_s'] / limit:.2f} |")
            lines.append(f"| {scenario} | {n} | limit (N × one placed instance alone) | "
                         f"{limit:.1f} | | | | {limit / ref:.2f} | 1.00 |")
    return "\n".join(lines)


def plot(summary, args, ns, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(args.scenarios), 2, figsize=(9, 3.2 * len(args.scenarios)),
                             squeeze=False)
    for row, scenario in enumerate(args.scenarios):
        for launcher in LAUNCHERS + [LIMIT]:
            style = {"linestyle": ":", "color": "grey"} if launcher == LIMIT else {"marker": "o"}
            axes[row][0].plot(ns, [summary[(scenario, n, launcher)]["items_per_s"] for n in ns],
                              label=launcher, **style)
            if launcher != LIMIT:
                axes[row][1].plot(ns, [summary[(scenario, n, launcher)]["p99_ms"] for n in ns],
                                  label=launcher, **style)
        axes[row][0].set_ylabel(f"{scenario}: items/s (sum)")
        axes[row][1].set_ylabel(f"{scenario}: p99 latency ms")
        for ax in axes[row]:
            ax.set_xticks(ns)
            ax.set_xlabel("instances N")
            ax.set_ylim(bottom=0)
            ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"bench_torch: {len(os.sched_getaffinity(0))} CPUs, medians of {args.reps} "
                 "interleaved runs", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=72)


def compare(args):
    if not args.spawn or not args.library:
        sys.exit("bench_torch: pass --spawn PATH and --library PATH (or --worker)")
    args.spawn, args.library = os.path.abspath(args.spawn), os.path.abspath(args.library)
    cores = physical_cores(args)
    ns = sorted({n for n in (args.ns or [1, 2, cores]) if n <= cores})
    print(f"bench_torch: {cores} cores, N = {ns}, scenarios {args.scenarios}, {args.reps} reps of "
          f"{args.seconds} s, load average {os.getloadavg()[0]:.1f}", file=sys.stderr)
    start = time.perf_counter()
    summary = measure(args, ns)
    print(table(summary, args, ns))
    print(f"\n{time.perf_counter() - start:.0f} s; load average at the end "
          f"{os.getloadavg()[0]:.1f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump([{"scenario": s, "n": n, "launcher": l, **v}
                       for (s, n, l), v in summary.items()], f, indent=1)
    if args.plot:
        plot(summary, args, ns, args.plot)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", action="store_true", help="run one instance (the workload)")
    ap.add_argument("--dataloader", action="store_true", help="with --worker: feed it a DataLoader")
    ap.add_argument("--out", help="with --worker: write DIR/<pid>.json")
    ap.add_argument("--seconds", type=float, default=2.0, help="timed seconds per instance")
    ap.add_argument("--spawn", default=os.environ.get("XEONRUN_SPAWN", ""))
    ap.add_argument("--library", default=os.environ.get("XEONPLACE_SHIM", ""))
    ap.add_argument("--python", default=DEFAULT_PYTHON, help="the instances' python (with torch)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--ns", type=lambda s: [int(x) for x in s.split(",")])
    ap.add_argument("--scenarios", type=lambda s: s.split(","), default=["plain", "dataloader"])
    ap.add_argument("--quick", action="store_true", help="1 rep of 1 s")
    ap.add_argument("--plot", help="draw items/s and p99 latency against N to this PNG")
    ap.add_argument("--json", help="write the medians to this file")
    args = ap.parse_args()
    if args.worker:
        worker(args)
    if args.quick:
        args.reps, args.seconds = 1, 1.0
    compare(args)


if __name__ == "__main__":
    main()
