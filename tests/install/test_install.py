#!/usr/bin/env python3
"""The installed tree, used the way its users use it (issue #17).

`meson install --destdir` into a temporary directory, then: a C program built with nothing but
`pkg-config --cflags --libs xeonplace` (the DESTDIR reached through PKG_CONFIG_SYSROOT_DIR) runs
with the installed libxeonplace.so preloaded and reads its placement through the C API; the
expected CPUs come from the affinity this test runs under (tests/support/machine.py), so it passes
under `taskset -c N` too. The installed xeonrun-spawn names the installed library as its default
and, given it with --library (its default path does not exist under a DESTDIR), places a rank.

Environment (set by meson): XEONPLACE_BUILD_ROOT, XEONPLACE_PLACED_C, CC and the install
directories XEONPLACE_{LIBDIR,BINDIR,MANDIR,DATADIR}."""

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
from runner_env import placement_free_env  # noqa: E402

BUILD = os.environ["XEONPLACE_BUILD_ROOT"]
LIBDIR = os.environ["XEONPLACE_LIBDIR"]
BINDIR = os.environ["XEONPLACE_BINDIR"]


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, **kw)


def completion_path(command):
    """Where bash-completion looks for `command`'s completion: a file named after it."""
    return os.path.join(os.environ["XEONPLACE_DATADIR"], "bash-completion", "completions",
                        command)


def clean_env(**extra):
    """This environment without placement inputs, launcher ranks or pkg-config's settings."""
    return placement_free_env(drop_prefixes=("PKG_CONFIG",), **extra)


