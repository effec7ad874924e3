#!/usr/bin/env python3
"""XEONRUN_LOG_FILE naming something a log cannot be (issue #12): a FIFO without a reader used to
block the program forever before main(), even at the default log level. The library must never
wait, and must refuse anything but a regular file or a character device with one warning.

Environment (set by meson): XP_LIB, the built libxeonplace.so."""
import os
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from case_driver import clean_env  # noqa: E402

LIB = os.environ["XP_LIB"]
# "A few seconds": placing /bin/true takes milliseconds, a blocked open forever.
TIMEOUT = 5


def placed_true(log_file, **extra):
    env = dict(clean_env(), LD_PRELOAD=LIB, XEONRUN_NINSTANCES="1", XEONRUN_LOG_FILE=log_file,
               **extra)
    return subprocess.run(["/bin/true"], env=env, capture_output=True, text=True, timeout=TIMEOUT,
                          stdin=subprocess.DEVNULL)


def warnings_about_log_file(stderr):
    return [l for l in stderr.splitlines() if "warning" in l and "XEONRUN_LOG_FILE" in l]


class LogFileNeverBlocks(unittest.TestCase):
    def test_fifo_without_a_reader_is_refused_at_once_with_one_warning(self):
        with tempfile.TemporaryDirectory() as tmp:
            fifo = os.path.join(tmp, "log.fifo")
            os.mkfifo(fifo)
            r = placed_true(fifo)  # raises TimeoutExpired when the open blocks
            self.assertEqual(r.returncode, 0, r.stderr)
            lines = warnings_about_log_file(r.stderr)
            self.assertEqual(len(lines), 1, r.stderr)
            self.assertIn(fifo, lines[0])
            self.assertIn("FIFO", lines[0])

    def test_fifo_with_a_reader_is_refused_too(self):
        # A FIFO opens at once when someone reads it; it is still not a log (a reader that stops
        # reading would block the program at its next log line).
        with tempfile.TemporaryDirectory() as tmp:
            fifo = os.path.join(tmp, "log.fifo")
            os.mkfifo(fifo)
            reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
            try:
                r = placed_true(fifo, XEONRUN_LOG_LEVEL="info")
                self.assertEqual(r.returncode, 0, r.stderr)
                lines = warnings_about_log_file(r.stderr)
                self.assertEqual(len(lines), 1, r.stderr)
                self.assertIn("FIFO", lines[0])
                self.assertIn("xeonplace: info", r.stderr, "the log did not fall back to stderr")
                try:
                    self.assertEqual(os.read(reader, 4096), b"", "the FIFO was written to")
                except BlockingIOError:
                    pass  # nothing written: what we want
            finally:
                os.close(reader)

    def test_directory_is_refused_with_one_warning_naming_it(self):
        with tempfile.TemporaryDirectory() as tmp:
            r = placed_true(tmp)
            self.assertEqual(r.returncode, 0, r.stderr)
            lines = warnings_about_log_file(r.stderr)
            self.assertEqual(len(lines), 1, r.stderr)
            self.assertIn("directory", lines[0])

    def test_character_device_is_accepted(self):
        r = placed_true("/dev/null", XEONRUN_LOG_LEVEL="info")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "", "/dev/null was refused or the log went to stderr")

    def test_regular_file_gets_the_lines(self):
        with tempfile.TemporaryDirectory() as tmp:
            log = os.path.join(tmp, "x.log")
            r = placed_true(log, XEONRUN_LOG_LEVEL="info")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stderr, "")
            with open(log) as f:
                self.assertIn("xeonplace: info", f.read())


if __name__ == "__main__":
    unittest.main(verbosity=2)
