#!/usr/bin/env python3
"""Golden maps: `xeonrun-spawn --dry-run --map` on real-machine fixtures and a 2 x 60-core machine.

For every case in CASES, runs
    xeonrun-spawn --dry-run --map --topology SOURCE FLAGS -- true       (plain: stdout is a pipe)
and compares the text with tests/map/NAME.txt, then checks what holds whatever the golden says:
no line is wider than 80 columns, every CPU of the plan's JSON (--dry-run --json) is marked with
its rank's glyph exactly as often as the rank has CPUs, and --map=FILE.svg writes a well-formed
SVG with one titled box per CPU of the fixture.

    meson test -C build --suite map                          # compare + invariants
    XEONPLACE_REGENERATE=1 meson test -C build --suite map   # rewrite tests/map/*.txt
"""
import argparse
import difflib
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

# A 2 x 60-core Xeon with SMT, Intel numbering: package 0 has cores 0-59, package 1 60-119, their
# siblings 120-239 (tests/fixtures/xeon_2s60c_ht.xml: `lstopo-no-graphics --input DESC --of xml`,
# DESC being the SyntheticDescription it holds, the PU OS indexes listed in hwloc's object order).
XEON_2X60 = "xml:../xeon_2s60c_ht.xml"
CASES = {
    "xeon_2x60_throughput": (XEON_2X60, ["--throughput-mode"]),
    "xeon_2x60_latency": (XEON_2X60, ["--latency-mode"]),
    "xeon_2x60_logical_ninstances3": (XEON_2X60, ["--use-logical-core", "--ninstances", "3"]),
    "epyc_2s_nps4_ninstances8": ("xml:handmade_epyc_2s_nps4.xml", ["--ninstances", "8"]),
    "knl_snc4_flat_logical": ("xml:handmade_knl_snc4_flat.xml",
                              ["--use-logical-core", "--throughput-mode"]),
    "xeon_4s2c2t_offlines": ("xml:xeon_4s2c2t_offlines.xml", ["--ninstances", "2"]),
    "opteron865_8s_cpusets": ("xml:opteron865_8s_cpusets.xml", ["--throughput-mode"]),
    "haswell_2s_offline_node0": ("xml:haswell_2s_offline_node0.xml", ["--throughput-mode"]),
}
WIDTH = 80
SVG = "{http://www.w3.org/2000/svg}"


def glyph(rank):
    digits = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return digits[rank] if rank < len(digits) else "#"


def spawn_run(spawn, fixtures, source, flags, extra):
    env = dict(os.environ, NO_COLOR="1")
    return subprocess.run([spawn, "--dry-run", "--topology", source] + extra + flags + ["--", "true"],
                          cwd=fixtures, capture_output=True, text=True, timeout=120, env=env)


def check(name, text, plan, svg_path):
    problems = []
    for n, line in enumerate(text.splitlines(), 1):
        if len(line) > WIDTH:
            problems.append(f"{name}: line {n} is {len(line)} columns wide")
        if "\x1b" in line:
            problems.append(f"{name}: line {n} has colour, but stdout is not a terminal")
    rows = [l.split(" | ", 1)[1] for l in text.splitlines() if " | " in l]
    marks = "".join(rows)
    for rank in plan["ranks"]:
        g = glyph(rank["rank"])
        if g != "#" and marks.count(g) != len(rank["cpus"]):
            problems.append(f"{name}: rank {rank['rank']} has {len(rank['cpus'])} CPUs, "
                            f"the map marks {marks.count(g)} with '{g}'")
    root = ET.parse(svg_path).getroot()
    titles = [t.text for t in root.iter(SVG + "title") if t.text and t.text.startswith("CPU ")]
    marked = sum(1 for t in titles if ": rank " in t)
    if marked != sum(len(r["cpus"]) for r in plan["ranks"]):
        problems.append(f"{name}: the SVG marks {marked} CPUs with a rank")
    if len(titles) != len(marks.replace(" ", "")):
        problems.append(f"{name}: the SVG has {len(titles)} CPUs, the text {len(marks.replace(' ', ''))}")
    return problems


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--spawn", required=True)
    parser.add_argument("--regenerate", action="store_true",
                        default=os.environ.get("XEONPLACE_REGENERATE") == "1")
    args = parser.parse_args()
    args.spawn = os.path.abspath(args.spawn)  # the runs start in the fixtures' directory
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    fixtures = os.path.join(root, "tests", "fixtures", "real")
    golden_dir = os.path.join(root, "tests", "map")
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (source, flags) in CASES.items():
            shown = spawn_run(args.spawn, fixtures, source, flags, ["--map"])
            listed = spawn_run(args.spawn, fixtures, source, flags, ["--json"])
            svg_path = os.path.join(tmp, name + ".svg")
            drawn = spawn_run(args.spawn, fixtures, source, flags, ["--map=" + svg_path])
            if shown.returncode or listed.returncode or drawn.returncode:
                problems.append(f"{name}: exit {shown.returncode}/{listed.returncode}/"
                                f"{drawn.returncode}: {shown.stderr}{drawn.stderr}")
                continue
            problems += check(name, shown.stdout, json.loads(listed.stdout), svg_path)
            golden = os.path.join(golden_dir, name + ".txt")
            if args.regenerate:
                with open(golden, "w") as f:
                    f.write(shown.stdout)
                continue
            with open(golden) as f:
                want = f.read()
            if want != shown.stdout:
                diff = difflib.unified_diff(want.splitlines(), shown.stdout.splitlines(),
                                            golden, "now", lineterm="")
                problems.append("\n".join(diff))
    for p in problems:
        print(p)
    print(f"{len(CASES)} maps, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    # Plans of fixtures from a clean slate: under a launcher's local rank (a CI job under srun or
    # mpirun) the spawner rightly shows only that rank's plan.
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                    "support"))
    from runner_env import scrub_environ  # noqa: E402
    scrub_environ()
    sys.exit(main())
