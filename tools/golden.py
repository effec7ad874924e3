#!/usr/bin/env python3
"""Golden plans of the real-machine corpus (tests/fixtures/real/*.xml).

For every fixture and every mode in MODES, runs
    xeonrun-spawn --dry-run --json --topology xml:FIXTURE <mode flags> -- true
and compares the plan with tests/golden/FIXTURE.json (a refused plan, exit 2, is stored as its
error line). Every plan is also checked against invariants derived from the fixture itself, whose
facts come from tests/golden/topology_facts (the project's own loader), never from this file.

    meson test -C build --suite golden                                 # compare + invariants
    XEONPLACE_REGENERATE=1 meson test -C build --suite golden          # rewrite the goldens
    tools/golden.py --spawn S --facts F --regenerate                   # the same, by hand

Regenerated goldens are reviewed as a diff (git diff tests/golden).
"""
import argparse
import difflib
import json
import os
import subprocess
import sys

MODES = {
    "default": [],
    "throughput": ["--throughput-mode"],
    "latency": ["--latency-mode"],
    "ninstances2": ["--ninstances", "2"],
    "ninstances3_skip_cross_node": ["--ninstances", "3", "--skip-cross-node-cores"],
    "logical_ninstances2": ["--use-logical-core", "--ninstances", "2"],
    "node_id1": ["--node-id", "1"],
    "ncores2_skip_cross_node": ["--ncores-per-instance", "2", "--skip-cross-node-cores"],
    "core_list_ninstances2": ["--core-list", "0,3,4,7", "--ninstances", "2"],
}

# Env values that depend on the machine the test runs on, not on the plan.
MACHINE_KEYS = {"LD_PRELOAD", "MALLOC_CONF"}


def normalize(plan):
    """Only the plan's own keys; extra top-level keys are tolerated and ignored."""
    ranks = []
    for rank in plan.get("ranks", []):
        env = {k: v for k, v in rank.get("env", {}).items()
               if k not in MACHINE_KEYS and not str(v).startswith("/")}
        ranks.append({"rank": rank["rank"], "cpus": rank["cpus"], "mems": rank["mems"],
                      "omp_threads": rank["omp_threads"], "env": env,
                      "warnings": rank.get("warnings", [])})
    return {"nranks": plan["nranks"], "ranks": ranks, "warnings": plan.get("warnings", [])}


def run_mode(spawn, fixture_dir, name, flags):
    proc = subprocess.run([spawn, "--dry-run", "--json", "--topology", "xml:" + name] + flags +
                          ["--", "true"], cwd=fixture_dir, capture_output=True, text=True,
                          timeout=60)
    if proc.returncode == 0:
        return {"exit": 0, "plan": normalize(json.loads(proc.stdout))}
    lines = proc.stderr.strip().splitlines()
    return {"exit": proc.returncode, "error": lines[-1] if lines else ""}


def facts_of(facts_tool, fixture_dir, name):
    proc = subprocess.run([facts_tool, "xml:" + name], cwd=fixture_dir, capture_output=True,
                          text=True, timeout=60)
    if proc.returncode != 0:
        return None  # a fixture the loader refuses: its goldens are error lines
    return json.loads(proc.stdout)


def invariant_errors(facts, mode, flags, result):
    """What a plan must satisfy whatever the machine: derived from the fixture's own facts."""
    if result["exit"] != 0:
        return [] if result["exit"] == 2 else [f"exit {result['exit']}, not 0 or 2"]
    pus = {pu["cpu"]: pu for pu in facts["pus"]}
    allowed_mems = set(facts["allowed_mems"])
    errors = []
    seen_cores = {}
    for rank in result["plan"]["ranks"]:
        r = rank["rank"]
        cpus = rank["cpus"]
        for cpu in cpus:
            pu = pus.get(cpu)
            if pu is None or not pu["usable"]:
                errors.append(f"rank {r}: CPU {cpu} is not an online, allowed CPU")
                continue
            owner = seen_cores.setdefault(pu["core"], r)
            if owner != r:
                errors.append(f"rank {r}: CPU {cpu} shares core {pu['core']} with rank {owner}")
            if pu["efficient"] and "--use-efficient-cores" not in flags:
                errors.append(f"rank {r}: CPU {cpu} is an efficient core")
        if rank["omp_threads"] != len(cpus) or rank["env"].get("OMP_NUM_THREADS") != str(len(cpus)):
            errors.append(f"rank {r}: OMP_NUM_THREADS {rank['env'].get('OMP_NUM_THREADS')} / "
                          f"omp_threads {rank['omp_threads']} != {len(cpus)} CPUs")
        homes = {pus[c]["node"] for c in cpus if c in pus}
        unbound = any(pus[c]["link"] == "none" for c in cpus if c in pus) or \
            not homes <= allowed_mems
        mems = set(rank["mems"])
        if not mems <= allowed_mems:
            errors.append(f"rank {r}: memory nodes {sorted(mems)} outside allowed "
                          f"{sorted(allowed_mems)}")
        if not unbound and mems != homes:
            errors.append(f"rank {r}: memory nodes {sorted(mems)} != home nodes {sorted(homes)}")
        if "--skip-cross-node-cores" in flags and len(homes) > 1:
            errors.append(f"rank {r}: spans nodes {sorted(homes)} under --skip-cross-node-cores")
    return errors


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spawn", required=True, help="the built xeonrun-spawn")
    parser.add_argument("--facts", required=True, help="the built tests/golden/topology_facts")
    parser.add_argument("--fixtures", default=os.path.join(root, "tests", "fixtures", "real"))
    parser.add_argument("--golden", default=os.path.join(root, "tests", "golden"))
    parser.add_argument("--regenerate", action="store_true",
                        default=os.environ.get("XEONPLACE_REGENERATE") == "1")
    args = parser.parse_args()
    args.spawn = os.path.abspath(args.spawn)
    args.facts = os.path.abspath(args.facts)

    fixtures = sorted(f for f in os.listdir(args.fixtures) if f.endswith(".xml"))
    passed = failed = 0
    for name in fixtures:
        facts = facts_of(args.facts, args.fixtures, name)
        results = {mode: run_mode(args.spawn, args.fixtures, name, flags)
                   for mode, flags in MODES.items()}
        problems = []
        for mode, flags in MODES.items():
            if facts is not None:
                problems += [f"{mode}: {e}" for e in invariant_errors(facts, mode, flags,
                                                                       results[mode])]
        text = json.dumps(results, indent=1, sort_keys=True) + "\n"
        golden_path = os.path.join(args.golden, name[:-len(".xml")] + ".json")
        if args.regenerate:
            with open(golden_path, "w") as out:
                out.write(text)
        else:
            try:
                with open(golden_path) as golden:
                    expected = golden.read()
            except FileNotFoundError:
                expected = ""
            if expected != text:
                diff = difflib.unified_diff(expected.splitlines(), text.splitlines(),
                                            golden_path, "now", lineterm="")
                problems.append("plan differs from the golden:\n" + "\n".join(diff))
        for problem in problems:
            print(f"{name}: {problem}")
        if problems:
            failed += 1
        else:
            passed += 1
    print(f"golden: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
