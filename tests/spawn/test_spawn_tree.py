#!/usr/bin/env python3
"""xeonrun-spawn keeps a signal it inherited as ignored (issue #12).

Environment (set by meson): XEONRUN_SPAWN."""

import os
import signal
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from test_spawn import SPAWN, clean_env, default_dispositions, wait_for  # noqa: E402


class InheritedIgnoredSignal(unittest.TestCase):
    def test_ranks_under_nohup_survive_a_hangup_and_finish_normally(self):
        with tempfile.TemporaryDirectory() as logs:
            program = "echo started; sleep 1.5; echo finished"
            # A grace period shorter than the ranks' run: a forwarded hangup would end in SIGKILL.
            p = subprocess.Popen([SPAWN, "--library", "", "--ninstances", "2", "--log-path", logs,
                                  "--grace-period", "0.2", "--no-python", "sh", "-c", program],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env=clean_env(),
                                 preexec_fn=default_dispositions(ignored=(signal.SIGHUP,)))
            self.addCleanup(lambda: p.poll() is None and p.kill())

            def started():
                for rank in range(2):
                    try:
                        with open(os.path.join(logs, f"run_rank{rank}.log")) as f:
                            if not f.read().startswith("started"):
                                return False
                    except FileNotFoundError:
                        return False
                return True

            self.assertTrue(wait_for(started), "ranks did not start")
            p.send_signal(signal.SIGHUP)
            out, err = p.communicate(timeout=30)
            self.assertEqual(p.returncode, 0, err)
            self.assertEqual(sorted(l for l in out.splitlines() if "finished" in l),
                             ["[run0] finished", "[run1] finished"], err)
            self.assertEqual(err.count("exit 0"), 2, err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
