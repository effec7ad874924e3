#!/usr/bin/python3
"""xeonrun-tune: find the xeonrun-spawn layout under which a program does best (issue #16).

usage: xeonrun-tune (--metric REGEX | --time) [options] [--] PROGRAM [ARGS...]

Runs PROGRAM under xeonrun-spawn once per candidate layout, one candidate at a time, and ranks
the candidates by a figure of merit:
  --metric REGEX  a line of every rank's output matches REGEX, whose one group is a number (the
                  rank's last match counts); the ranks' figures are summed (throughput-like,
                  higher is better) unless --goal min, which takes their max (time-like)
  --time          the wall time of the whole run, from start to the last rank's exit (lower is
                  better)
Candidates: instances x cores per instance (whole divisions of the cores, never splitting a NUMA
node's cores across ranks unevenly), SMT siblings on/off (when the machine has them), allocator
(tcmalloc, jemalloc, glibc), OpenMP runtime (intel: libiomp5/libomp preloaded; own: the
program's own, GNU libgomp for Debian's torch), memory policy (bind, interleave, none; the first
two differ only on machines with several NUMA nodes). The machine is read from xeonrun-spawn's
own plans (--dry-run --json). When the whole grid fits the budget it is run in order of distance
from the default candidate; otherwise a coordinate search changes one dimension at a time from
the best so far (--strategy grid or coordinate forces one). The best candidates (--top) are
then re-run until each has --repeats runs and ranked by their median. Results are saved after every run to --results (JSON); a second run with
the same command resumes from it and runs no finished candidate again. Ctrl-C stops the running
candidate, prints the table of what is finished and exits 130. Bad arguments exit 2; exit 1
when no candidate gave a figure.
PROGRAM ending in .py runs as `PYTHON -u PROGRAM` (xeonrun-spawn's rule); `-m MODULE` runs a
python module; anything else gets xeonrun-spawn's --no-python.
"""
import argparse
import itertools
import json
import math
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time

VERSION = 1
ALLOCATORS = {"tcmalloc": ["--enable-tcmalloc"], "jemalloc": ["--enable-jemalloc"],
              "default": ["--use-default-allocator"]}
OMP = {"intel": [], "own": ["--disable-iomp"]}
MEMBIND = ["bind", "interleave", "none"]
TAG = re.compile(r"^\[run(\d+)\] ?(.*)$")


