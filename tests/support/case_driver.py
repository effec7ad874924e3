"""What the real-process test drivers (integration, chainload, hostile) share: the outcome of a
case, the environment a case starts from, and the command line meson calls them with.

    DRIVER --list   the case names (meson registers one test per name)
    DRIVER CASE     run one case: exit 0 pass, 1 fail, 77 skip (meson's code; never counted as
                    passed)
"""
import sys

# The environment a case starts from: the runner's without anything that would make the library
# act (tests/support/runner_env.py).
from runner_env import placement_free_env as clean_env  # noqa: F401 (the drivers import it here)

SKIP = 77


class Failure(Exception):
    pass


class Skip(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def cases_in(namespace):
    """Every `case_NAME` function of a driver module, by NAME."""
    return {name[len("case_"):]: fn for name, fn in sorted(namespace.items())
            if name.startswith("case_")}


def main(cases, preflight=None):
    """Runs the case named on the command line. `preflight` runs first and may raise Failure
    (a missing test input) or Skip (a machine the cases cannot run on)."""
    if sys.argv[1:] == ["--list"]:
        print("\n".join(sorted(cases)))
        return 0
    if len(sys.argv) != 2 or sys.argv[1] not in cases:
        print(f"usage: {sys.argv[0]} --list | CASE (one of: {', '.join(sorted(cases))})",
              file=sys.stderr)
        return 2
    name = sys.argv[1]
    try:
        if preflight:
            preflight()
        cases[name]()
    except Skip as skip:
        print(f"SKIP {name}: {skip}")
        return SKIP
    except Failure as failure:
        print(f"FAIL {name}: {failure}")
        return 1
    print(f"ok {name}")
    return 0
