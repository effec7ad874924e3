"""python -m xeonplace [flags] program [args]: xeonrun-spawn, the drop-in for
`python -m torch.backends.xeon.run_cpu`, with this package's library and this interpreter.

Like run_cpu, a .py program (and -m MODULE) runs under the interpreter that runs this module
(sys.executable, handed to xeonrun-spawn as $PYTHON), not the first python3 on PATH. The ranks
preload this package's libxeonplace.so unless a --library flag says otherwise (the last one
given wins). The spawner replaces this process: its exit status and signals are the ranks'."""
import os
import sys

import xeonplace


def command(argv):
    """The spawner's argv for `python -m xeonplace ARGV`."""
    return [xeonplace.spawner_path(), "--library", xeonplace.library_path(), *argv]


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    env = dict(os.environ)
    if sys.executable:
        env["PYTHON"] = sys.executable
    spawn = xeonplace.spawner_path()
    try:
        os.execve(spawn, command(argv), env)
    except OSError as error:
        print(f"python -m xeonplace: cannot run {spawn}: {error.strerror}", file=sys.stderr)
        return 127
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
