#!/usr/bin/env python3
"""The Debian packages, built, checked and used from where apt puts them (issue #17).

Copies the checkout's files (git ls-files) to a temporary directory, builds the binary packages
there with `dpkg-buildpackage -us -uc -b` (DEB_BUILD_OPTIONS: nocheck, noddebs, parallel=2),
requires lintian to report no error on them, installs them with `apt-get install ./….deb`, and
then uses the installed files with nothing of the build tree on PATH or LD_LIBRARY_PATH: the
installed xeonrun-spawn's --dry-run names the installed library, a placed rank and a program
built with `pkg-config` against libxeonplace-dev read the CPUs this test's affinity gives
(tests/support/machine.py, so it passes under `taskset -c N`), and the man pages resolve. The
packages are purged at the end (also when a check failed), so that the suites that use the build
tree never meet a copy in /usr.

It changes the system: suite `deb`, which `meson test` leaves out unless asked for by name
(`meson test --suite deb`, tools/setup.sh test runs it after the other suites). Needs root.

Environment (set by meson): XEONPLACE_SOURCE_ROOT, XEONPLACE_PLACED_C, CC."""

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from machine import comma_text, this_machine  # noqa: E402

SOURCE = os.environ["XEONPLACE_SOURCE_ROOT"]
PACKAGES = ("libxeonplace0", "libxeonplace-dev", "xeonplace-tools")
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def run(argv, timeout=120, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)


