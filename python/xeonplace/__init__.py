"""xeonplace for Python programs: the placement library, its spawner and the placement a process got.

    python -m xeonplace [run_cpu's flags] app.py     # instead of python -m torch.backends.xeon.run_cpu
    LD_PRELOAD=$(python -c 'import xeonplace; print(xeonplace.library_path())') XEONRUN_NINSTANCES=2 ...
    xeonplace.placement()                            # inside a rank: its rank, CPUs, memory nodes

The package carries libxeonplace.so, its engine (libxeonplace-engine.so, which the library loads
from its own directory: docs/design.md §6) and xeonrun-spawn, built for this machine; they need
the system's libhwloc and libnuma (Debian: libhwloc15, libnuma1).
"""
import collections
import ctypes
import os

__all__ = ["Placement", "library_path", "placement", "spawner_path"]

_HERE = os.path.dirname(os.path.abspath(__file__))

Placement = collections.namedtuple("Placement", "rank nranks cpus mems membind")
Placement.__doc__ = """What the library placed this process on: its rank of `nranks`, the CPUs
(OS indices) and NUMA memory nodes of the rank as tuples, and the memory policy applied ("bind",
"preferred", "interleave" or "none"), as the C API of xeonplace.h reports them."""


def library_path():
    """The absolute path of this package's libxeonplace.so, for LD_PRELOAD or --library."""
    return os.path.join(_HERE, "lib", "libxeonplace.so")


def spawner_path():
    """The absolute path of this package's xeonrun-spawn (what `python -m xeonplace` runs)."""
    return os.path.join(_HERE, "bin", "xeonrun-spawn")


def _loaded_api():
    """The C API of the libxeonplace.so this process already has (preloaded by xeonrun-spawn, a
    launcher or LD_PRELOAD, or linked): the copy that placed it. None when there is none."""
    process = ctypes.CDLL(None)
    return process if hasattr(process, "xeonplace_placed") else None


def _package_api():
    """This package's library, loaded only to read the placement variables through its API.
    XEONRUN_DISABLE is set while it loads so that asking never places the process (loading the
    library with XEONRUN_* inputs would: xeonplace.h)."""
    saved = os.environ.get("XEONRUN_DISABLE")
    os.environ["XEONRUN_DISABLE"] = "1"
    try:
        return ctypes.CDLL(library_path())
    finally:
        if saved is None:
            del os.environ["XEONRUN_DISABLE"]
        else:
            os.environ["XEONRUN_DISABLE"] = saved


def _ids(function):
    """The ids an xeonplace_cpus-like function reports, sized by a first call with (NULL, 0)."""
    function.argtypes = [ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    function.restype = ctypes.c_int
    count = function(None, 0)
    while count > 0:
        buffer = (ctypes.c_int * count)()
        again = function(buffer, count)
        if again <= count:
            return tuple(buffer[:max(again, 0)])
        count = again  # the environment changed between the two calls
    return ()


def placement():
    """This process's placement (a Placement), or None when libxeonplace.so did not place it (nor
    the parent it inherited its placement from). Read through the C API (xeonplace.h), which reads
    the C environment's XEONRUN_PLACED_* variables: what os.environ said at startup may be older."""
    api = _loaded_api() or _package_api()
    api.xeonplace_placed.restype = ctypes.c_int
    if not api.xeonplace_placed():
        return None
    api.xeonplace_membind.restype = ctypes.c_char_p
    membind = api.xeonplace_membind()
    return Placement(rank=api.xeonplace_rank(), nranks=api.xeonplace_nranks(),
                     cpus=_ids(api.xeonplace_cpus), mems=_ids(api.xeonplace_mems),
                     membind=membind.decode() if membind is not None else None)
