#!/usr/bin/env python3
"""The man pages and the bash completions the build generates (issue #17) are up to date,
well-formed and say what --help (xeonrun-spawn's, ipexrun's, xeonrun-tune's) and the variable
table say.

Environment (set by meson): XEONPLACE_DOCGEN, XEONRUN_SPAWN, XEONPLACE_MAN1, XEONPLACE_MAN7,
XEONPLACE_COMPLETION, XEONPLACE_MAN1_IPEXRUN, XEONPLACE_COMPLETION_IPEXRUN, XEONPLACE_MAN1_TUNE,
XEONPLACE_COMPLETION_TUNE (the built files), XEONPLACE_TUNE_DOCS, XEONPLACE_TUNE_PY (the sources
of xeonrun-tune's) and XEONPLACE_VERSION."""

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
MAN1_IPEXRUN = os.environ["XEONPLACE_MAN1_IPEXRUN"]
COMPLETION_IPEXRUN = os.environ["XEONPLACE_COMPLETION_IPEXRUN"]
MAN1_TUNE = os.environ["XEONPLACE_MAN1_TUNE"]
COMPLETION_TUNE = os.environ["XEONPLACE_COMPLETION_TUNE"]
TUNE_DOCS = os.environ["XEONPLACE_TUNE_DOCS"]
TUNE_PY = os.environ["XEONPLACE_TUNE_PY"]
VERSION = os.environ["XEONPLACE_VERSION"]
PAGES = (MAN1, MAN1_IPEXRUN, MAN1_TUNE, MAN7)


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, **kw)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def help_text(name="xeonrun-spawn"):
    """--help of the spawner invoked as `name` (ipexrun: ipexrun's command line), or of
    xeonrun-tune."""
    if name == "xeonrun-tune":
        return run([sys.executable, TUNE_PY, "--help"]).stdout
    return run([name, "--help"], executable=SPAWN).stdout


def help_flags(name="xeonrun-spawn", refused=False):
    """Every spelling of every flag `name` --help lists, and those that take a value; ipexrun's
    refused flags (one line under "Refused") only when `refused`."""
    flags, with_value = set(), set()
    section = ""
    for line in help_text(name).splitlines():
        if line and not line.startswith(" "):
            section = line
        match = re.match(r"  (-[^ ].*?)(?:  |$)", line)
        if not match or (section.startswith("Refused") and not refused):
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


def tune_docs(mode):
    return run([sys.executable, TUNE_DOCS, mode, TUNE_PY, VERSION]).stdout


def missing_from(text, flags):
    """The flags a rendered page does not name (as a word, after a space, comma or line start)."""
    return [f for f in sorted(flags) if not re.search(r"(^|[\s,])" + re.escape(f) + r"\b", text)]


class ManPages(unittest.TestCase):
    def test_built_pages_are_what_docgen_generates_now(self):
        for page, mode in ((MAN1, "--man1"), (MAN1_IPEXRUN, "--man1-ipexrun"), (MAN7, "--man7")):
            self.assertEqual(read(page), run([DOCGEN, mode]).stdout, page)

    def test_built_tune_page_is_what_its_parser_generates_now(self):
        self.assertEqual(read(MAN1_TUNE), tune_docs("--man1"))

    def test_pages_format_without_warnings(self):
        for page in PAGES:
            out = run(["groff", "-man", "-Tutf8", "-ww", "-z", page])
            self.assertEqual((out.returncode, out.stderr), (0, ""), page)

    def test_man_reads_them(self):
        if not shutil.which("man"):
            self.skipTest("man (man-db) is not installed")
        for page, name in ((MAN1, "XEONRUN-SPAWN"), (MAN1_IPEXRUN, "IPEXRUN"),
                           (MAN1_TUNE, "XEONRUN-TUNE"), (MAN7, "XEONPLACE")):
            out = run(["man", "-l", page], env=dict(os.environ, MANPAGER="cat", MANWIDTH="100"))
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertIn(name, out.stdout)

    def test_spawn_page_lists_every_flag_of_help(self):
        text = rendered(MAN1)
        flags, _ = help_flags()
        self.assertGreater(len(flags), 20)
        self.assertEqual(missing_from(text, flags), [])
        self.assertIn("EXIT STATUS", text)
        self.assertIn("127 when the program is not found", text)

    def test_ipexrun_page_lists_every_flag_of_ipexruns_help(self):
        text = rendered(MAN1_IPEXRUN)
        flags, _ = help_flags("ipexrun", refused=True)
        self.assertGreater(len(flags), 30)
        # ipexrun's own (not xeonrun-spawn's) and a refused one are among them.
        self.assertTrue({"--multi-task-manager", "--log-dir", "--nnodes"} <= flags, flags)
        self.assertEqual(missing_from(text, flags), [])
        self.assertIn("XEONRUN_COMPAT=ipexrun", text)
        self.assertIn("127 when the program is not found", text)

    def test_tune_page_lists_every_option_with_its_choices(self):
        text = rendered(MAN1_TUNE)
        flags, _ = help_flags("xeonrun-tune")
        self.assertGreater(len(flags), 15)
        self.assertEqual(missing_from(text, flags), [])
        self.assertIn("--strategy {auto,grid,coordinate}", text)
        self.assertIn("Bad arguments exit 2", text)

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


