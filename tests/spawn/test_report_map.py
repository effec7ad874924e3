#!/usr/bin/env python3
"""The placement report (XEONRUN_REPORT, xeonrun-spawn --report) with real processes, and the map
(xeonrun-spawn --dry-run --map) as a user's terminal and a browser get it.

Expectations come from the affinity the test runs under (tests/support/machine.py): it also passes
under `taskset -c 1`. Pages are counted for real; on a machine whose allowed memory nodes are all
planned for the rank, every page is on a planned node, so the share must be 1."""

import json
import os
import pty
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from machine import this_machine  # noqa: E402
from runner_env import placement_free_env  # noqa: E402

SPAWN = os.environ["XEONRUN_SPAWN"]
FIXTURES = os.environ["XEONPLACE_FIXTURES"]
SHIM = os.environ["XEONPLACE_SHIM"]
PY = "/usr/bin/python3"
# Allocates and touches 8 MiB, prints its pid, then exits as the argument says: "exit" through
# exit() (atexit handlers run), "_exit" without, "fork" after a child that calls exit() too.
PROGRAM = r"""
import os, sys
buf = bytearray(8 << 20)
for i in range(0, len(buf), 4096): buf[i] = 1
print(os.getpid(), flush=True)
how = sys.argv[1]
if how == "fork":
    child = os.fork()
    if child == 0:
        sys.exit(0)
    os.waitpid(child, 0)
if how == "_exit":
    os._exit(0)
"""


def clean_env(**extra):
    return placement_free_env(drop=("NO_COLOR",), **extra)


def report_lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