class InstalledTree(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="xeonplace-install-")
        cls.destdir = os.path.join(cls.tmp, "root")
        done = run(["meson", "install", "-C", BUILD, "--no-rebuild", "--quiet",
                    "--destdir", cls.destdir])
        if done.returncode != 0:
            raise AssertionError("meson install failed:\n" + done.stdout + done.stderr)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def installed(self, path):
        """`path` (an absolute install path) inside the DESTDIR."""
        return self.destdir + path

    def pkg_config_env(self):
        return clean_env(PKG_CONFIG_SYSROOT_DIR=self.destdir,
                         PKG_CONFIG_PATH=self.installed(os.path.join(LIBDIR, "pkgconfig")))

    def build_program(self):
        flags = run(["pkg-config", "--cflags", "--libs", "xeonplace"], env=self.pkg_config_env())
        self.assertEqual(flags.returncode, 0, flags.stderr)
        program = os.path.join(self.tmp, "placed")
        cc = run(os.environ["CC"].split() + [os.environ["XEONPLACE_PLACED_C"], "-o", program]
                 + flags.stdout.split())
        self.assertEqual(cc.returncode, 0, f"{flags.stdout.strip()}\n{cc.stderr}")
        return program

    def test_pkg_config_names_the_installed_header_and_library(self):
        flags = run(["pkg-config", "--cflags", "--libs", "xeonplace"], env=self.pkg_config_env())
        self.assertEqual(flags.returncode, 0, flags.stderr)
        words = flags.stdout.split()
        self.assertIn("-lxeonplace", words)
        include = [w[2:] for w in words if w.startswith("-I")]
        self.assertTrue(any(os.path.isfile(os.path.join(d, "xeonplace", "xeonplace.h"))
                            for d in include), flags.stdout)

    def test_program_built_with_pkg_config_reads_its_placement(self):
        program = self.build_program()
        library = self.installed(os.path.join(LIBDIR, "libxeonplace.so"))
        placed = run([program], env=clean_env(LD_PRELOAD=library, XEONRUN_NINSTANCES="1"))
        self.assertEqual(placed.returncode, 0, placed.stderr)
        rank = this_machine().plan(1)[0]
        self.assertEqual(placed.stdout.strip(), "placed=1 cpus=" + comma_text(rank.cpus),
                         placed.stderr)

    def test_unplaced_program_says_so(self):
        program = self.build_program()
        library = self.installed(os.path.join(LIBDIR, "libxeonplace.so"))
        plain = run([program], env=clean_env(LD_PRELOAD=library))
        self.assertEqual((plain.returncode, plain.stdout.strip()), (0, "placed=0 cpus="),
                         plain.stderr)

    def test_installed_spawn_defaults_to_the_installed_library(self):
        spawn = self.installed(os.path.join(BINDIR, "xeonrun-spawn"))
        # The preview needs no library on disk: it shows what each rank would preload.
        preview = run([spawn, "--dry-run", "--json", "--ninstances", "1", "--no-python",
                       "/bin/true"], env=clean_env())
        self.assertEqual(preview.returncode, 0, preview.stderr)
        preload = json.loads(preview.stdout)["ranks"][0]["env"]["LD_PRELOAD"].split(":")
        default = os.path.join(LIBDIR, "libxeonplace.so")
        self.assertEqual(preload[-1], default)
        self.assertTrue(os.path.isfile(self.installed(default)), default)

    def test_installed_spawn_places_a_rank_with_the_installed_library(self):
        program = self.build_program()
        spawn = self.installed(os.path.join(BINDIR, "xeonrun-spawn"))
        library = self.installed(os.path.join(LIBDIR, "libxeonplace.so"))
        # The program links libxeonplace.so; the rank's LD_PRELOAD copy (same soname) serves it.
        ranks = run([spawn, "--library", library, "--ninstances", "1", "--no-python", program],
                    env=clean_env())
        self.assertEqual(ranks.returncode, 0, ranks.stderr)
        rank = this_machine().plan(1)[0]
        self.assertIn("[run0] placed=1 cpus=" + comma_text(rank.cpus), ranks.stdout, ranks.stderr)

    def test_ipexrun_is_installed_as_the_spawner_with_ipexruns_command_line(self):
        link = self.installed(os.path.join(BINDIR, "ipexrun"))
        self.assertEqual(os.readlink(link), "xeonrun-spawn")
        # Named ipexrun or given ipexrun's backend word `cpu`: the same plan.
        args = ["--dry-run", "--json", "--ninstances", "1", "--no-python", "/bin/true"]
        named = run([link] + args, env=clean_env())
        worded = run([self.installed(os.path.join(BINDIR, "xeonrun-spawn")), "cpu"] + args,
                     env=clean_env())
        self.assertEqual(named.returncode, 0, named.stderr)
        self.assertEqual(named.stdout, worded.stdout)
        self.assertIn("XEONRUN_COMPAT", run([link, "--help"], env=clean_env()).stdout)

    def test_man_pages_and_completion_are_installed(self):
        mandir = os.environ["XEONPLACE_MANDIR"]
        paths = [os.path.join(mandir, "man7", "xeonplace.7")]
        for command in ("xeonrun-spawn", "ipexrun", "xeonrun-tune"):
            paths += [os.path.join(mandir, "man1", command + ".1"), completion_path(command)]
        for path in paths:
            self.assertTrue(os.path.isfile(self.installed(path)), path)

    def test_installed_ipexrun_completion_completes_ipexruns_own_flags(self):
        # As bash-completion loads it: the file named after the command, sourced, then the
        # function `complete -p ipexrun` names is called for the words typed so far.
        script = ('source "$1"; shift\n'
                  "spec=$(complete -p ipexrun) || exit 1\n"
                  'function=${spec#*-F }; function=${function%% *}\n'
                  'COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))\n'
                  '"$function"; printf "%s\\n" "${COMPREPLY[@]}"\n')
        installed = self.installed(completion_path("ipexrun"))

        def complete(*words):
            out = run(["bash", "--norc", "-c", script, "bash", installed, *words])
            self.assertEqual(out.returncode, 0, out.stderr)
            return sorted(filter(None, out.stdout.splitlines()))

        # ipexrun's words for --strategy (xeonrun-spawn's add auto) and its own flags.
        self.assertEqual(complete("ipexrun", "--strategy", ""), ["close", "scatter"])
        self.assertEqual(complete("ipexrun", "cpu", "--multi-t"), ["--multi-task-manager"])
        self.assertEqual(complete("ipexrun", "--log"),
                         ["--log-dir", "--log-file-prefix", "--log_path"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
