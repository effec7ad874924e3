"""Reports, from inside python3, what placement the process got, as "key=value" lines."""
import ctypes
import os

print("cpus=" + ",".join(str(c) for c in sorted(os.sched_getaffinity(0))))
for name in ("OMP_NUM_THREADS", "OMP_PROC_BIND", "OMP_PLACES", "KMP_AFFINITY", "KMP_BLOCKTIME",
             "XEONRUN_PLACED_RANK", "XEONRUN_PLACED_NRANKS", "XEONRUN_PLACED_CPUS",
             "XEONRUN_PLACED_MEMS", "XEONRUN_PLACED_MEMBIND"):
    print(f"{name}={os.environ.get(name, '<unset>')}")

# The preloaded library is in the global scope: the program's own handle finds its symbols.
lib = ctypes.CDLL(None)
try:
    placed = lib.xeonplace_placed
except AttributeError:
    print("api=absent")
else:
    lib.xeonplace_membind.restype = ctypes.c_char_p
    print(f"api_placed={placed()}")
    print(f"api_rank={lib.xeonplace_rank()}")
    print(f"api_nranks={lib.xeonplace_nranks()}")
    for key, fn in (("api_cpus", lib.xeonplace_cpus), ("api_mems", lib.xeonplace_mems)):
        n = fn(None, 0)
        if n < 0:
            print(f"{key}={n}")
            continue
        buf = (ctypes.c_int * n)()
        fn(buf, n)
        print(f"{key}=" + ",".join(str(x) for x in buf))
    membind = lib.xeonplace_membind()
    print(f"api_membind={membind.decode() if membind else '<null>'}")