class LibraryReport(unittest.TestCase):
    def run_program(self, how, **variables):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "report.jsonl")
            env = clean_env(LD_PRELOAD=SHIM, XEONRUN_NINSTANCES="1", XEONRUN_REPORT_FILE=path,
                            **variables)
            r = subprocess.run([PY, "-c", PROGRAM, how], env=env, capture_output=True, text=True,
                               timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            return r, report_lines(path)

    def test_one_report_at_exit_of_the_placed_process_not_of_its_forked_child(self):
        r, lines = self.run_program("fork", XEONRUN_REPORT="1")
        machine = this_machine()
        rank = machine.plan(1)[0]
        self.assertEqual(len(lines), 1, lines)
        entry = lines[0]
        self.assertEqual(entry["pid"], int(r.stdout.split()[0]))
        self.assertEqual(entry["cpus"], rank.cpus)
        self.assertEqual(entry["mems"], rank.mems)
        self.assertGreater(entry["cpu_seconds"], 0)
        self.assertIsNotNone(entry["involuntary_switches"])
        self.assertIsNotNone(entry["migrations"])
        # 8 MiB touched: at least that much private memory was counted.
        self.assertGreaterEqual(sum(entry["node_bytes"].values()), 8 << 20)
        if set(rank.mems) >= set(machine.mems_allowed):
            self.assertEqual(entry["local_share"], 1.0)
        reports = [l for l in r.stderr.splitlines() if l.startswith("xeonplace: report rank 0: ")]
        self.assertEqual(len(reports), 1, r.stderr)

    def test_file_only_prints_nothing(self):
        r, lines = self.run_program("exit")
        self.assertEqual(len(lines), 1)
        self.assertEqual(r.stderr, "")

    def test_no_report_without_exit(self):
        r, lines = self.run_program("_exit", XEONRUN_REPORT="1")
        self.assertEqual(lines, [])
        self.assertNotIn("report", r.stderr)

    def test_a_dry_run_is_never_reported(self):
        r, lines = self.run_program("exit", XEONRUN_REPORT="1", XEONRUN_DRY_RUN="1")
        self.assertEqual(lines, [])
        self.assertNotIn("xeonplace: report", r.stderr)


class SpawnerReport(unittest.TestCase):
    def test_one_line_per_rank_and_the_json_file(self):
        machine = this_machine()
        nranks = machine.ranks_up_to(2)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "report.jsonl")
            r = subprocess.run([SPAWN, "--ninstances", str(nranks), "--library", SHIM, "--report",
                                "--report-file", path, "--no-python", PY, "-c", PROGRAM, "exit"],
                               env=clean_env(TMPDIR=d), capture_output=True, text=True,
                               timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            lines = report_lines(path)
            # The ranks' own files lived in a directory under TMPDIR, removed at the end.
            self.assertEqual(os.listdir(d), ["report.jsonl"])
        pids = {int(l.split("]")[0][4:]): int(l.split()[1]) for l in r.stdout.splitlines()}
        self.assertEqual(sorted(l["rank"] for l in lines), list(range(nranks)))
        for entry, rank in zip(sorted(lines, key=lambda l: l["rank"]), machine.plan(nranks)):
            self.assertEqual(entry["pid"], pids[rank.index])
            self.assertEqual(entry["cpus"], rank.cpus)
            self.assertGreater(entry["cpu_seconds"], 0)
            self.assertIsNotNone(entry["migrations"], "the rank's library wrote no figures")
            self.assertGreaterEqual(sum(entry["node_bytes"].values()), 8 << 20)
        said = [l for l in r.stderr.splitlines() if l.startswith("xeonrun-spawn: report rank ")]
        self.assertEqual(len(said), nranks, r.stderr)
        self.assertNotIn("xeonplace: report", r.stderr)  # the ranks themselves print nothing


class Map(unittest.TestCase):
    FIXTURE = "xml:" + os.path.join(FIXTURES, "real", "handmade_epyc_2s_nps4.xml")

    def map_args(self, *extra):
        return [SPAWN, "--dry-run", *extra, "--topology", self.FIXTURE, "--ninstances", "4",
                "--no-python", "true"]

    def on_terminal(self, env):
        main, secondary = pty.openpty()
        try:
            r = subprocess.run(self.map_args("--map"), stdout=secondary, stderr=subprocess.PIPE,
                               env=env, timeout=60)
            os.close(secondary)
            secondary = -1
            out = b""
            while True:
                try:
                    chunk = os.read(main, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
            self.assertEqual(r.returncode, 0, r.stderr)
            return out.decode()
        finally:
            os.close(main)
            if secondary >= 0:
                os.close(secondary)

    def test_colour_on_a_terminal_unless_no_color(self):
        self.assertIn("\x1b[", self.on_terminal(clean_env(TERM="xterm")))
        self.assertNotIn("\x1b[", self.on_terminal(clean_env(TERM="xterm", NO_COLOR="1")))

    def test_plain_in_a_pipe_and_every_planned_cpu_marked(self):
        r = subprocess.run(self.map_args("--map"), capture_output=True, text=True, env=clean_env())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("\x1b", r.stdout)
        plan = json.loads(subprocess.run(self.map_args("--json"), capture_output=True, text=True,
                                         env=clean_env()).stdout)
        marks = "".join(l.split(" | ", 1)[1] for l in r.stdout.splitlines() if " | " in l)
        for rank in plan["ranks"]:
            self.assertEqual(marks.count(str(rank["rank"])), len(rank["cpus"]))

    def test_svg_file_is_well_formed(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "plan.svg")
            r = subprocess.run(self.map_args("--map=" + path), capture_output=True, text=True,
                               env=clean_env())
            self.assertEqual(r.returncode, 0, r.stderr)
            root = ET.parse(path).getroot()
        self.assertEqual(root.tag, "{http://www.w3.org/2000/svg}svg")

    def test_map_needs_dry_run(self):
        r = subprocess.run([SPAWN, "--map", "--no-python", "true"], capture_output=True, text=True,
                           env=clean_env())
        self.assertEqual(r.returncode, 2)
        self.assertIn("--map", r.stderr)


if __name__ == "__main__":
    unittest.main()
