#!/usr/bin/env python3
"""The Python package, built and used the way PyTorch users install and launch (issue #17).

Builds the wheel with meson-python (`python3 -m build --wheel --no-isolation`, Debian's
python3-build and python3-mesonpy, offline), installs it into a fresh venv that sees Debian's
torch (--system-site-packages), and runs `python -m xeonplace --ninstances N app.py` from the venv:
each rank prints xeonplace.placement(), torch.get_num_threads() and the interpreter it runs under.
The expected ranks come from the affinity this test runs under (tests/support/machine.py: N is 2,
or 1 under `taskset -c 1`); a `python3` first on PATH that is not the venv's must not be used.

Environment (set by meson): XEONPLACE_SOURCE_ROOT, XEONPLACE_WHEEL_BUILDDIR (meson-python's build
directory, kept between runs so that a rerun compiles nothing), PYTHON_FOR_PACKAGE (the system
interpreter that has torch, /usr/bin/python3)."""

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from machine import this_machine  # noqa: E402
from runner_env import placement_free_env  # noqa: E402

SOURCE = os.environ["XEONPLACE_SOURCE_ROOT"]
WHEEL_BUILDDIR = os.environ["XEONPLACE_WHEEL_BUILDDIR"]
PYTHON = os.environ.get("PYTHON_FOR_PACKAGE", "/usr/bin/python3")

APP = textwrap.dedent("""\
    import json, os, sys
    # Before torch: its OpenMP runtime binds this thread to one CPU of the rank (KMP_AFFINITY).
    affinity = sorted(os.sched_getaffinity(0))
    import torch
    import xeonplace
    p = xeonplace.placement()
    print(json.dumps({"placement": p._asdict() if p else None,
                      "torch_threads": torch.get_num_threads(), "affinity": affinity,
                      "prefix": sys.prefix, "package": xeonplace.__file__}))
    """)


def run(argv, timeout=60, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)


def clean_env(**extra):
    """This environment without placement inputs, launcher ranks, a preload or thread counts."""
    return placement_free_env(drop=("PYTHON", "MKL_NUM_THREADS"), **extra)