class Usage(Exception):
    """A bad argument: one line, exit 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise Usage(message)


def build_parser():
    """The command line; tools/tune/tune_docs.py reads it for xeonrun-tune(1) and the completion."""
    p = Parser(prog="xeonrun-tune", description=__doc__.split("\n\n")[0],
               epilog="see the module docstring or README.md (xeonrun-tune) for details")
    figure = p.add_mutually_exclusive_group()
    figure.add_argument("--metric", help="regex with one group: the figure each rank prints")
    figure.add_argument("--time", action="store_true", help="the figure is the run's wall time")
    p.add_argument("--goal", choices=["max", "min"],
                   help="max (default with --metric) or min (default with --time)")
    p.add_argument("--budget-runs", type=int, default=40, help="runs in this session (default 40)")
    p.add_argument("--budget-seconds", type=float, help="seconds in this session (default: none)")
    p.add_argument("--repeats", type=int, default=3, help="runs of each of the best (default 3)")
    p.add_argument("--top", type=int, default=3, help="how many of the best to repeat (default 3)")
    p.add_argument("--run-timeout", type=float, help="a run taking longer fails (seconds)")
    p.add_argument("--results", default="xeonrun-tune.json", help="JSON file, resumed if present")
    p.add_argument("--fresh", action="store_true", help="ignore what --results holds")
    p.add_argument("--plot", help="draw the ranked figures to this PNG (python3-matplotlib)")
    p.add_argument("--spawn", help="the xeonrun-spawn to use (default: installed beside this)")
    p.add_argument("--instances", help="only these instance counts, e.g. 1,2")
    p.add_argument("--allocators", default="tcmalloc,jemalloc,default")
    p.add_argument("--omp", default="intel,own", help="OpenMP runtimes: intel, own")
    p.add_argument("--membind", help="memory policies (default: bind,interleave,none on several "
                                     "NUMA nodes, else bind)")
    p.add_argument("--logical", help="SMT siblings: off,on (default: both when there are some)")
    p.add_argument("--strategy", choices=["auto", "grid", "coordinate"], default="auto",
                   help="auto: the whole grid when it fits the run budget, else coordinate search")
    p.add_argument("command", nargs=argparse.REMAINDER, help="PROGRAM [ARGS...]")
    return p


def parse_args(argv):
    args = build_parser().parse_args(argv)
    check_args(args)
    return args


def check_args(args):
    if args.command[:1] == ["--"]:
        args.command = args.command[1:]
    if not args.command:
        raise Usage("no PROGRAM given: xeonrun-tune --metric REGEX -- PROGRAM [ARGS...]")
    if not args.metric and not args.time:
        raise Usage("give the figure: --metric REGEX (a regex with one group) or --time")
    if args.metric is not None:
        try:
            groups = re.compile(args.metric).groups
        except re.error as e:
            raise Usage(f"--metric {args.metric!r}: not a regular expression ({e})")
        if groups != 1:
            raise Usage(f"--metric {args.metric!r}: has {groups} groups, accepted: exactly one")
    for name in ("budget_runs", "repeats", "top"):
        if getattr(args, name) < 1:
            flag = "--" + name.replace("_", "-")
            raise Usage(f"{flag} {getattr(args, name)}: accepted: an integer >= 1")
    for name in ("budget_seconds", "run_timeout"):
        value = getattr(args, name)
        if value is not None and not value > 0:
            raise Usage(f"--{name.replace('_', '-')} {value}: accepted: seconds > 0")
    if not os.path.isdir(os.path.dirname(os.path.abspath(args.results))):
        raise Usage(f"--results {args.results}: its directory does not exist")
    args.goal = args.goal or ("min" if args.time else "max")
    args.allocators = choices("--allocators", args.allocators, ALLOCATORS)
    args.omp = choices("--omp", args.omp, OMP)
    args.membind = args.membind and choices("--membind", args.membind, MEMBIND)
    if args.logical:
        args.logical = [v == "on" for v in choices("--logical", args.logical, ["off", "on"])]
    if args.instances:
        try:
            args.instances = [int(x) for x in args.instances.split(",")]
        except ValueError:
            raise Usage(f"--instances {args.instances!r}: accepted: counts like 1,2,4")


def choices(flag, text, accepted):
    values = [v for v in text.split(",") if v]
    bad = [v for v in values if v not in accepted]
    if bad or not values:
        raise Usage(f"{flag} {text!r}: accepted: a comma-separated list of {', '.join(accepted)}")
    return values


def find_spawn(args):
    """--spawn, beside this tool (installed), ../spawn/ (build tree), PATH. (Not a XEONRUN_*
    variable: xeonrun-spawn refuses the ones it does not know.)"""
    here = os.path.dirname(os.path.realpath(sys.argv[0]))
    for path in (args.spawn,
                 os.path.join(here, "xeonrun-spawn"),
                 os.path.join(here, "..", "spawn", "xeonrun-spawn"),
                 shutil.which("xeonrun-spawn")):
        if path and os.access(path, os.X_OK):
            return os.path.abspath(path)
    raise Usage("xeonrun-spawn not found: pass --spawn PATH")


# --- the machine, from xeonrun-spawn's plans -------------------------------------------------


def dry_run(spawn, flags, env=None):
    """The plan xeonrun-spawn would run with these flags, or None when it refuses them."""
    r = subprocess.run([spawn, "--dry-run", "--json"] + flags + ["--no-python", "true"],
                       capture_output=True, text=True, env=env)
    return json.loads(r.stdout) if r.returncode == 0 else None


def machine(spawn):
    """Cores, SMT siblings and NUMA nodes as xeonrun-spawn plans them, and what can be preloaded."""
    one = dry_run(spawn, ["--ninstances", "1"])
    if one is None:
        raise Usage(f"{spawn} --dry-run --json failed: cannot plan on this machine")
    logical = dry_run(spawn, ["--ninstances", "1", "--use-logical-core"])
    nodes = dry_run(spawn, ["--throughput-mode"]) or one
    preload = {}
    for name, flags in list(ALLOCATORS.items()) + [("intel", [])]:
        plan = dry_run(spawn, ["--ninstances", "1"] + flags)
        preload[name] = plan["ranks"][0]["env"].get("LD_PRELOAD", "") if plan else ""
    return {"cores": len(one["ranks"][0]["cpus"]),
            "pus": len(logical["ranks"][0]["cpus"]) if logical else len(one["ranks"][0]["cpus"]),
            "nodes": nodes["nranks"],
            "cores_per_node": min(len(r["cpus"]) for r in nodes["ranks"]),
            "has": {"tcmalloc": "tcmalloc" in preload["tcmalloc"],
                    "jemalloc": "jemalloc" in preload["jemalloc"], "default": True,
                    "intel": bool(re.search(r"lib(i)?omp", preload["intel"])), "own": True}}


def layouts(m, instances=None):
    """(instances, cores per instance) dividing the cores exactly: within one NUMA node (a
    divisor of its cores) or over whole nodes (a multiple of them)."""
    per_node, nodes = m["cores_per_node"], m["nodes"]
    sizes = {c for c in range(1, per_node + 1) if per_node % c == 0}
    sizes |= {per_node * k for k in range(1, nodes + 1) if nodes % k == 0}
    return sorted((per_node * nodes // c, c) for c in sizes
                  if not instances or per_node * nodes // c in instances)


def dimensions(m, args):
    """The search space: name -> values, the default candidate's value first."""
    return {
        "layout": layouts(m, args.instances),
        "logical": args.logical or ([False, True] if m["pus"] > m["cores"] else [False]),
        "allocator": [a for a in args.allocators if m["has"][a]],
        "omp": [o for o in args.omp if m["has"][o]],
        "membind": args.membind or (MEMBIND if m["nodes"] > 1 else ["bind"]),
    }


