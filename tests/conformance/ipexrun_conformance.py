#!/usr/bin/env python3
"""Conformance with ipexrun (Intel Extension for PyTorch's `ipexrun cpu`, its last release): for
each command line on a fixture, the plan `ipexrun --dry-run --json` prints (xeonrun-spawn invoked
under the name ipexrun, or with ipexrun's backend word `cpu`) has the CPUs, memory nodes, thread
counts and OpenMP variables ipexrun launches, except where ipexrun is wrong (WRONG below).

IPEX is not packaged for Debian, so its plans are recorded here by hand from its code
(intel_extension_for_pytorch/cpu/launch/cpu_info.py gen_pools_ondemand, launcher_base.py
set_omp_runtime, launcher_multi_instances.py launch and execution_command_builder), with each
derivation in a comment. ipexrun is taken to find libiomp5.so (its `--omp-runtime auto` then means
intel) and numactl (its `--multi-task-manager auto` then means numactl).

Usage: ipexrun_conformance.py SPAWN FIXTURES_DIR
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

# pytorch_test_2s4c_ht: node 0 = cores 0-3 (CPUs 0-3, siblings 8-11), node 1 = cores 4-7 (CPUs
# 4-7, siblings 12-15). ipexrun's physical pool is CPUs 0-7 sorted by core id.
P = "pytorch_test_2s4c_ht.lscpu"
# xeon_2s8c: 16 cores, no SMT, node 0 = 0-7, node 1 = 8-15.
X = "xeon_2s8c.lscpu"
# uneven_nodes_4_4_2: nodes of 4, 4 and 2 cores (0-3, 4-7, 8-9; siblings +10).
U = "uneven_nodes_4_4_2.lscpu"

INTEL = {"KMP_AFFINITY": "granularity=fine,compact,1,0", "KMP_BLOCKTIME": "1"}
INTEL_LOGICAL_ALL = {"KMP_BLOCKTIME": "1"}  # every logical CPU used: KMP_AFFINITY not set
GNU = {"OMP_SCHEDULE": "STATIC", "OMP_PROC_BIND": "CLOSE"}
# The variables ipexrun sets for OpenMP; any other variable of the plan is ours alone.
IPEX_VARIABLES = ("OMP_NUM_THREADS", "KMP_AFFINITY", "KMP_BLOCKTIME", "OMP_SCHEDULE",
                  "OMP_PROC_BIND", "GOMP_CPU_AFFINITY")


def r(lo, hi):
    return list(range(lo, hi + 1))


def inst(cpus, mems, env=INTEL, **extra):
    e = dict(env)
    e.update(extra)
    e["OMP_NUM_THREADS"] = str(len(cpus))
    return {"cpus": sorted(cpus), "mems": mems, "env": e}


# (fixture, flags, ipexrun's instances in order)
SAME = [
    # ninstances = ncores = 0: ninstances = 1, one instance on every physical core.
    (P, [], [inst(r(0, 7), [0, 1])]),
    # ncores 0: one pool, len // n each, remainder unused.
    (P, ["--ninstances", "2"], [inst(r(0, 3), [0]), inst(r(4, 7), [1])]),
    (P, ["--ninstances", "3"], [inst([0, 1], [0]), inst([2, 3], [0]), inst([4, 5], [1])]),
    # ncores -1 (is_greedy): the 8 % 3 leftover cores go to the first instances: 3, 3, 2.
    (P, ["--ninstances", "3", "--ncores-per-instance", "-1"],
     [inst([0, 1, 2], [0]), inst([3, 4, 5], [0, 1]), inst([6, 7], [1])]),
    # ncores only: every group of 2 that fits.
    (P, ["--ncores-per-instance", "2"],
     [inst([0, 1], [0]), inst([2, 3], [0]), inst([4, 5], [1]), inst([6, 7], [1])]),
    # both: 4 candidate groups, 2 wanted; scatter over one pool takes rst[::ceil(4/2)].
    (P, ["--ninstances", "2", "--ncores-per-instance", "2"], [inst([0, 1], [0]), inst([4, 5], [1])]),
    (P, ["--ninstances", "2", "--ncores-per-instance", "2", "--strategy", "close"],
     [inst([0, 1], [0]), inst([2, 3], [0])]),
    # bind_numa_node: groups per node; scatter round-robins the nodes, first groups of each.
    (P, ["--ninstances", "3", "--ncores-per-instance", "2", "--bind-numa-node"],
     [inst([0, 1], [0]), inst([2, 3], [0]), inst([4, 5], [1])]),
    (P, ["--ninstances", "2", "--ncores-per-instance", "2", "--skip-cross-node-cores"],
     [inst([0, 1], [0]), inst([4, 5], [1])]),
    # bind_numa_node with ncores 0: each node ceil(n * node / total) instances, then one fewer for
    # the node with the smallest instances (a node with one counts as the whole pool) until n.
    (P, ["--ninstances", "3", "--bind-numa-node"],
     [inst(r(0, 3), [0]), inst([4, 5], [1]), inst([6, 7], [1])]),
    (U, ["--ninstances", "3", "--bind-numa-node"],
     [inst(r(0, 3), [0]), inst(r(4, 7), [1]), inst([8, 9], [2])]),
    (U, ["--ninstances", "4", "--bind-numa-node"],
     [inst(r(0, 3), [0]), inst([4, 5], [1]), inst([6, 7], [1]), inst([8, 9], [2])]),
    (X, ["--ninstances", "6", "--bind-numa-node", "--ncores-per-instance", "-1"],
     [inst(r(0, 2), [0]), inst(r(3, 5), [0]), inst([6, 7], [0]),
      inst(r(8, 10), [1]), inst(r(11, 13), [1]), inst([14, 15], [1])]),
    # latency: ncores 4, ninstances 0.
    (P, ["--latency-mode"], [inst(r(0, 3), [0]), inst(r(4, 7), [1])]),
    # throughput: one instance per node (bind_numa_node, ncores 0).
    (P, ["--throughput-mode"], [inst(r(0, 3), [0]), inst(r(4, 7), [1])]),
    (U, ["--throughput-mode"], [inst(r(0, 3), [0]), inst(r(4, 7), [1]), inst([8, 9], [2])]),
    # nodes_list: the pool is those nodes' physical cores.
    (P, ["--nodes-list", "1"], [inst(r(4, 7), [1])]),
    (P, ["--nodes-list", "0-1", "--ninstances", "4"],
     [inst([0, 1], [0]), inst([2, 3], [0]), inst([4, 5], [1]), inst([6, 7], [1])]),
    (P, ["--cores-list", "0-3", "--ninstances", "2"], [inst([0, 1], [0]), inst([2, 3], [0])]),
    # cores_list then the physical filter: siblings 8 and 9 are dropped.
    (P, ["--cores-list", "0,1,8,9"], [inst([0, 1], [0])]),
    # logical: pool sorted by (core, physical first), 8 CPUs each; every CPU used, so no
    # KMP_AFFINITY.
    (P, ["--use-logical-cores", "--ninstances", "2"],
     [inst(r(0, 3) + r(8, 11), [0], INTEL_LOGICAL_ALL),
      inst(r(4, 7) + r(12, 15), [1], INTEL_LOGICAL_ALL)]),
    (P, ["--use-logical-cores", "--nodes-list", "0"], [inst(r(0, 3) + r(8, 11), [0])]),
    # GNU OpenMP: OMP_SCHEDULE=STATIC, OMP_PROC_BIND=CLOSE.
    (P, ["--omp-runtime", "default", "--ninstances", "2"],
     [inst(r(0, 3), [0], GNU), inst(r(4, 7), [1], GNU)]),
    # instance_idx: only those instances of the full plan.
    (P, ["--ninstances", "2", "--instance-idx", "1"], [inst(r(4, 7), [1])]),
    (P, ["--ninstances", "4", "--instance-idx", "0,2-3"],
     [inst([0, 1], [0]), inst([4, 5], [1]), inst([6, 7], [1])]),
    # 16 cores, 8 candidates of 2, 4 wanted: step 2.
    (X, ["--ninstances", "4", "--ncores-per-instance", "2"],
     [inst([0, 1], [0]), inst([4, 5], [0]), inst([8, 9], [1]), inst([12, 13], [1])]),
    # prefixes and underscore spellings, as argparse.
    (P, ["--ninst", "2", "--ncores_per_instance", "2", "--strat", "close"],
     [inst([0, 1], [0]), inst([2, 3], [0])]),
]

# multi-task-manager none: no numactl; the OpenMP runtime binds to the instance's CPUs.
OPENMP_BINDS = [
    (["--ninstances", "2", "--multi-task-manager", "none"],
     [{"KMP_AFFINITY": "granularity=fine,proclist=[0-3],explicit", "KMP_BLOCKTIME": "1"},
      {"KMP_AFFINITY": "granularity=fine,proclist=[4-7],explicit", "KMP_BLOCKTIME": "1"}]),
    (["--ninstances", "2", "--multi-task-manager", "none", "--omp-runtime", "default"],
     [dict(GNU, GOMP_CPU_AFFINITY="0-3"), dict(GNU, GOMP_CPU_AFFINITY="4-7")]),
]


def spawn_as_ipexrun(flags, fixture, use_cpu_word=False):
    with tempfile.TemporaryDirectory() as tmp:
        if use_cpu_word:
            argv = [SPAWN, "cpu"]
        else:
            link = os.path.join(tmp, "ipexrun")
            os.symlink(SPAWN, link)
            argv = [link]
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("XEONRUN_", "OMP_", "KMP_", "GOMP_"))}
        proc = subprocess.run(
            argv + ["--dry-run", "--json", "--topology", "lscpu:" + os.path.join(FIXTURES, fixture),
                    *flags, "--no-python", "/bin/true"],
            capture_output=True, text=True, timeout=60, env=env)
    return proc


def plan(flags, fixture, use_cpu_word=False):
    proc = spawn_as_ipexrun(flags, fixture, use_cpu_word)
    if proc.returncode != 0:
        raise AssertionError(f"ipexrun {flags} failed ({proc.returncode}): {proc.stderr}")
    return json.loads(proc.stdout)


def handed(rank):
    """pin= and membind= of the placement handed to the rank."""
    fields = dict(f.split("=", 1) for f in rank["env"]["XEONRUN_PLACEMENT"].split(";")[1:])
    return fields["pin"], fields["membind"]


def ours(doc):
    out = []
    for rank in doc["ranks"]:
        env = {k: v for k, v in rank["env"].items() if k in IPEX_VARIABLES}
        out.append({"cpus": rank["cpus"], "mems": rank["mems"], "env": env})
    return out


class SamePlanAsIpexrun(unittest.TestCase):
    def test_every_case(self):
        for fixture, flags, expected in SAME:
            with self.subTest(fixture=fixture, flags=" ".join(flags) or "(none)"):
                self.assertEqual(ours(plan(flags, fixture)), expected)

    def test_backend_word_cpu_is_ipexrun(self):
        # Same line, run_cpu's semantics without `cpu` (it packs: close), ipexrun's with it.
        flags = ["--ninstances", "2", "--ncores-per-instance", "2"]
        self.assertEqual([r["cpus"] for r in plan(flags, P, use_cpu_word=True)["ranks"]],
                         [[0, 1], [4, 5]])
        proc = subprocess.run([SPAWN, "--dry-run", "--json", "--topology",
                               "lscpu:" + os.path.join(FIXTURES, P), *flags, "/bin/true"],
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual([r["cpus"] for r in json.loads(proc.stdout)["ranks"]], [[0, 1], [2, 3]])

    def test_multi_task_manager_none_binds_through_openmp(self):
        for flags, expected in OPENMP_BINDS:
            with self.subTest(flags=" ".join(flags)):
                doc = plan(flags, P)
                got = [{k: v for k, v in r["env"].items() if k in IPEX_VARIABLES and
                        k != "OMP_NUM_THREADS"} for r in doc["ranks"]]
                self.assertEqual(got, expected)
                self.assertEqual([handed(r) for r in doc["ranks"]], [("none", "none")] * 2)

    def test_taskset_binds_cpus_not_memory(self):
        doc = plan(["--ninstances", "2", "--multi-task-manager", "taskset"], P)
        self.assertEqual([handed(r) for r in doc["ranks"]], [("process", "none")] * 2)


class RightWhereIpexrunIsWrong(unittest.TestCase):
    """Each case: what ipexrun does (from its code) and what the plan does instead."""

    def refused(self, flags, fixture, words):
        proc = spawn_as_ipexrun(flags, fixture)
        self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
        line = proc.stderr.strip()
        self.assertEqual(len(line.splitlines()), 1, line)
        for word in words:
            self.assertIn(word, line)

    def test_scatter_never_drops_instances(self):
        # ipexrun: 8 candidates, step ceil(8/5) = 2 -> rst[::2] starts 4 of the 5 instances.
        doc = plan(["--ninstances", "5", "--ncores-per-instance", "2"], X)
        cpus = [r["cpus"] for r in doc["ranks"]]
        self.assertEqual(len(cpus), 5)
        self.assertEqual(cpus, [[0, 1], [2, 3], [6, 7], [8, 9], [12, 13]])

    def test_instance_idx_minus_one_is_every_instance(self):
        # ipexrun: parse_list_argument("-1") splits on '-' and int('') raises ValueError.
        doc = plan(["--ninstances", "2", "--instance-idx", "-1"], P)
        self.assertEqual([r["rank"] for r in doc["ranks"]], [0, 1])

    def test_never_an_instance_without_cpus(self):
        # ipexrun: 8 // 10 = 0 cores each: ten instances with numactl -C '' and OMP_NUM_THREADS=0.
        self.refused(["--ninstances", "10"], P, ["XEONRUN_NINSTANCES=10", "--ninstances"])

    def test_siblings_only_cores_list_gets_one_pu_per_core(self):
        # ipexrun: the physical filter leaves an empty pool: an instance without CPUs.
        doc = plan(["--cores-list", "8-11"], P)
        self.assertEqual([r["cpus"] for r in doc["ranks"]], [[8, 9, 10, 11]])
        self.assertEqual(doc["ranks"][0]["env"]["OMP_NUM_THREADS"], "4")

    def test_too_large_ncores_per_instance_is_an_error(self):
        # ipexrun: no group fits, ninstances 0: nothing starts and it exits 0.
        self.refused(["--ncores-per-instance", "9"], P, ["--ncores-per-instance", "accepted"])

    def test_logical_cores_never_split_a_core(self):
        # ipexrun: 16 // 3 = 5 logical CPUs each over (core, physical)-sorted CPUs: cores 2, 4
        # and 7 are split between instances.
        doc = plan(["--use-logical-cores", "--ninstances", "3"], P)
        cores = [sorted({c % 8 for c in r["cpus"]}) for r in doc["ranks"]]
        flat = [c for rank in cores for c in rank]
        self.assertEqual(len(flat), len(set(flat)), cores)
        for r in doc["ranks"]:
            self.assertEqual(len(r["cpus"]), 2 * len({c % 8 for c in r["cpus"]}))
        self.refused(["--use-logical-cores", "--ncores-per-instance", "3"], P,
                     ["--ncores-per-instance", "split"])

    def test_memory_nodes_exist_without_numa_information(self):
        # ipexrun: no Node column, so socket ids are node ids: -m 0 and -m 1, node 1 missing.
        doc = plan(["--ninstances", "2"], "vm_2s_no_numa.lscpu")
        self.assertEqual([r["cpus"] for r in doc["ranks"]], [[0, 1], [2, 3]])
        self.assertEqual([r["mems"] for r in doc["ranks"]], [[0], [0]])

    def test_throughput_mode_honours_nodes_list(self):
        # ipexrun: warns that --nodes-list takes no effect, then plans ninstances = 2 (every node)
        # inside node 1: two instances of 2 cores.
        doc = plan(["--throughput-mode", "--nodes-list", "1"], P)
        self.assertEqual([r["cpus"] for r in doc["ranks"]], [r(4, 7)])
        self.assertFalse(any("nodes" in w.lower() for w in doc.get("warnings", [])))

    def test_distributed_flags_say_what_to_run(self):
        self.refused(["--nnodes", "2"], P, ["--nnodes", "mpiexec"])
        self.refused(["--nprocs-per-node", "2"], P, ["--nprocs-per-node", "torchrun"])

    def test_unknown_and_ambiguous_flags(self):
        self.refused(["--bogus"], P, ["--bogus"])
        self.refused(["--n", "2"], P, ["ambiguous"])


if __name__ == "__main__":
    SPAWN, FIXTURES = os.path.abspath(sys.argv[1]), sys.argv[2]
    unittest.main(argv=[sys.argv[0], "-v"])
