#!/usr/bin/env python3
"""The guest checks must fail when placement is wrong: fabricated probe reports and plans, no VM."""

import os
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import xeonvm_checks as checks  # noqa: E402
import xeonvm_guest  # noqa: E402
from xeonvm_guest import BootResult  # noqa: E402
from xeonvm_topologies import GUESTS, Case, Cgroup, Control  # noqa: E402

# 2 sockets x 2 cores x 2 threads, QEMU numbering (siblings 2k, 2k+1), one node per socket.
TOPOLOGY = checks.parse_topology("\n".join(
    ["cpu %d 1 %d %d" % (c, c // 4, (c % 4) // 2) for c in range(8)] +
    ["node 0 0-3", "node 1 4-7"]))
CASE = Case("default", {"XEONRUN_NINSTANCES": "2"}, 2,
            expect_cpus=[[0, 2], [4, 6]], expect_mems=[[0], [1]])


def plan(cpus=([0, 2], [4, 6]), mems=([0], [1])):
    return {"nranks": len(cpus), "ranks": [
        {"rank": r, "cpus": list(c), "mems": list(m), "omp_threads": len(c)}
        for r, (c, m) in enumerate(zip(cpus, mems))]}


def thread(tid, affinity, samples=None):
    return {"id": tid, "affinity": affinity, "samples": samples or [affinity[0]] * 6}


def report(affinity=(0, 2), policy=("bind", [0]), pages=None, placed=("0,2", "0", "0"),
           pthreads=(), omp=()):
    return {
        "main": thread(0, list(affinity)),
        "pthreads": list(pthreads), "omp": list(omp),
        "mempolicy": {"mode": policy[0], "nodes": policy[1]},
        "pages": {"total": 1024, "unknown": 0, "by_node": pages or {"0": 1024}},
        "env": {"XEONRUN_PLACED_CPUS": placed[0], "XEONRUN_PLACED_MEMS": placed[1],
                "XEONRUN_PLACED_RANK": placed[2]},
    }


class PlanChecks(unittest.TestCase):
    def test_correct_plan_passes(self):
        self.assertEqual(checks.check_plan(CASE, plan(), TOPOLOGY), [])

    def test_siblings_in_one_rank_fail_without_logical_cores(self):
        # The Intel-style assumption (siblings k and k+ncores) applied to QEMU numbering.
        fails = checks.check_plan(CASE, plan(cpus=([0, 1], [4, 5])), TOPOLOGY)
        self.assertTrue(any("share physical cores" in f for f in fails), fails)

    def test_core_ids_taken_for_cpu_ids_fail(self):
        fails = checks.check_plan(CASE, plan(cpus=([0, 1], [2, 3])), TOPOLOGY)
        self.assertTrue(fails)

    def test_overlapping_ranks_fail(self):
        fails = checks.check_plan(
            Case("x", {}, 2), plan(cpus=([0, 2], [2, 4]), mems=([0], [0])), TOPOLOGY)
        self.assertTrue(any("planned for ranks 0 and 1" in f for f in fails), fails)

    def test_offline_cpu_in_plan_fails(self):
        topo = checks.parse_topology("cpu 0 1 0 0\ncpu 1 0 - -\nnode 0 0")
        fails = checks.check_plan(Case("x", {}, 1, one_pu_per_core=False),
                                  plan(cpus=([0, 1],), mems=([0],)), topo)
        self.assertTrue(any("not online" in f for f in fails), fails)

    def test_wrong_rank_count_fails(self):
        self.assertTrue(checks.check_plan(CASE, plan(cpus=([0, 2],), mems=([0],)), TOPOLOGY))


class ReportChecks(unittest.TestCase):
    RANK0 = plan()["ranks"][0]

    def test_correct_report_passes(self):
        self.assertEqual(checks.check_report(CASE, self.RANK0, report()), [])

    def test_unplaced_process_fails(self):
        fails = checks.check_report(CASE, self.RANK0, report(
            affinity=range(8), policy=("default", []), placed=(None, None, None)))
        self.assertGreaterEqual(len(fails), 4, fails)

    def test_pages_on_another_node_fail(self):
        fails = checks.check_report(CASE, self.RANK0, report(pages={"0": 1000, "1": 24}))
        self.assertTrue(any("outside nodes 0" in f for f in fails), fails)

    def test_uneven_interleave_fails(self):
        case = Case("i", {}, 1, memory="interleave")
        rank = {"rank": 0, "cpus": [0, 2], "mems": [0, 1]}
        even = report(policy=("interleave", [0, 1]), pages={"0": 512, "1": 512},
                      placed=("0,2", "0-1", "0"))
        self.assertEqual(checks.check_report(case, rank, even), [])
        skewed = report(policy=("interleave", [0, 1]), pages={"0": 1000, "1": 24},
                        placed=("0,2", "0-1", "0"))
        self.assertTrue(any("not interleaved" in f for f in checks.check_report(case, rank, skewed)))

    def test_preferred_many_full_is_judged_against_what_the_node_had_free(self):
        def pages(on_node4, free_node4):
            return {"total": 40960, "unknown": 0, "by_node": {"4": on_node4, "3": 40960 - on_node4},
                    "free_before": {"3": 60000, "4": free_node4}}
        full = checks._check_pages(pages(16729, 16800), [4], "preferred-many-full")
        self.assertEqual(full, [])  # half the node was taken before: it filled what was free
        short = checks._check_pages(pages(8000, 32000), [4], "preferred-many-full")
        self.assertTrue(any("which had 32000 pages free" in f for f in short), short)
        all_there = checks._check_pages(pages(40960, 60000), [4], "preferred-many-full")
        self.assertTrue(all_there)  # nothing fell back: not the case's premise
        unknown = checks._check_pages({"total": 40960, "unknown": 0, "by_node": {"4": 40000, "3": 960}},
                                      [4], "preferred-many-full")
        self.assertTrue(unknown)  # an old probe without free_before proves nothing

    def test_weighted_interleave_follows_the_node_weights(self):
        weights = {0: 1, 1: 1, 4: 3}
        weighted = {"total": 5000, "unknown": 0, "by_node": {"0": 1000, "1": 1000, "4": 3000}}
        even = {"total": 5000, "unknown": 0, "by_node": {"0": 1667, "1": 1667, "4": 1666}}
        self.assertEqual(checks._check_pages(weighted, [0, 1, 4], "weighted-interleave", weights), [])
        fails = checks._check_pages(even, [0, 1, 4], "weighted-interleave", weights)
        self.assertTrue(any("not weighted 1:1:3" in f for f in fails), fails)

    def test_preferred_accepts_preferred_many(self):
        case = Case("p", {}, 1, memory="preferred")
        rank = {"rank": 0, "cpus": [0, 2], "mems": [4]}
        r = report(policy=("preferred_many", [4]), pages={"4": 1024}, placed=("0,2", "4", "0"))
        self.assertEqual(checks.check_report(case, rank, r), [])

    def test_threads_sharing_a_cpu_fail_under_thread_pinning(self):
        case = Case("t", {"XEONRUN_PIN": "thread"}, 2, omp=True)
        shared = report(affinity=(0,), omp=[thread(0, [0]), thread(1, [0])])
        fails = checks.check_report(case, self.RANK0, shared)
        self.assertTrue(any("share CPUs" in f for f in fails), fails)
        own = report(affinity=(0,), omp=[thread(0, [0]), thread(1, [2])])
        self.assertEqual(checks.check_report(case, self.RANK0, own), [])

    def test_thread_running_off_its_cpu_fails(self):
        case = Case("t", {"XEONRUN_PIN": "thread"}, 2, threads=1)
        r = report(pthreads=[thread(1, [2], samples=[2, 2, 0, 2, 2, 2])])
        self.assertTrue(any("ran on" in f for f in checks.check_report(case, self.RANK0, r)))

    def test_control_detects_a_probe_that_misreads(self):
        ok = report(affinity=(3,), policy=("bind", [1]), pages={"1": 1024})
        self.assertEqual(checks.check_control(Control(cpu=3, node=1), {"pid1": ok}), [])
        self.assertTrue(checks.check_control(Control(cpu=5, node=1), {"pid1": ok}))


class CgroupChecks(unittest.TestCase):
    SOCKET1 = checks.CgroupState(cpus=[6, 7], mems=[1], configured={})

    def test_expectation_is_the_cgroups_cpus_and_node(self):
        case = checks.cgroup_expectation(Case("c", {}, 1, cgroup="socket1", one_pu_per_core=False),
                                         self.SOCKET1, TOPOLOGY)
        self.assertEqual((case.expect_cpus, case.expect_mems), ([[6, 7]], [[1]]))

    def test_expectation_splits_the_cgroup_among_ranks(self):
        case = checks.cgroup_expectation(Case("c", {}, 2, cgroup="socket1", one_pu_per_core=False),
                                         self.SOCKET1, TOPOLOGY)
        self.assertEqual((case.expect_cpus, case.expect_mems), ([[6], [7]], [[1], [1]]))

    def test_expectation_takes_one_pu_per_core(self):
        state = checks.CgroupState(cpus=[4, 5, 6, 7], mems=[1], configured={})
        case = checks.cgroup_expectation(Case("c", {}, 1, cgroup="g"), state, TOPOLOGY)
        self.assertEqual(case.expect_cpus, [[4, 6]])

    def test_memory_outside_the_cpus_node_goes_to_the_allowed_node(self):
        state = checks.CgroupState(cpus=[6, 7], mems=[0], configured={})
        case = checks.cgroup_expectation(Case("c", {}, 1, cgroup="g", one_pu_per_core=False),
                                         state, TOPOLOGY)
        self.assertEqual(case.expect_mems, [[0]])

    def test_plan_ignoring_the_cgroup_fails(self):
        case = checks.cgroup_expectation(Case("c", {}, 1, cgroup="socket1", one_pu_per_core=False),
                                         self.SOCKET1, TOPOLOGY)
        whole = plan(cpus=(list(range(8)),), mems=([0, 1],))
        self.assertEqual(len(checks.check_plan(case, whole, TOPOLOGY)), 2)
        on_cpu_node = plan(cpus=([6, 7],), mems=([1],))
        self.assertEqual(checks.check_plan(case, on_cpu_node, TOPOLOGY), [])

    def test_report_from_outside_the_cgroup_fails(self):
        case = Case("c", {}, 1, cgroup="socket1")
        inside = report(affinity=(6,), policy=("bind", [1]), pages={"1": 1024},
                        placed=("6", "1", "0"))
        inside["cgroup"] = "0::/socket1\n"
        rank = {"rank": 0, "cpus": [6], "mems": [1]}
        self.assertEqual(checks.check_report(case, rank, inside), [])
        inside["cgroup"] = "0::/\n"
        self.assertTrue(any("ran in cgroup" in f for f in checks.check_report(case, rank, inside)))

    def test_setup_checks_the_premise_of_each_cgroup(self):
        far = Cgroup("far", ncpus=2, cpus_of_node=1, mems="0", home_mems=False)
        good = checks.CgroupState(cpus=[6, 7], mems=[0], configured={})
        self.assertEqual(checks.check_cgroup_setup(far, good, TOPOLOGY, []), [])
        home = checks.CgroupState(cpus=[6, 7], mems=[1], configured={})
        self.assertTrue(checks.check_cgroup_setup(far, home, TOPOLOGY, []))
        wrong_node = checks.CgroupState(cpus=[2, 3], mems=[0], configured={})
        self.assertTrue(checks.check_cgroup_setup(far, wrong_node, TOPOLOGY, []))
        self.assertTrue(checks.check_cgroup_setup(far, None, TOPOLOGY, []))
        nested = Cgroup("far/one", ncpus=1)
        self.assertTrue(checks.check_cgroup_setup(
            nested, checks.CgroupState(cpus=[5], mems=[0], configured={}), TOPOLOGY, [6, 7]))

    def test_unreadable_effective_files_mean_no_cgroup(self):
        res = checks.Results({"/tmp/out/cgroups/g/cpuset.cpus.effective": "cat: No such file\n",
                              "/tmp/out/cgroups/g/cpuset.mems.effective": "0\n"})
        self.assertIsNone(checks.read_cgroup(res, "g"))
        res.files["/tmp/out/cgroups/g/cpuset.cpus.effective"] = "6-7\n"
        self.assertEqual(checks.read_cgroup(res, "g").cpus, [6, 7])


def report_files(shares, warned=True, lines_in_log=2):
    """The files of the report launches: `shares` maps a launch to each rank's local share."""
    files = {}
    for launch, per_rank in shares.items():
        files["/tmp/out/report/%s.rc" % launch] = "0\n"
        files["/tmp/out/report/%s.jsonl" % launch] = "".join(
            '{"rank": %d, "pid": %d, "cpus": [], "mems": [%d], "cpu_seconds": 0.1, '
            '"involuntary_switches": 1, "migrations": 0, "node_bytes": {}, "local_share": %s}\n'
            % (r, 100 + r, r, share) for r, share in enumerate(per_rank))
    files["/tmp/out/report/spawn.log"] = "xeonrun-spawn: report rank 0\n" * lines_in_log
    if warned:
        files["/tmp/out/report/unbound.log"] = "xeonrun-spawn: warning: rank 1: only 0.2%\n"
    return checks.Results(files)


class PlacementReports(unittest.TestCase):
    GOOD = {"spawn": (0.99, 0.98), "preload": (0.97, 0.99), "unbound": (0.99, 0.002)}

    def failures(self, results):
        return {name: fails for name, fails in checks.check_placement_reports(results) if fails}

    def test_placed_local_and_unplaced_elsewhere_pass(self):
        self.assertEqual(self.failures(report_files(self.GOOD)), {})

    def test_a_placed_rank_below_95_percent_fails(self):
        shares = dict(self.GOOD, preload=(0.97, 0.90))
        self.assertIn("report preload", self.failures(report_files(shares)))

    def test_an_unplaced_rank_reported_local_fails(self):
        shares = dict(self.GOOD, unbound=(0.99, 0.97))
        self.assertIn("report unbound", self.failures(report_files(shares)))

    def test_a_missing_warning_or_line_fails(self):
        self.assertIn("report unbound", self.failures(report_files(self.GOOD, warned=False)))
        self.assertIn("report spawn", self.failures(report_files(self.GOOD, lines_in_log=1)))
        shares = dict(self.GOOD, spawn=(0.99,))
        self.assertIn("report spawn", self.failures(report_files(shares)))


class GuestDefinitions(unittest.TestCase):
    def test_oracles_cover_every_rank(self):
        for guest in GUESTS.values():
            for case in guest.cases:
                for oracle in (case.expect_cpus, case.expect_mems):
                    if oracle is not None:
                        self.assertEqual(len(oracle), case.nranks, (guest.name, case.name))

    def test_qemu_memory_matches_the_nodes(self):
        args = GUESTS["snc-memnode"].qemu.args()
        self.assertEqual(args[:2], ["-m", "1152M"])  # 4 x 256 MiB and the 128 MiB CPU-less node
        self.assertIn("node,nodeid=4,memdev=m4", args)  # the CPU-less node has no cpus=


class BootRetry(unittest.TestCase):
    """Only a kernel that died before the test script started earns a second boot."""

    def result(self, console, boot_seconds=None, timed_out=False):
        return BootResult(exit_code=None, files={}, console=console, boot_seconds=boot_seconds,
                          total_seconds=10.0, timed_out=timed_out)

    def test_a_panic_before_the_script_is_retried(self):
        panic = "[ 3.0] RIP: sched_clock_cpu\n[ 3.1] Kernel panic - not syncing: Fatal exception"
        self.assertTrue(xeonvm_guest.kernel_failed_before_the_script(self.result(panic)))

    def test_anything_after_the_script_started_or_a_timeout_is_not(self):
        panic = "Kernel panic - not syncing"
        retry = xeonvm_guest.kernel_failed_before_the_script
        self.assertFalse(retry(self.result("@@XEONVM-BEGIN@@\n" + panic, boot_seconds=5.0)))
        self.assertFalse(retry(self.result(panic, timed_out=True)))
        self.assertFalse(retry(self.result("SeaBIOS\nBooting from ROM")))


if __name__ == "__main__":
    unittest.main()