# --- candidates ------------------------------------------------------------------------------


def key(c):
    n, cores = c["layout"]
    return (f"{n}x{cores} logical={'on' if c['logical'] else 'off'} alloc={c['allocator']} "
            f"omp={c['omp']} membind={c['membind']}")


def spawn_flags(c):
    n, cores = c["layout"]
    flags = ["--ninstances", str(n)]
    if c["logical"]:
        flags.append("--use-logical-core")  # the planner gives each rank its cores' siblings
    else:
        flags += ["--ncores-per-instance", str(cores)]
    flags += ALLOCATORS[c["allocator"]] + OMP[c["omp"]]
    if c["membind"] == "none":
        flags.append("--disable-numactl")
    return flags


def env_prefix(c):
    """interleave has no run_cpu flag: it is the variable XEONRUN_MEMBIND."""
    return {"XEONRUN_MEMBIND": c["membind"]} if c["membind"] == "interleave" else {}


def program_part(command):
    if command[0] in ("-m", "--module", "--no-python", "--no_python") or command[0].endswith(".py"):
        return list(command)
    return ["--no-python"] + list(command)


def command_line(spawn, c, command):
    words = [f"{k}={v}" for k, v in env_prefix(c).items()]
    words += [spawn] + spawn_flags(c) + program_part(command)
    return " ".join(shlex.quote(w) for w in words)


def grid(dims):
    """Every candidate, the default first, then by how many dimensions differ from it."""
    names = list(dims)
    default = {n: dims[n][0] for n in names}
    every = [dict(zip(names, values)) for values in itertools.product(*dims.values())]
    return sorted(every, key=lambda c: sum(c[n] != default[n] for n in names))


def coordinate_search(dims, state, goal):
    """One dimension at a time from the best candidate so far, rounds until nothing improves."""
    current = {n: v[0] for n, v in dims.items()}
    while True:
        before = dict(current)
        for name, values in dims.items():
            for value in values:
                yield dict(current, **{name: value})
            best = best_of(state, goal, [dict(current, **{name: v}) for v in values])
            if best:
                current = best
        if current == before:
            return


# --- running ---------------------------------------------------------------------------------


def rank_figures(output, pattern):
    """Each rank's last match of the figure in xeonrun-spawn's tagged output."""
    found = {}
    for line in output.splitlines():
        tagged = TAG.match(line)
        if tagged:
            m = pattern.search(tagged.group(2))
            if m:
                found[int(tagged.group(1))] = float(m.group(1))
    return found


