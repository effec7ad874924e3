"""The python3 program of the chain-load tests: the same report as probe_common.h, through ctypes.

Python's allocations above 512 bytes go to malloc (PyMem_RawMalloc), so bytearrays of 64 KiB make
the allocator's statistics grow."""
import ctypes
import os
import sys


def mapping_of(address):
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split(None, 5)
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            if lo <= address < hi:
                return fields[5].strip() if len(fields) > 5 else ""
    return ""


def allocator_bytes(process):
    try:
        mallctl = process.mallctl
        epoch = ctypes.c_uint64(1)
        mallctl(b"epoch", None, None, ctypes.byref(epoch), ctypes.c_size_t(8))
        allocated = ctypes.c_size_t(0)
        length = ctypes.c_size_t(ctypes.sizeof(allocated))
        if mallctl(b"stats.allocated", ctypes.byref(allocated), ctypes.byref(length), None,
                   ctypes.c_size_t(0)) == 0:
            return "jemalloc", allocated.value
    except AttributeError:
        pass
    try:
        prop = process.MallocExtension_GetNumericProperty
        value = ctypes.c_size_t(0)
        if prop(b"generic.current_allocated_bytes", ctypes.byref(value)):
            return "tcmalloc", value.value
    except AttributeError:
        pass
    return "none", -1


def main():
    process = ctypes.CDLL(None)  # dlsym(RTLD_DEFAULT, ...)
    malloc_address = ctypes.cast(process.malloc, ctypes.c_void_p).value
    print(f"pid={os.getpid()}")
    print(f"malloc_object={mapping_of(malloc_address)}")
    which, before = allocator_bytes(process)
    kept = [bytearray(64 * 1024) for _ in range(256)]
    which, after = allocator_bytes(process)
    print(f"allocator_api={which}")
    print(f"allocator_growth={after - before}")
    print(f"kept={len(kept)}")
    with open("/proc/self/comm") as comm:
        print(f"comm={comm.read().strip()}")
    print(f"argc={len(sys.argv)}")
    for i, arg in enumerate(sys.argv):
        print(f"argv{i}=" + arg.replace("\\", "\\\\").replace("\n", "\\n"))
    for name in ("LD_PRELOAD", "OMP_NUM_THREADS", "KMP_AFFINITY", "MALLOC_CONF",
                 "XEONRUN_REEXEC_GUARD", "XEONRUN_REEXEC_NAME", "XEONRUN_PLACED_CPUS"):
        print(f"env_{name}={os.environ.get(name, '<unset>')}")


if __name__ == "__main__":
    main()
