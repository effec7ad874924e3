"""The environment every test that starts a real process begins from: the runner's, without what
would make libxeonplace.so act, preload or configure a runtime, or make a launcher plan one rank
of its own. A test adds back exactly what it tests.

tools/setup.sh drops the same variables before CI runs the suites (it runs this file, which prints
their names); this keeps a `meson test` run by hand inside a launcher's job (srun, mpirun,
torchrun, Flux) or a tuned shell honest too.
"""
import os
import sys

# The launchers' are every variable src/core/launcher.h reads (kLaunchers), plus PMIx's and PMI's,
# which Open MPI, MPICH and Slurm hand their ranks.
PLACEMENT_PREFIXES = ("XEONRUN_", "OMP_", "KMP_", "GOMP_", "LOCAL_RANK", "LOCAL_WORLD_SIZE",
                      "LOCAL_SIZE", "HOROVOD_LOCAL_", "OMPI_", "MV2_", "MVP_", "MPI_LOCAL",
                      "PALS_", "JSM_", "FLUX_", "SLURM_", "PMIX_", "PMI_", "LD_PRELOAD",
                      "MALLOC_CONF")


def placement_free_env(drop=(), drop_prefixes=(), **extra):
    """os.environ without PLACEMENT_PREFIXES, the names in `drop` and `drop_prefixes`, plus
    `extra`."""
    prefixes = PLACEMENT_PREFIXES + tuple(drop_prefixes)
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes) and k not in drop}
    env.update(extra)
    return env


def placement_names(environ=os.environ):
    """The names in `environ` that PLACEMENT_PREFIXES drop."""
    return sorted(k for k in environ if k.startswith(PLACEMENT_PREFIXES))


def scrub_environ():
    """Removes PLACEMENT_PREFIXES from this process's own environment, for a driver whose every
    child (xeonrun-spawn --dry-run on a fixture, the tool under test) must plan from a clean slate:
    under a launcher's local rank the spawner rightly shows only that rank's plan."""
    for name in placement_names():
        del os.environ[name]


if __name__ == "__main__":
    # tools/setup.sh: the names of this environment it must unset, one a line.
    sys.stdout.write("".join(name + "\n" for name in placement_names()))
