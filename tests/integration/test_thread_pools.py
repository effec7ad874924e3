#!/usr/bin/env python3
"""Every thread pool gets the rank's thread count (issue #15), not only OpenMP: a placed python3
with Debian's numpy (OpenBLAS) and numexpr reports the rank's core count for both pools and sees
the pools' variables set to it, and a pool the user sized keeps the user's count. (On Debian
these two pools would also follow the rank without the variables: OpenBLAS sizes itself from the
affinity, numexpr falls back to OMP_NUM_THREADS; MKL, numba, TensorFlow and rayon do not, and are
not packaged here.)

Expectations come from the affinity the test runs under (tests/support/machine.py).
Environment (set by meson): XP_LIB, the built libxeonplace.so."""
import json
import os
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from case_driver import clean_env  # noqa: E402
from machine import this_machine  # noqa: E402

LIB = os.environ["XP_LIB"]
PYTHON = "/usr/bin/python3"  # Debian's, with Debian's numpy and numexpr
PROBE = """
import json, os, numexpr, numpy, threadpoolctl
blas = [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
pools = ("MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS", "NUMBA_NUM_THREADS")
print(json.dumps({"blas": blas, "numexpr": numexpr.get_num_threads(),
                  "cpus": sorted(os.sched_getaffinity(0)),
                  "env": {name: os.environ.get(name) for name in pools}}))
"""


def have_modules():
    probe = subprocess.run([PYTHON, "-c", "import numpy, numexpr, threadpoolctl"],
                           capture_output=True)
    return probe.returncode == 0


def pools(nranks, rank, **extra):
    env = dict(clean_env(), LD_PRELOAD=LIB, XEONRUN_NINSTANCES=str(nranks),
               XEONRUN_RANK=str(rank), XEONRUN_ALLOCATOR="default", **extra)
    r = subprocess.run([PYTHON, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError(f"exit {r.returncode}: {r.stderr}")
    return json.loads(r.stdout)


@unittest.skipUnless(have_modules(), "needs python3-numpy, python3-numexpr, python3-threadpoolctl")
class ThreadPools(unittest.TestCase):
    def setUp(self):
        self.machine = this_machine()
        # As many ranks as cores: each rank one core, the case where a pool sized from the
        # machine would oversubscribe it.
        self.nranks = len(self.machine.cores)
        self.plan = self.machine.plan(self.nranks)

    def test_blas_and_numexpr_get_the_ranks_thread_count(self):
        for rank in self.plan.ranks:
            with self.subTest(rank=rank.index):
                got = pools(self.nranks, rank.index)
                self.assertEqual(got["cpus"], rank.cpus)
                self.assertTrue(got["blas"], "numpy reports no BLAS thread pool")
                self.assertEqual(set(got["blas"]), {rank.threads})
                self.assertEqual(got["numexpr"], rank.threads)
                self.assertEqual(set(got["env"].values()), {str(rank.threads)})

    def test_openmp_only_sets_no_other_pool(self):
        rank = self.plan.ranks[0]
        got = pools(self.nranks, 0, XEONRUN_THREAD_POOLS="openmp")
        self.assertEqual(got["cpus"], rank.cpus)
        self.assertEqual(set(got["env"].values()), {None})

    def test_a_pool_the_user_sized_keeps_its_count(self):
        got = pools(self.nranks, 0, NUMEXPR_NUM_THREADS="3")
        self.assertEqual(got["numexpr"], 3)


if __name__ == "__main__":
    unittest.main(verbosity=2)
