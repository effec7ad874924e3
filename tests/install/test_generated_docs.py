#!/usr/bin/env python3
"""The man pages and the bash completion the build generates (issue #17) are well-formed and say
what xeonrun-spawn --help and the variable table say.

Environment (set by meson): XEONPLACE_DOCGEN, XEONRUN_SPAWN, XEONPLACE_MAN1, XEONPLACE_MAN7,
XEONPLACE_COMPLETION (the built files)."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True

DOCGEN = os.environ["XEONPLACE_DOCGEN"]
SPAWN = os.environ["XEONRUN_SPAWN"]
MAN1 = os.environ["XEONPLACE_MAN1"]
MAN7 = os.environ["XEONPLACE_MAN7"]
COMPLETION = os.environ["XEONPLACE_COMPLETION"]


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, **kw)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def help_flags():
    """Every spelling of every flag xeonrun-spawn --help lists, and those that take a value."""
    text = run([SPAWN, "--help"]).stdout
    flags, with_value = set(), set()
    for line in text.splitlines():
        match = re.match(r"  (-[^ ].*?)(?:   |$)", line)
        if not match:
            continue
        words = match.group(1).replace(",", " ").split()
        spellings = [w for w in words if w.startswith("-")]
        flags.update(spellings)
        if len(spellings) < len(words):
            with_value.update(spellings)
    return flags, with_value


def rendered(page):
    """The page as plain text: wide lines, no hyphenation, ASCII hyphens for \\-."""
    out = run(["groff", "-man", "-Tascii", "-rLL=400n", "-rHY=0", "-P-c", "-P-b", "-P-u", page])
    return out.stdout


def need(program):
    if not shutil.which(program):
        print(f"SKIP: {program} is not installed (apt-get install groff-base)")
        sys.exit(77)


class ManPages(unittest.TestCase):
    def test_built_pages_are_what_docgen_generates_now(self):
        for page, mode in ((MAN1, "--man1"), (MAN7, "--man7")):
            self.assertEqual(read(page), run([DOCGEN, mode]).stdout, page)

    def test_pages_format_without_warnings(self):
        for page in (MAN1, MAN7):
            out = run(["groff", "-man", "-Tutf8", "-ww", "-z", page])
            self.assertEqual((out.returncode, out.stderr), (0, ""), page)

    def test_man_reads_them(self):
        if not shutil.which("man"):
            self.skipTest("man (man-db) is not installed")
        for page, name in ((MAN1, "XEONRUN-SPAWN"), (MAN7, "XEONPLACE")):
            out = run(["man", "-l", page], env=dict(os.environ, MANPAGER="cat", MANWIDTH="100"))
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertIn(name, out.stdout)

    def test_spawn_page_lists_every_flag_of_help(self):
        text = rendered(MAN1)
        flags, _ = help_flags()
        self.assertGreater(len(flags), 20)
        missing = [f for f in sorted(flags)
                   if not re.search(r"(^|[\s,])" + re.escape(f) + r"\b", text)]
        self.assertEqual(missing, [])
        self.assertIn("EXIT STATUS", text)
        self.assertIn("127 when the program is not found", text)

    def test_xeonplace_page_lists_every_variable_and_launcher(self):
        text = rendered(MAN7)
        table = run([DOCGEN, "--markdown"]).stdout
        names = re.findall(r"^\| `([A-Z_]+\*?)` \|", table, re.M)
        launchers = re.findall(r"^\| ([^`|][^|]*?) \| `", table, re.M)
        self.assertGreater(len(names), 20)
        listed = set(re.findall(r"XEONRUN_[A-Z_]*\*?", text))
        self.assertEqual([n for n in names if n not in listed], [])
        self.assertEqual([l for l in launchers if l not in text], [])
        self.assertIn("status 2 (XEONPLACE_EXIT_CONFIG_ERROR)", text)


def complete(words, cwd=None):
    """COMPREPLY for the command line `words`, completing its last word."""
    script = (f"source {COMPLETION}\n"
              "COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1))\n"
              "_xeonrun_spawn 2>/dev/null\n"
              "printf '%s\\n' \"${COMPREPLY[@]}\"\n")
    out = run(["bash", "--norc", "-c", script, "bash"] + words, cwd=cwd)
    return sorted(filter(None, out.stdout.splitlines()))


class BashCompletion(unittest.TestCase):
    def test_built_script_is_what_docgen_generates_now(self):
        self.assertEqual(read(COMPLETION), run([DOCGEN, "--bash-completion"]).stdout)

    def test_every_flag_of_help_completes(self):
        flags, _ = help_flags()
        self.assertEqual(set(complete(["xeonrun-spawn", "-"])), flags)

    def test_prefixes_complete_both_spellings(self):
        self.assertEqual(complete(["xeonrun-spawn", "--ncores"]),
                         ["--ncores-per-instance", "--ncores_per_instance"])
        self.assertEqual(complete(["xeonrun-spawn", "--enable-"]),
                         ["--enable-jemalloc", "--enable-tcmalloc"])

    def test_topology_completes_its_sources(self):
        self.assertEqual(complete(["xeonrun-spawn", "--topology", "ls"]), ["lscpu:"])
        self.assertEqual(complete(["xeonrun-spawn", "--topology", "=", "x"]), ["xml:"])

    def test_values_and_program_arguments_are_not_flags(self):
        with tempfile.TemporaryDirectory() as tmp:
            os.mkdir(os.path.join(tmp, "logs"))
            open(os.path.join(tmp, "app.py"), "w").close()
            self.assertEqual(complete(["xeonrun-spawn", "--log-path", ""], cwd=tmp), ["logs"])
            # After the program (past a value flag's value), its own arguments: files.
            self.assertEqual(complete(["xeonrun-spawn", "--ninstances", "2", "app.py", "--nin"],
                                      cwd=tmp), [])
            self.assertEqual(complete(["xeonrun-spawn", "--ninstances", "2", "app.py", "a"],
                                      cwd=tmp), ["app.py"])


if __name__ == "__main__":
    need("groff")
    unittest.main(verbosity=2)
