/* xeonplace.h: what placement this process got from libxeonplace.so.
 *
 * When libxeonplace.so is preloaded (LD_PRELOAD) and asked to place the process (any XEONRUN_*
 * input or a launcher's local rank), its constructor pins the process before main() and exports
 * the result in the environment:
 *
 *   XEONRUN_PLACED_RANK     this process's rank                     "1"
 *   XEONRUN_PLACED_NRANKS   ranks in the plan                       "2"
 *   XEONRUN_PLACED_CPUS     CPUs (OS indices) of the rank, a list   "0-3,8"
 *   XEONRUN_PLACED_MEMS     NUMA memory nodes of the rank, a list   "0"
 *   XEONRUN_PLACED_MEMBIND  memory policy applied                   "bind", "preferred",
 *                                                                   "interleave" or "none"
 *   XEONRUN_PLACED_HELPER_CPUS  CPUs of the rank kept for helper    "3"
 *                           threads (XEONRUN_HELPER_CORES), only when it keeps some
 *
 * Child processes inherit these variables (and the affinity and memory policy), which tells their
 * copy of the library not to place them again. The functions below read the same variables, so
 * they answer the same in C, C++ and Python's ctypes:
 *
 *   lib = ctypes.CDLL("libxeonplace.so")
 *   n = lib.xeonplace_cpus(None, 0); buf = (ctypes.c_int * n)(); lib.xeonplace_cpus(buf, n)
 *
 * They are safe to call from any thread, at any time, whether or not the library placed the
 * process, and they never allocate memory. Linking against libxeonplace.so or loading it later
 * (dlopen, ctypes.CDLL) instead of preloading it also places the process, when it is loaded; only
 * XEONRUN_PIN=thread needs the preload (its pthread_create must come first). Python's os.environ
 * is a copy taken at startup: after a late load, ask these functions, not os.environ.
 *
 * Exit status: a bad XEONRUN_* value (or a topology or planning error) makes the constructor print
 * one line "xeonplace: error: <message>" on stderr and end the process with status 2
 * (XEONPLACE_EXIT_CONFIG_ERROR), unless XEONRUN_ON_ERROR=warn, which prints the same line as a
 * warning and runs the program unplaced.
 */
#ifndef XEONPLACE_XEONPLACE_H
#define XEONPLACE_XEONPLACE_H

#ifdef __cplusplus
extern "C" {
#endif

#define XEONPLACE_EXIT_CONFIG_ERROR 2

/* 1 when this process (or the parent it inherited its environment from) was placed, else 0. */
int xeonplace_placed(void);

/* The rank of this process, or -1 when it was not placed. */
int xeonplace_rank(void);

/* The number of ranks in the plan, or -1 when the process was not placed. */
int xeonplace_nranks(void);

/* Writes at most `max` CPU OS indices of the rank, ascending, to `out` (which may be NULL when
 * `max` is 0) and returns how many CPUs the rank has, which may exceed `max`: call it once with
 * (NULL, 0) to size a buffer. Returns -1 when the process was not placed. */
int xeonplace_cpus(int* out, int max);

/* The same for the NUMA memory nodes of the rank. */
int xeonplace_mems(int* out, int max);

/* The same for the CPUs the rank keeps for helper threads (XEONRUN_HELPER_CORES: oneCCL workers,
 * communication and progress threads), a subset of xeonplace_cpus(): 0 when it keeps none, -1 when
 * the process was not placed. OMP_NUM_THREADS counts the other CPUs only. */
int xeonplace_helper_cpus(int* out, int max);

/* The memory policy applied: "bind", "preferred", "interleave" or "none"; NULL when the process was
 * not placed. The string is owned by the environment: copy it if you change the environment. */
const char* xeonplace_membind(void);

#ifdef __cplusplus
}
#endif

#endif /* XEONPLACE_XEONPLACE_H */