SCRIPTS = {"xeonrun-spawn": (COMPLETION, "_xeonrun_spawn"),
           "ipexrun": (COMPLETION_IPEXRUN, "_ipexrun"),
           "xeonrun-tune": (COMPLETION_TUNE, "_xeonrun_tune")}


def complete(words, cwd=None):
    """COMPREPLY for the command line `words`, completing its last word."""
    script, function = SCRIPTS[words[0]]
    script = (f"source {script}\n"
              "COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1))\n"
              f"{function} 2>/dev/null\n"
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


class IpexrunCompletion(unittest.TestCase):
    def test_built_script_is_what_docgen_generates_now(self):
        self.assertEqual(read(COMPLETION_IPEXRUN),
                         run([DOCGEN, "--bash-completion-ipexrun"]).stdout)

    def test_every_flag_of_help_completes_and_no_refused_one(self):
        flags, _ = help_flags("ipexrun")
        refused = help_flags("ipexrun", refused=True)[0] - flags
        self.assertIn("--nnodes", refused)
        self.assertEqual(set(complete(["ipexrun", "-"])), flags)
        self.assertEqual(set(complete(["ipexrun", "cpu", "-"])), flags)

    def test_choice_flags_complete_ipexruns_words(self):
        # ipexrun's --strategy has no `auto` (xeonrun-spawn's has).
        self.assertEqual(complete(["ipexrun", "--strategy", ""]), ["close", "scatter"])
        self.assertIn("auto", complete(["xeonrun-spawn", "--strategy", ""]))
        self.assertEqual(complete(["ipexrun", "cpu", "--multi-task-manager", "=", ""]),
                         ["auto", "none", "numactl", "taskset"])
        self.assertEqual(complete(["ipexrun", "--memory-allocator", "j"]), ["jemalloc"])
        self.assertEqual(complete(["ipexrun", "--topology", "ls"]), ["lscpu:"])

    def test_every_completed_word_is_one_ipexrun_accepts(self):
        for flag in ("--strategy", "--memory-allocator", "--omp-runtime",
                     "--multi-task-manager"):
            words = complete(["ipexrun", flag, ""])
            self.assertGreater(len(words), 1, flag)
            for word in words + ["bogus"]:
                out = run(["ipexrun", "--dry-run", flag, word, "--no-python", "/bin/true"],
                          executable=SPAWN)
                refused = "invalid choice" in out.stderr and out.returncode == 2
                self.assertEqual(refused, word == "bogus", (flag, word, out.stderr))

    def test_backend_word_first_then_flags_then_program_arguments(self):
        with tempfile.TemporaryDirectory() as tmp:
            os.mkdir(os.path.join(tmp, "logs"))
            open(os.path.join(tmp, "app.py"), "w").close()
            self.assertIn("cpu", complete(["ipexrun", "cp"], cwd=tmp))
            self.assertNotIn("cpu", complete(["ipexrun", "cpu", "cp"], cwd=tmp))
            self.assertEqual(complete(["ipexrun", "cpu", "--log-dir", ""], cwd=tmp), ["logs"])
            self.assertEqual(complete(["ipexrun", "cpu", "--ninstances", "2", "app.py", "--nin"],
                                      cwd=tmp), [])


class TuneCompletion(unittest.TestCase):
    def test_built_script_is_what_its_parser_generates_now(self):
        self.assertEqual(read(COMPLETION_TUNE), tune_docs("--bash-completion"))

    def test_every_flag_of_help_completes(self):
        flags, _ = help_flags("xeonrun-tune")
        self.assertEqual(set(complete(["xeonrun-tune", "-"])), flags)

    def test_choices_and_program_arguments(self):
        self.assertEqual(complete(["xeonrun-tune", "--goal", ""]), ["max", "min"])
        self.assertEqual(complete(["xeonrun-tune", "--strategy", "="]),
                         ["auto", "coordinate", "grid"])
        with tempfile.TemporaryDirectory() as tmp:
            open(os.path.join(tmp, "app.py"), "w").close()
            self.assertEqual(complete(["xeonrun-tune", "--time", "--", "app.py", "--go"],
                                      cwd=tmp), [])


if __name__ == "__main__":
    need("groff")
    unittest.main(verbosity=2)
