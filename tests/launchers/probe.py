"""The python twin of probe.c, for launchers that start python (torchrun).

Prints one JSON line with the same fields as probe.c (affinity, memory policy of the main thread,
launcher and OpenMP variables, XEONRUN_PLACED_*) plus torch's own view (torch.get_num_threads()),
and writes it to DIR/probe.<pid>.json when a directory is given.

Run with Debian's /usr/bin/python3: python3-torch is installed for it, not for other pythons.
"""

import ctypes
import json
import os
import sys

SYS_GET_MEMPOLICY = 239  # x86_64
MAX_NODES = 1024
MEMPOLICY_NAMES = {0: "default", 1: "preferred", 2: "bind", 3: "interleave", 4: "local",
                   5: "preferred_many"}
VARIABLE_PREFIXES = ("XEONRUN_", "LOCAL_", "OMPI_COMM_WORLD_", "MPI_LOCAL", "SLURM_LOCALID",
                     "SLURM_STEP_TASKS_PER_NODE", "OMP_", "KMP_", "TORCHELASTIC_RUN_ID")


def mempolicy():
    libc = ctypes.CDLL(None, use_errno=True)
    mode = ctypes.c_int(-1)
    words = MAX_NODES // (8 * ctypes.sizeof(ctypes.c_ulong))
    mask = (ctypes.c_ulong * words)()
    if libc.syscall(SYS_GET_MEMPOLICY, ctypes.byref(mode), mask, ctypes.c_ulong(MAX_NODES),
                    None, ctypes.c_ulong(0)) != 0:
        raise OSError(ctypes.get_errno(), "get_mempolicy")
    bits = 8 * ctypes.sizeof(ctypes.c_ulong)
    nodes = [n for n in range(MAX_NODES) if (mask[n // bits] >> (n % bits)) & 1]
    return MEMPOLICY_NAMES.get(mode.value & 0xff, "unknown"), nodes


def main():
    # Read before importing torch, whose own threads must not be what is measured.
    affinity = sorted(os.sched_getaffinity(0))
    policy, nodes = mempolicy()
    import torch  # noqa: E402  (the point: what torch's OpenMP runtime decided)

    record = {
        "pid": os.getpid(),
        "affinity": affinity,
        "mempolicy": policy,
        "mempolicy_nodes": nodes,
        "env": {k: v for k, v in sorted(os.environ.items()) if k.startswith(VARIABLE_PREFIXES)},
        "torch_num_threads": torch.get_num_threads(),
    }
    line = json.dumps(record, separators=(",", ":"))
    print(line, flush=True)
    if len(sys.argv) > 1:
        path = os.path.join(sys.argv[1], "probe.%d.json" % os.getpid())
        with open(path + ".tmp", "w") as out:
            out.write(line + "\n")
        os.rename(path + ".tmp", path)


if __name__ == "__main__":
    main()