def run_candidate(args, c):
    """One run; returns the run record. KeyboardInterrupt stops the candidate and propagates."""
    n = c["layout"][0]
    env = dict(os.environ, **env_prefix(c))
    if dry_run(args.spawn, spawn_flags(c), env) is None:
        return {"key": key(c), "figure": None, "error": "xeonrun-spawn refuses this layout"}
    argv = [args.spawn] + spawn_flags(c) + program_part(args.command)
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=args.run_timeout)
    except subprocess.TimeoutExpired:
        stop(proc)
        return {"key": key(c), "figure": None, "seconds": args.run_timeout,
                "error": f"timed out after {args.run_timeout} s"}
    except KeyboardInterrupt:
        stop(proc)
        raise
    seconds = time.perf_counter() - start
    return record(args, c, proc.returncode, out + err, seconds, n)


def stop(proc):
    """SIGINT to xeonrun-spawn (it forwards it to every rank), SIGKILL to its group if it
    lingers."""
    try:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    except ProcessLookupError:
        pass


def record(args, c, status, output, seconds, n):
    run = {"key": key(c), "seconds": round(seconds, 4), "status": status}
    if status != 0:
        return dict(run, figure=None, error=f"exit {status}: " + output.strip()[-300:])
    if args.time:
        return dict(run, figure=round(seconds, 4))
    per_rank = rank_figures(output, re.compile(args.metric))
    if len(per_rank) != n:
        return dict(run, figure=None, error=f"{len(per_rank)} of {n} ranks printed the figure")
    values = [per_rank[r] for r in sorted(per_rank)]
    return dict(run, per_rank=values, figure=sum(values) if args.goal == "max" else max(values))


# --- results ---------------------------------------------------------------------------------


def load_state(args, identity):
    if args.fresh or not os.path.exists(args.results):
        return dict(identity, version=VERSION, runs=[])
    try:
        with open(args.results) as f:
            state = json.load(f)
    except (OSError, ValueError) as e:
        raise Usage(f"--results {args.results}: not a results file ({e}); pass --fresh")
    if {k: state.get(k) for k in identity} != identity or state.get("version") != VERSION:
        raise Usage(f"--results {args.results}: holds another command or figure; pass --fresh "
                    "or another file")
    return state


def save(path, state):
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "w") as f:
            json.dump(state, f, indent=1)
        os.replace(tmp, path)  # atomic: an interrupted save leaves the previous file whole
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def summary(state):
    """key -> (median figure, runs, min, max, error) over the recorded runs."""
    by_key = {}
    for run in state["runs"]:
        by_key.setdefault(run["key"], []).append(run)
    out = {}
    for k, runs in by_key.items():
        figures = [r["figure"] for r in runs if r["figure"] is not None]
        errors = [r["error"] for r in runs if r.get("error")]
        out[k] = {"median": statistics.median(figures) if figures and not errors else None,
                  "runs": len(runs), "min": min(figures, default=None),
                  "max": max(figures, default=None), "error": errors[0] if errors else None}
    return out


def ranked(state, goal):
    s = summary(state)
    ok = sorted((k for k in s if s[k]["median"] is not None),
                key=lambda k: s[k]["median"], reverse=goal == "max")
    return ok + sorted(k for k in s if s[k]["median"] is None), s


def best_of(state, goal, candidates):
    s = summary(state)
    scored = [c for c in candidates if s.get(key(c), {}).get("median") is not None]
    if not scored:
        return None
    pick = max if goal == "max" else min
    return pick(scored, key=lambda c: s[key(c)]["median"])


# --- the session -----------------------------------------------------------------------------


class Budget:
    def __init__(self, args):
        self.runs, self.seconds = args.budget_runs, args.budget_seconds
        self.start, self.used = time.monotonic(), 0

    def left(self, reserve_runs=0, reserve_fraction=0.0):
        if self.used >= self.runs - reserve_runs:
            return False
        elapsed = time.monotonic() - self.start
        return self.seconds is None or elapsed < self.seconds * (1 - reserve_fraction)


def explore(args, state, candidates, budget):
    reserve = args.top * (args.repeats - 1)
    reserve_runs = min(reserve, args.budget_runs - 1)
    done = {r["key"] for r in state["runs"]}
    for c in candidates:
        if key(c) in done:
            continue
        if not budget.left(reserve_runs, 0.3 if reserve else 0.0):
            return
        one_run(args, state, c, budget)
        done.add(key(c))