def system_env(**extra):
    """A user's environment: the system PATH only, no LD_LIBRARY_PATH, no placement inputs."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("XEONRUN_", "PKG_CONFIG", "LD_")) and k not in (
               "PYTHON", "LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID",
               "SLURM_LOCALID")}
    env["PATH"] = SYSTEM_PATH
    env.update(extra)
    return env


def installed_packages():
    found = run(["dpkg-query", "-W", "-f", "${Package} ${Status}\n", *PACKAGES])
    return [line.split()[0] for line in found.stdout.splitlines() if "install ok installed" in line]


def purge():
    return run(["apt-get", "purge", "-y", "-qq", *PACKAGES], timeout=300,
               env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))


class DebianPackages(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise AssertionError("installing the packages needs root")
        if installed_packages():
            raise AssertionError(f"{installed_packages()} already installed: this test installs "
                                 "and purges them; remove them first (apt-get purge)")
        cls.tmp = tempfile.mkdtemp(prefix="xeonplace-deb-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        src = os.path.join(cls.tmp, "xeonplace")
        files = run(["git", "-C", SOURCE, "ls-files", "-z", "--cached", "--others",
                     "--exclude-standard"])
        if files.returncode != 0:
            raise AssertionError("git ls-files: " + files.stderr)
        for name in filter(None, files.stdout.split("\0")):
            if os.path.isfile(os.path.join(SOURCE, name)):
                os.makedirs(os.path.dirname(os.path.join(src, name)), exist_ok=True)
                shutil.copy2(os.path.join(SOURCE, name), os.path.join(src, name))
        built = run(["dpkg-buildpackage", "-us", "-uc", "-b"], timeout=1500, cwd=src,
                    env=dict(os.environ, DEB_BUILD_OPTIONS="nocheck noddebs parallel=2"))
        if built.returncode != 0:
            raise AssertionError("dpkg-buildpackage failed:\n" + built.stdout[-3000:]
                                 + built.stderr[-3000:])
        cls.debs = sorted(glob.glob(os.path.join(cls.tmp, "*.deb")))
        cls.changes = glob.glob(os.path.join(cls.tmp, "*.changes"))
        cls.addClassCleanup(purge)
        done = run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *cls.debs],
                   timeout=300, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        if done.returncode != 0:
            raise AssertionError("apt-get install ./….deb failed:\n" + done.stdout + done.stderr)
        cls.multiarch = run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"]).stdout.strip()

    def library(self):
        return f"/usr/lib/{self.multiarch}/libxeonplace.so"

    def test_three_packages_were_built_and_installed(self):
        names = sorted(os.path.basename(deb).split("_")[0] for deb in self.debs)
        self.assertEqual(names, sorted(PACKAGES))
        self.assertEqual(sorted(installed_packages()), sorted(PACKAGES))

    def test_lintian_reports_no_error(self):
        checked = run(["lintian", "--fail-on", "error", "--tag-display-limit", "0",
                       *self.changes], timeout=600)
        self.assertEqual(checked.returncode, 0, checked.stdout + checked.stderr)
        self.assertEqual([line for line in checked.stdout.splitlines()
                          if line.startswith("E:")], [], checked.stdout)

    def test_installed_spawn_previews_with_the_installed_library(self):
        spawn = shutil.which("xeonrun-spawn", path=SYSTEM_PATH)
        self.assertEqual(spawn, "/usr/bin/xeonrun-spawn")
        machine = this_machine()
        nranks = machine.ranks_up_to(2)
        preview = run([spawn, "--dry-run", "--json", "--ninstances", str(nranks), "--no-python",
                       "/bin/true"], env=system_env())
        self.assertEqual(preview.returncode, 0, preview.stderr)
        ranks = json.loads(preview.stdout)["ranks"]
        self.assertEqual(len(ranks), nranks, preview.stdout)
        for rank in ranks:
            self.assertEqual(rank["env"]["LD_PRELOAD"].split(":")[-1], self.library())
        self.assertTrue(os.path.isfile(self.library()))
        table = run([spawn, "--dry-run", "--ninstances", str(nranks), "--no-python", "/bin/true"],
                    env=system_env())
        self.assertEqual(table.returncode, 0, table.stderr)
        for rank in machine.plan(nranks):
            self.assertTrue(any(line.split()[:2] == [str(rank.index), rank.cpus_text]
                                for line in table.stdout.splitlines()[1:]), table.stdout)

    def test_installed_spawn_places_each_rank(self):
        machine = this_machine()
        nranks = machine.ranks_up_to(2)
        ranks = run(["xeonrun-spawn", "--ninstances", str(nranks), "--no-python", "sh", "-c",
                     "echo $XEONRUN_PLACED_RANK $XEONRUN_PLACED_CPUS "
                     "$(grep Cpus_allowed_list /proc/self/status | cut -f2)"], env=system_env())
        self.assertEqual(ranks.returncode, 0, ranks.stderr)
        for rank in machine.plan(nranks):
            self.assertIn(f"[run{rank.index}] {rank.index} {rank.cpus_text} {rank.cpus_text}",
                          ranks.stdout.splitlines(), ranks.stdout)

    def test_program_built_with_pkg_config_reads_its_placement(self):
        flags = run(["pkg-config", "--cflags", "--libs", "xeonplace"], env=system_env())
        self.assertEqual(flags.returncode, 0, flags.stderr)
        program = os.path.join(self.tmp, "placed")
        cc = run(os.environ["CC"].split() + [os.environ["XEONPLACE_PLACED_C"], "-o", program]
                 + flags.stdout.split(), env=system_env())
        self.assertEqual(cc.returncode, 0, cc.stderr)
        # Preloaded by its bare name: the dynamic loader finds it in the system directory.
        placed = run([program], env=system_env(LD_PRELOAD="libxeonplace.so",
                                               XEONRUN_NINSTANCES="1"))
        self.assertEqual(placed.returncode, 0, placed.stderr)
        rank = this_machine().plan(1)[0]
        self.assertEqual(placed.stdout.strip(), "placed=1 cpus=" + comma_text(rank.cpus))

    def test_man_pages_are_found(self):
        for page in (["1", "xeonrun-spawn"], ["1", "ipexrun"], ["1", "xeonrun-tune"],
                     ["7", "xeonplace"]):
            found = run(["man", "-w", *page], env=system_env())
            self.assertEqual(found.returncode, 0, found.stderr)
            self.assertTrue(found.stdout.strip().startswith("/usr/share/man/"), found.stdout)

    def test_completions_are_where_bash_completion_loads_them(self):
        for command in ("xeonrun-spawn", "ipexrun", "xeonrun-tune"):
            path = "/usr/share/bash-completion/completions/" + command
            registered = run(["bash", "--norc", "-c", f'source "{path}" && complete -p {command}'],
                             env=system_env())
            self.assertEqual(registered.returncode, 0, registered.stderr)
            self.assertIn(f" {command}", registered.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