class PythonPackage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="xeonplace-wheel-")
        dist = os.path.join(cls.tmp, "dist")
        if not os.path.exists(os.path.join(WHEEL_BUILDDIR, "meson-private", "coredata.dat")):
            # meson-python 0.12 only reconfigures a builddir it is given: set it up first.
            made = run(["meson", "setup", WHEEL_BUILDDIR, SOURCE, "-Dpython_package=true",
                        "-Dtests=false", "-Dvm_tests=false"], timeout=300, env=clean_env())
            if made.returncode != 0:
                raise AssertionError("meson setup: " + made.stdout + made.stderr)
        built = run([PYTHON, "-m", "build", "--wheel", "--no-isolation", "--outdir", dist,
                     f"-Cbuilddir={WHEEL_BUILDDIR}", SOURCE], timeout=1200, env=clean_env())
        if built.returncode != 0:
            raise AssertionError("the wheel did not build:\n" + built.stdout[-4000:]
                                 + built.stderr[-4000:])
        wheels = glob.glob(os.path.join(dist, "xeonplace-*.whl"))
        if len(wheels) != 1:
            raise AssertionError(f"expected one wheel in {dist}, found {wheels}")
        cls.wheel = wheels[0]
        cls.venv = os.path.join(cls.tmp, "venv")
        made = run([PYTHON, "-m", "venv", "--system-site-packages", cls.venv], timeout=300)
        if made.returncode != 0:
            raise AssertionError("venv: " + made.stdout + made.stderr)
        cls.python = os.path.join(cls.venv, "bin", "python")
        installed = run([cls.python, "-m", "pip", "install", "--no-index", "--no-deps",
                         "--disable-pip-version-check", "--quiet", cls.wheel], timeout=300)
        if installed.returncode != 0:
            raise AssertionError("pip install: " + installed.stdout + installed.stderr)
        # A python3 first on PATH that is not the venv's: the ranks must not run under it.
        cls.decoy = os.path.join(cls.tmp, "decoy")
        os.mkdir(cls.decoy)
        with open(os.path.join(cls.decoy, "python3"), "w") as f:
            f.write("#!/bin/sh\necho 'the python3 on PATH ran' >&2\nexit 97\n")
        os.chmod(os.path.join(cls.decoy, "python3"), 0o755)
        cls.app = os.path.join(cls.tmp, "app.py")
        with open(cls.app, "w") as f:
            f.write(APP)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def venv_run(self, argv, **extra):
        env = clean_env(PATH=self.decoy + os.pathsep + os.environ.get("PATH", ""), **extra)
        return run([self.python, *argv], timeout=300, cwd=self.tmp, env=env)

    def package_dir(self):
        found = self.venv_run(["-c", "import xeonplace, os; print(os.path.dirname(xeonplace.__file__))"])
        self.assertEqual(found.returncode, 0, found.stderr)
        return found.stdout.strip()

    def test_the_wheel_holds_the_package_library_engine_and_spawner(self):
        package = self.package_dir()
        self.assertTrue(package.startswith(self.venv + os.sep), package)
        path = self.venv_run(["-c", "import xeonplace; print(xeonplace.library_path())"])
        self.assertEqual(path.stdout.strip(), os.path.join(package, "lib", "libxeonplace.so"))
        for part in ("lib/libxeonplace.so", "lib/libxeonplace-engine.so", "bin/xeonrun-spawn"):
            self.assertTrue(os.path.isfile(os.path.join(package, part)), part)

    def test_ranks_run_under_this_interpreter_placed_by_the_package_library(self):
        # Two ranks where the affinity has two cores; one rank of every core too, where torch's
        # thread count is the plan's (it is 1 unplaced on the 2-CPU development machine).
        machine = this_machine()
        for nranks in sorted({machine.ranks_up_to(2), 1}):
            with self.subTest(nranks=nranks):
                self.check_ranks(machine, nranks)

    def check_ranks(self, machine, nranks):
        plan = machine.plan(nranks)
        done = self.venv_run(["-m", "xeonplace", "--ninstances", str(nranks), self.app])
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertNotIn("the python3 on PATH ran", done.stderr)
        summary = [line for line in done.stderr.splitlines()
                   if line.startswith("xeonrun-spawn: rank ")]
        self.assertEqual(len(summary), nranks, done.stderr)
        self.assertTrue(all(" exit 0 " in line for line in summary), done.stderr)
        others = "\n".join(line for line in done.stderr.splitlines() if line not in summary)
        self.assertIsNone(plan.expected_stderr_problems(others))
        reports = {}
        for line in done.stdout.splitlines():
            tag, _, text = line.partition(" ")
            if tag.startswith("[run") and text.startswith("{"):
                reports[int(tag[4:-1])] = json.loads(text)
        self.assertEqual(sorted(reports), list(range(nranks)), done.stdout)
        package = self.package_dir()
        for rank in plan:
            report = reports[rank.index]
            self.assertEqual(report["prefix"], self.venv, f"{rank}: ran under another python")
            self.assertTrue(report["package"].startswith(package), report["package"])
            self.assertEqual(report["placement"],
                             {"rank": rank.index, "nranks": nranks, "cpus": rank.cpus,
                              "mems": rank.mems, "membind": "bind"}, f"{rank}")
            self.assertEqual(report["affinity"], rank.cpus, f"{rank}")
            self.assertEqual(report["torch_threads"], rank.threads, f"{rank}")

    def test_dry_run_preloads_the_package_library(self):
        preview = self.venv_run(["-m", "xeonplace", "--dry-run", "--json", "--ninstances", "1",
                                 self.app])
        self.assertEqual(preview.returncode, 0, preview.stderr)
        rank = json.loads(preview.stdout)["ranks"][0]
        package = self.package_dir()
        self.assertEqual(rank["env"]["LD_PRELOAD"].split(":")[-1],
                         os.path.join(package, "lib", "libxeonplace.so"))

    def test_unplaced_process_gets_none_and_asking_places_nothing(self):
        # With an XEONRUN_* input and no preload, loading the library to ask would place the
        # process (xeonplace.h): placement() must load it disabled, and leave no trace.
        probe = ("import os, xeonplace; print(xeonplace.placement(), xeonplace.placement(),"
                 " 'XEONRUN_DISABLE' in os.environ)")
        for extra in ({}, {"XEONRUN_NINSTANCES": "1"}):
            asked = self.venv_run(["-c", probe], **extra)
            self.assertEqual((asked.returncode, asked.stdout.strip(), asked.stderr),
                             (0, "None None False", ""), f"environment {extra}")

if __name__ == "__main__":
    unittest.main(verbosity=2)