def repeat_best(args, state, budget):
    by_key = {r["key"]: dict(r["candidate"], layout=tuple(r["candidate"]["layout"]))
              for r in state["runs"]}
    order, s = ranked(state, args.goal)
    for k in [k for k in order if s[k]["median"] is not None][:args.top]:
        while summary(state)[k]["runs"] < args.repeats and k in by_key:
            if not budget.left():
                return
            one_run(args, state, by_key[k], budget)
            if summary(state)[k]["median"] is None:
                break


def one_run(args, state, c, budget):
    print(f"xeonrun-tune: run {len(state['runs']) + 1}: {key(c)}", file=sys.stderr, flush=True)
    run = run_candidate(args, c)
    candidate = dict(c, layout=list(c["layout"]))
    state["runs"].append(dict(run, candidate=candidate))
    if run.get("seconds") is not None:
        budget.used += 1
    save(args.results, state)


def report(args, state, session_runs, seconds):
    order, s = ranked(state, args.goal)
    how = ("wall time of the run in seconds (lower is better)" if args.time else
           f"{'sum' if args.goal == 'max' else 'max'} over ranks of {args.metric!r} "
           f"({'higher' if args.goal == 'max' else 'lower'} is better)")
    print(f"figure: {how}; {len(state['runs'])} runs recorded, {session_runs} in this session "
          f"({args.strategy} search, {seconds:.1f} s); results in {args.results}")
    print(f"{'#':>3}  {'figure':>10}  {'runs':>4}  {'spread':>19}  candidate")
    for i, k in enumerate(order, 1):
        r = s[k]
        if r["median"] is None:
            print(f"{'-':>3}  {'failed':>10}  {r['runs']:>4}  {'':>19}  {k}: {r['error']}")
        else:
            spread = f"{r['min']:.4g}-{r['max']:.4g}"
            print(f"{i:>3}  {r['median']:>10.4g}  {r['runs']:>4}  {spread:>19}  {k}")
    if order and s[order[0]]["median"] is not None:
        best = next(r["candidate"] for r in state["runs"] if r["key"] == order[0])
        best = dict(best, layout=tuple(best["layout"]))
        print(f"best: {command_line(args.spawn, best, args.command)}")


def plot(args, state, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("xeonrun-tune: --plot needs matplotlib (Debian: python3-matplotlib)", file=sys.stderr)
        return
    order, s = ranked(state, args.goal)
    order = [k for k in order if s[k]["median"] is not None]
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(order) + 1.2))
    med = [s[k]["median"] for k in order]
    err = [[m - s[k]["min"] for k, m in zip(order, med)],
           [s[k]["max"] - m for k, m in zip(order, med)]]
    ax.barh(range(len(order)), med, xerr=err, color=["tab:green"] + ["tab:blue"] * (len(order) - 1))
    ax.set_yticks(range(len(order)), order, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("median figure (bars: min-max over runs)")
    fig.tight_layout()
    fig.savefig(path, dpi=72)


def session(args, state, dims, budget):
    if args.strategy == "auto":
        total = math.prod(len(v) for v in dims.values())
        fits = total <= args.budget_runs - min(args.top * (args.repeats - 1), args.budget_runs - 1)
        args.strategy = "grid" if fits else "coordinate"
    if args.strategy == "grid":
        candidates = grid(dims)
    else:
        candidates = coordinate_search(dims, state, args.goal)
    explore(args, state, candidates, budget)
    repeat_best(args, state, budget)


def main(argv):
    try:
        args = parse_args(argv)
        args.spawn = find_spawn(args)
        m = machine(args.spawn)
        dims = dimensions(m, args)
        if not all(dims.values()):
            empty = [k for k, v in dims.items() if not v]
            raise Usage(f"nothing to try for {', '.join(empty)} on this machine ({m})")
        identity = {"command": args.command, "metric": args.metric, "time": args.time,
                    "goal": args.goal}
        state = load_state(args, identity)
    except Usage as e:
        print(f"xeonrun-tune: {e}", file=sys.stderr)
        return 2
    state["machine"] = m
    budget = Budget(args)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    status = 0
    try:
        session(args, state, dims, budget)
    except KeyboardInterrupt:
        print("xeonrun-tune: interrupted; the run in progress is not counted", file=sys.stderr)
        status = 130
    save(args.results, state)
    report(args, state, budget.used, time.monotonic() - budget.start)
    if args.plot:
        plot(args, state, args.plot)
    if status == 0 and not any(run["figure"] is not None for run in state["runs"]):
        status = 1  # every candidate failed: nothing to recommend
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
