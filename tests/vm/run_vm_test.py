#!/usr/bin/env python3
"""Boot one QEMU guest with a virtual multi-socket / SMT / NUMA topology, run every case of it with
the real libxeonplace.so and xeonrun-spawn, and compare what the ranks report from inside with the
plan the guest itself prints. Exit 0 when every check passes, 1 on a mismatch (each one listed),
2 when the host lacks something (the message names the Debian package).

  run_vm_test.py --guest 2s4c2t --build-dir BUILD --probe BUILD/tests/vm/vm-probe
  run_vm_test.py --list
"""

import argparse
import dataclasses
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

# The harness runs from the source tree: leave no __pycache__ there.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import xeonvm_checks as checks  # noqa: E402
from xeonvm_guest import (HostSetupError, Initramfs, boot_retrying_once,  # noqa: E402
                          find_host_tools)
from xeonvm_script import PROBE, guest_script  # noqa: E402
from xeonvm_topologies import GUESTS  # noqa: E402

# Libraries the placed ranks may chain-load (allocator, OpenMP runtime): shipped when the host has
# them, at the same paths, so the library's search finds in the guest what it finds here.
RUNTIME_LIBRARY_GLOBS = [
    "/usr/lib/x86_64-linux-gnu/libomp.so*", "/usr/lib/x86_64-linux-gnu/libiomp5.so",
    "/usr/lib/llvm-*/lib/libomp.so*", "/usr/lib/llvm-*/lib/libiomp5.so",
    "/usr/lib/x86_64-linux-gnu/libtcmalloc.so*", "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so*",
    "/usr/lib/x86_64-linux-gnu/libjemalloc.so*",
]


def _require(path, what):
    if not os.path.exists(path):
        raise HostSetupError("%s not found at %s: build it first (ninja -C <build>)" % (what, path))
    return os.path.abspath(path)


def _host_chain_loads(library):
    """The libraries a placed process on this host gets preloaded (after the library's re-exec):
    ship them too, whatever the library's search finds."""
    env = dict(os.environ, XEONRUN_NINSTANCES="1", XEONRUN_RANK="0", LD_PRELOAD=library)
    out = subprocess.run(["printenv", "LD_PRELOAD"], env=env, capture_output=True, text=True,
                         check=False).stdout
    return [p for p in out.strip().split(":") if p.startswith("/") and os.path.exists(p)]


def build_initramfs(tools, guest, args, path):
    root = Initramfs(tools)
    try:
        root.add_file(args.probe, PROBE)
        numactl = "/usr/bin/numactl"
        if not os.path.exists(numactl):
            raise HostSetupError("numactl not found: install the Debian package numactl")
        root.add_file(numactl)
        if guest.cases:
            root.add_file(args.spawn)
            root.add_file(args.library)
            root.add_file(args.engine)
            for pattern in RUNTIME_LIBRARY_GLOBS:
                for lib in glob.glob(pattern):
                    root.add_file(lib)
            for lib in _host_chain_loads(args.library):
                root.add_file(lib)
        lstopo = shutil.which("lstopo-no-graphics") if args.save_dir else None
        if lstopo:
            root.add_file(lstopo)
        root.add_text("/guest-script.sh",
                      guest_script(guest, args.spawn, args.library, with_lstopo=bool(lstopo)))
        root.pack(path)
    finally:
        root.cleanup()


