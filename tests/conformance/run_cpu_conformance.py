#!/usr/bin/env python3
"""Conformance with the real run_cpu: for every run_cpu mode on a fixture, the plan printed by
`xeonrun-spawn --dry-run --json` equals what Debian's torch run_cpu launches.

run_cpu is run for real (Debian's python3-torch, /usr/bin/python3) with two stand-ins on PATH:
`lscpu` prints the fixture, and `numactl` records the `-C`/`-m` it was given and the
OMP_NUM_THREADS it inherited instead of running anything. The same flags (run_cpu 1.13 takes the
underscore spellings) go to xeonrun-spawn, which must accept them unchanged.

Usage: run_cpu_conformance.py SPAWN FIXTURES_DIR
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from runner_env import scrub_environ  # noqa: E402

scrub_environ()  # every xeonrun-spawn this test starts plans from a clean slate

SPAWN = None
FIXTURES = None
RUN_CPU_PYTHON = "/usr/bin/python3"

# Modes whose plan must be identical on the upstream fixture (2 sockets x 4 cores, siblings +8).
SAME_PLAN_MODES = [
    [],
    ["--ninstances", "2"],
    ["--ninstances", "4"],
    ["--ninstances", "8"],
    ["--ncores_per_instance", "2"],
    ["--ncores_per_instance", "3"],
    ["--ninstances", "2", "--ncores_per_instance", "2"],
    ["--latency_mode"],
    ["--throughput_mode"],
    ["--multi_instance"],
    ["--node_id", "1"],
    ["--node_id", "0", "--ncores_per_instance", "2"],
    ["--use_logical_core", "--node_id", "0"],
    ["--use_logical_core", "--node_id", "1"],
    ["--use_logical_core"],
    ["--core_list", "0,1,2,3", "--ncores_per_instance", "2"],
    ["--core_list", "4,5,6,7", "--ncores_per_instance", "4"],
    ["--rank", "1", "--ninstances", "2"],
    ["--rank", "0", "--ncores_per_instance", "2"],
    ["--ncores_per_instance", "4", "--skip_cross_node_cores"],
    ["--ncores_per_instance", "3", "--skip_cross_node_cores"],
]

FAKE_LSCPU = """#!/bin/sh
cat "$XP_FIXTURE"
"""

# Records "CPUS|MEMS|OMP_NUM_THREADS"; one short write with O_APPEND, so parallel instances
# never interleave.
FAKE_NUMACTL = """#!/bin/sh
cpus=""; mems=""
while [ $# -gt 0 ]; do
  case "$1" in
    -C) cpus="$2"; shift 2 ;;
    -m) mems="$2"; shift 2 ;;
    *) break ;;
  esac
done
printf '%s|%s|%s\\n' "$cpus" "$mems" "$OMP_NUM_THREADS" >> "$XP_RECORD"
"""


def expand(text):
    ids = []
    for part in text.split(","):
        if "-" in part:
            lo, hi = part.split("-")
            ids.extend(range(int(lo), int(hi) + 1))
        elif part:
            ids.append(int(part))
    return ids


def run_cpu_plan(flags, fixture):
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in (("lscpu", FAKE_LSCPU), ("numactl", FAKE_NUMACTL)):
            path = os.path.join(tmp, name)
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, 0o755)
        record = os.path.join(tmp, "record")
        open(record, "w").close()
        env = dict(os.environ)
        env.update(PATH=tmp + ":" + env["PATH"], XP_FIXTURE=fixture, XP_RECORD=record)
        env.pop("OMP_NUM_THREADS", None)
        proc = subprocess.run(
            [RUN_CPU_PYTHON, "-m", "torch.backends.xeon.run_cpu", *flags, "--no_python", "/bin/true"],
            env=env, cwd=tmp, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise AssertionError(f"run_cpu {flags} failed ({proc.returncode}): {proc.stderr[-2000:]}")
        with open(record) as f:
            rows = [line.rstrip("\n").split("|") for line in f if line.strip()]
    plan = [{"cpus": expand(c), "mems": expand(m), "omp": int(o)} for c, m, o in rows]
    return sorted(plan, key=lambda r: r["cpus"])


def spawn_plan(flags, fixture):
    proc = subprocess.run(
        [SPAWN, "--dry-run", "--json", "--topology", "lscpu:" + fixture, *flags,
         "--no_python", "/bin/true"],
        capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise AssertionError(f"xeonrun-spawn {flags} failed ({proc.returncode}): {proc.stderr}")
    doc = json.loads(proc.stdout)
    plan = [{"cpus": r["cpus"], "mems": r["mems"], "omp": int(r["env"]["OMP_NUM_THREADS"])}
            for r in doc["ranks"]]
    return sorted(plan, key=lambda r: r["cpus"])


class SamePlanAsRunCpu(unittest.TestCase):
    def test_every_mode_on_the_upstream_fixture(self):
        fixture = os.path.join(FIXTURES, "pytorch_test_2s4c_ht.lscpu")
        for flags in SAME_PLAN_MODES:
            with self.subTest(flags=" ".join(flags) or "(no flags)"):
                expected = run_cpu_plan(flags, fixture)
                self.assertTrue(expected, "run_cpu launched nothing")
                self.assertEqual(spawn_plan(flags, fixture), expected)


class CorrectWhereRunCpuIsWrong(unittest.TestCase):
    def test_adjacent_siblings_get_first_pus_not_core_ids(self):
        # On a machine whose SMT siblings are numbered 2k/2k+1 run_cpu takes lscpu's Core column
        # as CPU ids, so its "physical cores" are really sibling pairs of half the cores.
        fixture = os.path.join(FIXTURES, "adjacent_siblings_2s4c.lscpu")
        if not os.path.exists(fixture):
            self.fail(f"fixture missing: {fixture}")
        ours = spawn_plan(["--ninstances", "2"], fixture)
        theirs = run_cpu_plan(["--ninstances", "2"], fixture)
        self.assertNotEqual(ours, theirs, "run_cpu is expected to be wrong here")
        cpus = [c for rank in ours for c in rank["cpus"]]
        self.assertTrue(all(c % 2 == 0 for c in cpus), f"ranks must get first PUs only: {ours}")
        self.assertEqual(len(cpus), len(set(cpus)))


if __name__ == "__main__":
    SPAWN, FIXTURES = sys.argv[1], sys.argv[2]
    if subprocess.run(
            [RUN_CPU_PYTHON, "-c", "import torch.backends.xeon.run_cpu"],
            capture_output=True).returncode != 0:
        sys.exit("run_cpu is not importable by /usr/bin/python3: apt-get install python3-torch")
    unittest.main(argv=[sys.argv[0], "-v"])
