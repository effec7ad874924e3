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
    # Cache domains and helper cores (issue #15): ranks of 3 cores inside L3 domains where run_cpu's
    # split straddles them, one rank per L3 domain, mixed sizes under auto, helper cores.
    "domain_l3_ncores3": ["--domain", "l3", "--ncores-per-instance", "3"],
    "ncores3": ["--ncores-per-instance", "3"],
    "throughput_domain_l3": ["--throughput-mode", "--domain", "l3"],
    "ncores_2_4_4_2": ["--ncores-per-instance", "2,4,4,2"],
    "helper_cores1_ninstances2": ["--ninstances", "2", "--helper-cores", "1"],
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
                      "omp_threads": rank["omp_threads"], "domain": rank["domain"], "env": env,
                      "warnings": rank.get("warnings", [])})
        if "helper_cpus" in rank:
            ranks[-1]["helper_cpus"] = rank["helper_cpus"]
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


def smallest_domain(pus, cpus):
    """The smallest domain holding all of `cpus`, from the fixture's facts."""
    for key, name in (("l3", "l3"), ("node", "numa"), ("package", "package")):
        values = {pus[c][key] for c in cpus if c in pus}
        if len(values) == 1 and None not in values and \
                (key != "l3" or len({pus[c]["node"] for c in cpus}) == 1):
            return f"{name}:{values.pop()}"
    return "machine"


def domain_errors(pus, rank, l3_asked):
    """The plan's domain is the smallest one holding the rank; under --domain l3, a rank fits
    in one L3 domain whenever the fixture describes caches and some rank could."""
    errors = []
    wanted = smallest_domain(pus, rank["cpus"])
    if rank["domain"] != wanted:
        errors.append(f"rank {rank['rank']}: domain {rank['domain']!r}, the fixture says {wanted!r}")
    if l3_asked and all(pu["l3"] is not None for pu in pus.values() if pu["usable"]):
        per_l3 = {}
        for pu in pus.values():
            if pu["usable"]:
                per_l3.setdefault((pu["l3"], pu["node"]), set()).add(pu["core"])
        largest = max(len(cores) for cores in per_l3.values())
        cores = {pus[c]["core"] for c in rank["cpus"]}
        if len(cores) <= largest and not wanted.startswith("l3:"):
            errors.append(f"rank {rank['rank']}: {len(cores)} cores straddle L3 domains "
                          f"under --domain l3 ({largest} cores per domain)")
    return errors


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
        helpers = rank.get("helper_cpus", [])
        computing = len(cpus) - len(helpers)
        if not set(helpers) <= set(cpus):
            errors.append(f"rank {r}: helper CPUs {helpers} outside its CPUs")
        if rank["omp_threads"] != computing or \
                rank["env"].get("OMP_NUM_THREADS") != str(computing):
            errors.append(f"rank {r}: OMP_NUM_THREADS {rank['env'].get('OMP_NUM_THREADS')} / "
                          f"omp_threads {rank['omp_threads']} != {computing} CPUs less helpers")
        errors += domain_errors(pus, rank, "--domain" in flags and "l3" in flags)
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
    # Plans of fixtures from a clean slate: under a launcher's local rank (a CI job under srun or
    # mpirun) the spawner rightly shows only that rank's plan.
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                    "support"))
    from runner_env import scrub_environ  # noqa: E402
    scrub_environ()
    sys.exit(main())
