/* The one call between the front (libxeonplace.so, plain C, linked only against libc) and the
 * engine (libxeonplace-engine.so, C++, hwloc, libnuma), which the front dlopen()s only when the
 * process must be placed. Both sides are built from the same tree, so a version number is enough
 * to catch a stale engine file next to a newer front. */
#ifndef XEONPLACE_SHIM_ENGINE_ABI_H
#define XEONPLACE_SHIM_ENGINE_ABI_H

#ifdef __cplusplus
extern "C" {
#endif

/* 2: XEONPLACE_ENGINE_KEEP. A front of version 1 would unload an engine whose exit handler is
 * registered, so the engine refuses it. 3: set_thread_skip (XEONRUN_THREAD_SKIP). */
#define XEONPLACE_ENGINE_ABI_VERSION 3u
#define XEONPLACE_ENGINE_ENTRY "xeonplace_engine_run"
#define XEONPLACE_ENGINE_FILE "libxeonplace-engine.so"

struct xeonplace_front {
  unsigned abi_version;
  /* What glibc passed to the constructor. */
  int argc;
  char** argv;
  char** envp;
  /* Absolute path of libxeonplace.so itself (what LD_PRELOAD must keep naming after a re-exec). */
  const char* front_path;
  /* XEONRUN_PIN=thread: each thread created from now on gets the next CPU of `cpus`, round-robin,
   * starting with cpus[first]. The front copies the list. Returns 0, or -1 when out of memory. */
  int (*set_thread_cpus)(const int* cpus, int count, int first);
  /* XEONRUN_THREAD_SKIP (likwid-pin's skip mask): the i-th thread created (i < 64) with bit i of
   * `mask` set takes no CPU of the round-robin and runs on `cpus` instead (the helper cores, else
   * the whole rank). Called before set_thread_cpus; the front copies the list. Returns 0 or -1. */
  int (*set_thread_skip)(unsigned long long mask, const int* cpus, int count);
};

/* What the engine tells the front to do next. */
enum xeonplace_engine_result {
  XEONPLACE_ENGINE_CONTINUE = 0, /* run the program (placed, unplaced after a warning, dry run) */
  XEONPLACE_ENGINE_EXIT = 1,     /* the error line is printed: _exit(XEONPLACE_EXIT_CONFIG_ERROR) */
  XEONPLACE_ENGINE_KEEP = 2      /* as CONTINUE, but keep the engine loaded: its exit handler
                                    writes the placement report (XEONRUN_REPORT) */
};

typedef int (*xeonplace_engine_entry)(const struct xeonplace_front* front);

#ifdef __cplusplus
}
#endif

#endif /* XEONPLACE_SHIM_ENGINE_ABI_H */