def _save(directory, result):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "console.txt"), "w") as f:
        f.write(result.console)
    for path, text in result.files.items():
        target = os.path.join(directory, os.path.relpath(path, "/tmp/out"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w") as f:
            f.write(text)


def judge(guest, result):
    """Every check of the guest: (name, [failures]) in order."""
    res = checks.Results(result.files)
    verdicts = []
    topo_text = res.text("topology.txt")
    if topo_text is None:
        return [("guest script", ["no topology dump: the guest script did not run to the end"])]
    topo = checks.parse_topology(topo_text)
    still_online = [c for c in guest.offline_cpus if c not in topo.offline]
    verdicts.append(("offline CPUs", ["CPU %d is still online" % c for c in still_online]))
    control_fails = checks.check_control(guest.control, res.reports("control", "numactl"))
    verdicts.append(("control numactl -C %d -m %d" % (guest.control.cpu, guest.control.node),
                     control_fails + _log_if(control_fails, res, "control/numactl.log")))
    cgroups = {}
    for cg in guest.cgroups:
        state = checks.read_cgroup(res, cg.path)
        parent = cgroups.get(cg.path.rpartition("/")[0])
        fails = checks.check_cgroup_setup(cg, state, topo, parent.cpus if parent else [])
        verdicts.append(("cgroup " + cg.path, fails + _log_if(fails, res, "cgroups/setup.log")))
        cgroups[cg.path] = state
    for case in guest.cases:
        if case.cgroup:
            if cgroups.get(case.cgroup) is None:
                verdicts.append((case.name + " plan", ["cgroup %s was not set up" % case.cgroup]))
                continue
            case = checks.cgroup_expectation(case, cgroups[case.cgroup], topo)
        plan_rc = (res.text(case.name + "/plan.rc") or "").strip()
        kernel = (res.text("kernel.txt") or "").strip()
        if case.needs_kernel and not checks.kernel_at_least(kernel, case.needs_kernel):
            verdicts += _judge_refusal(case, res, plan_rc, kernel)
            continue
        try:
            plan = json.loads(res.text(case.name + "/plan.json") or "")
        except ValueError:
            plan = None
        if plan_rc != "0" or plan is None:
            verdicts.append((case.name + " plan", [
                "xeonrun-spawn --dry-run --json exited %s, printed: %s %s" % (
                    plan_rc or "?", (res.text(case.name + "/plan.json") or "").strip(),
                    (res.text(case.name + "/plan.err") or "").strip())]))
            continue
        verdicts.append((case.name + " plan", checks.check_plan(case, plan, topo)))
        for launch in case.launch:
            verdicts.append(("%s %s" % (case.name, launch), _judge_launch(case, plan, res, launch)))
    if guest.report:
        for name, fails in checks.check_placement_reports(res):
            logs = ["report/%s.log" % name.split()[-1]]
            verdicts.append((name, fails + _log_if(fails, res, *logs)))
    return verdicts


def _judge_refusal(case, res, plan_rc, kernel):
    """The guest's kernel lacks the case's mode: the plan and every launch refuse it."""
    name = "%s refused on Linux %s" % (case.name, kernel or "?")
    verdicts = [(name + " plan", checks.check_refusal(
        case, plan_rc, res.text(case.name + "/plan.err"), "xeonrun-spawn --dry-run"))]
    if "spawn" in case.launch:
        rc = (res.text(case.name + "/spawn.rc") or "").strip()
        verdicts.append((name + " spawn", checks.check_refusal(
            case, rc, res.text(case.name + "/spawn.log"), "xeonrun-spawn")))
    if "preload" in case.launch:
        rc = (res.text(case.name + "/preload.rc") or "").strip()
        for r in range(case.nranks):
            log = res.text("%s/preload.%d.log" % (case.name, r))
            verdicts.append(("%s preload rank %d" % (name, r),
                             checks.check_refusal(case, rc, log, "LD_PRELOAD rank %d" % r)))
    return verdicts


def _log_if(fails, res, *paths):
    if not fails:
        return []
    out = []
    for path in paths:
        text = (res.text(path) or "").strip()
        if text:
            out.append("%s:\n      %s" % (path, text.replace("\n", "\n      ")))
    return out


def _judge_launch(case, plan, res, launch):
    fails = []
    rc = (res.text("%s/%s.rc" % (case.name, launch)) or "").strip()
    if rc != "0":
        fails.append("%s exited %s" % (launch, rc or "(no status)"))
    reports = res.reports(case.name, launch)
    for rank in plan["ranks"]:
        report = reports.get(str(rank["rank"]))
        if report is None:
            fails.append("rank %d: no probe report (found ranks: %s)" % (
                rank["rank"], ",".join(sorted(reports)) or "none"))
            continue
        fails += ["rank %d: %s" % (rank["rank"], f) for f in checks.check_report(case, rank, report)]
    logs = ["%s/spawn.log" % case.name] if launch == "spawn" else [
        "%s/preload.%d.log" % (case.name, r) for r in range(case.nranks)]
    return fails + _log_if(fails, res, *logs)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--guest", choices=sorted(GUESTS))
    parser.add_argument("--list", action="store_true", help="list the guests and their cases")
    parser.add_argument("--build-dir", help="meson build directory with the library and spawn")
    parser.add_argument("--probe", help="the vm-probe executable (default BUILD/tests/vm/vm-probe)")
    # 2s4c2t takes ~100-150 s alone; on a loaded host (two guests at once, a build) it passed 240 s.
    parser.add_argument("--timeout", type=float, default=420, help="seconds for the whole boot")
    parser.add_argument("--save-dir",
                        help="keep the console, every result file and the guest's hwloc XML "
                             "(lstopo) in this directory, for diagnosis or new fixtures")
    parser.add_argument("--kernel", choices=("newest", "oldest"), default="newest",
                        help="which generic kernel of /boot the guest boots (XEONVM_KERNEL "
                             "overrides): the oldest still refuses modes newer than itself")
    parser.add_argument("--control-only", action="store_true",
                        help="run only the numactl control (proves the harness and the probe "
                             "without the library)")
    args = parser.parse_args()
    if args.list:
        for name, guest in GUESTS.items():
            print("%-12s %s" % (name, ", ".join(c.name for c in guest.cases)))
        return 0
    if not args.guest or not args.build_dir:
        parser.error("--guest and --build-dir are required")
    guest = GUESTS[args.guest]
    if args.control_only:
        guest = dataclasses.replace(guest, cases=[])
    try:
        tools = find_host_tools(args.kernel)
        build = args.build_dir
        args.probe = _require(args.probe or os.path.join(build, "tests/vm/vm-probe"), "vm-probe")
        args.library = os.path.join(build, "src/shim/libxeonplace.so")
        args.engine = os.path.join(build, "src/shim/libxeonplace-engine.so")
        args.spawn = os.path.join(build, "tools/spawn/xeonrun-spawn")
        if not args.control_only:
            args.library = _require(args.library, "libxeonplace.so")
            args.engine = _require(args.engine, "libxeonplace-engine.so")
            args.spawn = _require(args.spawn, "xeonrun-spawn")
        with tempfile.TemporaryDirectory(prefix="xeonvm-") as tmp:
            initrd = os.path.join(tmp, "initrd.cpio")
            t0 = time.monotonic()
            build_initramfs(tools, guest, args, initrd)
            pack_seconds = time.monotonic() - t0
            # A second kernel failure before the script fails the test.
            result = boot_retrying_once(tools, initrd, guest.qemu, args.timeout, guest.name)
    except HostSetupError as e:
        print("run_vm_test: %s" % e, file=sys.stderr)
        return 2
    if args.save_dir:
        _save(args.save_dir, result)
    print("guest %s: initramfs %.1f s, boot %s s, whole run %.1f s, kernel %s" % (
        guest.name, pack_seconds,
        "%.1f" % result.boot_seconds if result.boot_seconds is not None else "?",
        result.total_seconds, os.path.basename(tools.kernel)))
    if result.exit_code is None:
        why = "timed out after %.0f s" % args.timeout if result.timed_out else "ended early"
        print("FAIL guest %s: %s without the end marker; console tail:\n%s" % (
            guest.name, why, "\n".join(result.console.splitlines()[-40:])))
        return 1
    verdicts = judge(guest, result)
    failed = 0
    for name, fails in verdicts:
        print("%s %s/%s" % ("FAIL" if fails else "PASS", guest.name, name))
        for f in fails:
            print("    " + f)
        failed += bool(fails)
    print("%s: %d of %d checks passed" % (guest.name, len(verdicts) - failed, len(verdicts)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
