/* The front of libxeonplace.so: what every process that preloads the library pays for.
 *
 * It is plain C linked only against libc, so that a process that is not asked to be placed loads
 * nothing more than this file (design.md §6-§7: a library linking hwloc, libnuma and libstdc++ costs
 * ~0.7 ms and 1.75 MB even when it does nothing). The constructor looks at the environment once;
 * only when placement is asked for does it dlopen() the engine that lives next to it.
 *
 * It also holds the public C API (xeonplace.h), which reads the exported XEONRUN_PLACED_*
 * variables, and the pthread_create interposer used by XEONRUN_PIN=thread. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/placement_inputs.h"
#include "launcher_variables.h"
#include "shim/engine_abi.h"
#include "xeonplace/xeonplace.h"

#define EXPORT __attribute__((visibility("default")))

/* ---- small helpers (no allocation, no stdio: they run before main and in any thread) ---- */

static int starts_with(const char* text, const char* prefix) {
  return xeonplace_has_prefix(text, prefix);
}

static void write_all(int fd, const char* text) {
  size_t left = strlen(text);
  while (left > 0) {
    ssize_t n = write(fd, text, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    text += n;
    left -= (size_t)n;
  }
}

static int equals_ignoring_case(const char* a, const char* b) {
  for (; *a && *b; ++a, ++b) {
    char x = (*a >= 'A' && *a <= 'Z') ? (char)(*a - 'A' + 'a') : *a;
    if (x != *b) return 0;
  }
  return *a == *b;
}

/* The booleans of the contract: 1/true/yes/on mean true. Anything else is left to the engine's
 * parser, which reports bad values. */
static int is_true(const char* value) {
  return equals_ignoring_case(value, "1") || equals_ignoring_case(value, "true") ||
         equals_ignoring_case(value, "yes") || equals_ignoring_case(value, "on");
}

/* ---- the do-nothing decision ---- */

/* The launchers' local-rank variables, generated at build time from kLauncherLocalRankVariables
 * in src/core/launcher.h (launcher_variables_gen.cpp). */
static const char* const launcher_rank_variables[] = {XEONPLACE_LAUNCHER_RANK_VARIABLES};

/* ---- placed already, or asked for another placement than its parent's? ---- */

/* The launcher context (the local-rank variables and Slurm's step), generated from
 * kLauncherContextVariables in core/launcher.h: part of the placement inputs. */
static const char* const context_variables[] = {XEONPLACE_LAUNCHER_CONTEXT_VARIABLES};

static int expand_list(const char* text, int* out, int max);

/* XEONRUN_PLACED_INPUTS is the fingerprint of the inputs the parent was placed with
 * (core/placement_inputs.h, the one implementation). A child with other inputs (its own
 * XEONRUN_RANK, a rank a placed mpirun, srun or torchrun agent started) must be placed as it asks;
 * a parent that did not say is trusted. */
static int same_inputs_as_parent(char** envp, const char* parents) {
  if (parents == NULL) return 1;
  char mine[XEONPLACE_FINGERPRINT_SIZE];
  xeonplace_format_fingerprint(
      xeonplace_inputs_fingerprint((const char* const*)envp, context_variables,
                                   sizeof context_variables / sizeof *context_variables),
      mine);
  return strcmp(mine, parents) == 0;
}

/* A wrapper (taskset -c, numactl -C) narrowed the inherited placement to a strict subset of
 * XEONRUN_PLACED_CPUS: the engine corrects what the process is told (core/decision.h,
 * Action::Correct). Lists beyond CPU_SETSIZE are not checked. */
static int narrowed_inside(const char* placed_cpus) {
  enum { kMaxIds = 1024 };
  int ids[kMaxIds];
  cpu_set_t now;
  cpu_set_t placed;
  if (placed_cpus == NULL || sched_getaffinity(0, sizeof now, &now) != 0) return 0;
  int count = expand_list(placed_cpus, ids, kMaxIds);
  if (count <= 0 || count > kMaxIds) return 0;
  CPU_ZERO(&placed);
  for (int i = 0; i < count; ++i) {
    if (ids[i] >= CPU_SETSIZE) return 0;
    CPU_SET(ids[i], &placed);
  }
  cpu_set_t both;
  CPU_AND(&both, &now, &placed);
  return CPU_EQUAL(&both, &now) && !CPU_EQUAL(&now, &placed);
}

/* One pass over the environment. Placement is wanted when there is an XEONRUN_* input or a
 * launcher's local rank, unless XEONRUN_DISABLE is true or XEONRUN_PLACED_RANK says a parent was
 * placed already with the same inputs (this process inherited its affinity and memory policy)
 * and no wrapper narrowed that affinity since. */
static int placement_wanted(char** envp) {
  int wanted = 0;
  int placed = 0;
  const char* parents_inputs = NULL;
  const char* placed_cpus = NULL;
  if (envp == NULL) return 0;
  for (char** entry = envp; *entry != NULL; ++entry) {
    const char* e = *entry;
    if (e[0] == 'X' && starts_with(e, "XEONRUN_")) {
      const char* name = e + strlen("XEONRUN_");
      if (starts_with(name, "PLACED_RANK=")) placed = 1;
      if (starts_with(name, "PLACED_INPUTS=")) parents_inputs = name + strlen("PLACED_INPUTS=");
      if (starts_with(name, "PLACED_CPUS=")) placed_cpus = name + strlen("PLACED_CPUS=");
      if (starts_with(name, "DISABLE=") && is_true(name + strlen("DISABLE="))) return 0;
      /* Outputs of the library (PLACED_*) and of the re-exec (REEXEC_*) are not inputs. */
      if (!starts_with(name, "PLACED_") && !starts_with(name, "REEXEC_")) wanted = 1;
      continue;
    }
    for (size_t i = 0; i < sizeof launcher_rank_variables / sizeof *launcher_rank_variables; ++i) {
      if (starts_with(e, launcher_rank_variables[i])) wanted = 1;
    }
  }
  if (!wanted) return 0;
  if (placed && same_inputs_as_parent(envp, parents_inputs) && !narrowed_inside(placed_cpus)) {
    return 0;
  }
  return wanted;
}

/* ---- XEONRUN_PIN=thread: the pthread_create interposer ---- */

typedef int (*pthread_create_fn)(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*);

static _Atomic(pthread_create_fn) real_pthread_create;
static int* thread_cpus;             /* written once, before thread_cpu_count is published */
static _Atomic int thread_cpu_count; /* 0: thread pinning off, plain forward */
static atomic_uint next_thread_cpu;

static pthread_create_fn resolve_pthread_create(void) {
  pthread_create_fn fn = atomic_load_explicit(&real_pthread_create, memory_order_acquire);
  if (fn == NULL) {
    /* Another library's constructor may create a thread before ours runs: resolve lazily. */
    void* symbol = dlsym(RTLD_NEXT, "pthread_create");
    memcpy(&fn, &symbol, sizeof fn); /* ISO C has no object-to-function pointer conversion */
    atomic_store_explicit(&real_pthread_create, fn, memory_order_release);
  }
  return fn;
}

static int set_thread_cpus(const int* cpus, int count, int first) {
  if (count <= 0 || atomic_load(&thread_cpu_count) != 0) return 0;
  int* copy = malloc(sizeof(int) * (size_t)count);
  if (copy == NULL) return -1;
  memcpy(copy, cpus, sizeof(int) * (size_t)count);
  thread_cpus = copy;
  atomic_store(&next_thread_cpu, (unsigned)(first < 0 ? 0 : first));
  atomic_store_explicit(&thread_cpu_count, count, memory_order_release);
  return 0;
}

/* glibc has no pthread_attr_t copy; rebuild one from the getters so that the caller's attr (which
 * may be shared by threads creating threads concurrently) is never modified. */
static int copy_attr(const pthread_attr_t* from, pthread_attr_t* to) {
  if (pthread_attr_init(to) != 0) return -1;
  if (from == NULL) return 0;
  int value;
  size_t size;
  struct sched_param param;
  void* stack = NULL;
  sigset_t mask;
  int ok =
      pthread_attr_getdetachstate(from, &value) == 0 &&
      pthread_attr_setdetachstate(to, value) == 0 && pthread_attr_getscope(from, &value) == 0 &&
      pthread_attr_setscope(to, value) == 0 && pthread_attr_getinheritsched(from, &value) == 0 &&
      pthread_attr_setinheritsched(to, value) == 0 &&
      pthread_attr_getschedpolicy(from, &value) == 0 &&
      pthread_attr_setschedpolicy(to, value) == 0 &&
      pthread_attr_getschedparam(from, &param) == 0 &&
      pthread_attr_setschedparam(to, &param) == 0 && pthread_attr_getguardsize(from, &size) == 0 &&
      pthread_attr_setguardsize(to, size) == 0 && pthread_attr_getstacksize(from, &size) == 0 &&
      pthread_attr_setstacksize(to, size) == 0;
  /* glibc reports the lowest address of the stack as (top - size), top being NULL when the
   * caller did not supply a stack: a sum of 0 means "no stack of its own". */
  ok = ok && pthread_attr_getstack(from, &stack, &size) == 0;
  if (ok && (uintptr_t)stack + size != 0) ok = pthread_attr_setstack(to, stack, size) == 0;
  if (ok && pthread_attr_getsigmask_np(from, &mask) == 0) {
    ok = pthread_attr_setsigmask_np(to, &mask) == 0;
  }
  if (!ok) {
    pthread_attr_destroy(to);
    return -1;
  }
  return 0;
}

/* A caller (e.g. an OpenMP runtime) that put an affinity in its attr keeps it. glibc reports
 * "no affinity set" as a full mask. */
static int attr_has_affinity(const pthread_attr_t* attr) {
  cpu_set_t set;
  if (attr == NULL || pthread_attr_getaffinity_np(attr, sizeof set, &set) != 0) return 0;
  return CPU_COUNT(&set) != CPU_SETSIZE;
}

EXPORT int pthread_create(pthread_t* thread, const pthread_attr_t* attr, void* (*start)(void*),
                          void* arg) {
  pthread_create_fn real = resolve_pthread_create();
  if (real == NULL) return EAGAIN;
  int count = atomic_load_explicit(&thread_cpu_count, memory_order_acquire);
  if (count == 0 || attr_has_affinity(attr)) return real(thread, attr, start, arg);

  int cpu = thread_cpus[atomic_fetch_add(&next_thread_cpu, 1u) % (unsigned)count];
  size_t size = CPU_ALLOC_SIZE(cpu + 1);
  cpu_set_t* set = CPU_ALLOC(cpu + 1);
  pthread_attr_t pinned;
  if (set == NULL || copy_attr(attr, &pinned) != 0) {
    CPU_FREE(set);
    return real(thread, attr, start, arg);
  }
  CPU_ZERO_S(size, set);
  CPU_SET_S(cpu, size, set);
  int rc = pthread_attr_setaffinity_np(&pinned, size, set);
  if (rc == 0) rc = real(thread, &pinned, start, arg);
  pthread_attr_destroy(&pinned);
  CPU_FREE(set);
  /* A CPU that went offline or out of the cpuset makes the pinned create fail: never let thread
   * pinning be the reason a thread does not start. */
  if (rc == EINVAL) rc = real(thread, attr, start, arg);
  return rc;
}

/* ---- loading the engine ---- */

/* The engine is found next to the front, by the front's own absolute path: never through a
 * relative path, the current directory or the library search path. */
static int engine_path(char* front_path, char* path, size_t size) {
  Dl_info info;
  if (dladdr((const void*)&thread_cpu_count, &info) == 0 || info.dli_fname == NULL) return -1;
  if (realpath(info.dli_fname, front_path) == NULL) return -1;
  const char* slash = strrchr(front_path, '/');
  size_t dir = (size_t)(slash - front_path) + 1;
  if (dir + strlen(XEONPLACE_ENGINE_FILE) + 1 > size) return -1;
  memcpy(path, front_path, dir);
  strcpy(path + dir, XEONPLACE_ENGINE_FILE);
  return 0;
}

static void warn_engine(const char* path, const char* why) {
  write_all(2, "xeonplace: warning: cannot load the placement engine ");
  write_all(2, path);
  write_all(2, ": ");
  write_all(2, why);
  write_all(2, " (running unplaced)\n");
}

__attribute__((constructor)) static void xeonplace_front_init(int argc, char** argv, char** envp) {
  if (!placement_wanted(envp)) return;

  static char front[PATH_MAX];
  char path[PATH_MAX];
  if (engine_path(front, path, sizeof path) != 0) {
    warn_engine(XEONPLACE_ENGINE_FILE, "the directory of libxeonplace.so is unknown");
    return;
  }
  /* RTLD_LOCAL keeps the engine's hwloc/libnuma out of the global scope; RTLD_DEEPBIND is avoided
   * because it breaks malloc interposition. */
  void* engine = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (engine == NULL) {
    const char* why = dlerror();
    warn_engine(path, why ? why : "unknown error");
    return;
  }
  void* symbol = dlsym(engine, XEONPLACE_ENGINE_ENTRY);
  xeonplace_engine_entry entry;
  memcpy(&entry, &symbol, sizeof entry);
  if (symbol == NULL) {
    warn_engine(path, "no entry point " XEONPLACE_ENGINE_ENTRY);
    return;
  }
  resolve_pthread_create();
  /* A placed environment that reaches here asks for another placement (the engine's decision sets
   * the inherited one aside) or was narrowed by a wrapper (core/decision.cpp). */
  struct xeonplace_front self = {
      .abi_version = XEONPLACE_ENGINE_ABI_VERSION,
      .argc = argc,
      .argv = argv,
      .envp = envp,
      .front_path = front,
      .set_thread_cpus = set_thread_cpus,
  };
  if (entry(&self) == XEONPLACE_ENGINE_EXIT) _exit(XEONPLACE_EXIT_CONFIG_ERROR);
  /* Nothing of the engine is used after it returns (the thread CPUs were copied into the front),
   * so unmapping it and hwloc/libnuma gives the program ~1.7 MB back. glibc runs the engine's
   * static destructors, and keeps it mapped by itself if anything still pins it (a thread-local
   * destructor, a unique symbol). */
  dlclose(engine);
}

/* ---- the public C API: reads what the engine exported ---- */

/* Parses a decimal number at *p (no sign), advancing *p; -1 if there is none or it is too big. */
static long parse_number(const char** p) {
  long value = 0;
  if (**p < '0' || **p > '9') return -1;
  while (**p >= '0' && **p <= '9') {
    value = value * 10 + (**p - '0');
    if (value > INT_MAX) return -1;
    ++*p;
  }
  return value;
}

/* Expands a list like "0-3,8" into out[0..max); returns the number of ids, or -1 if malformed. */
static int expand_list(const char* text, int* out, int max) {
  int count = 0;
  const char* p = text;
  if (*p == '\0') return 0;
  for (;;) {
    long first = parse_number(&p);
    long last = first;
    if (first < 0) return -1;
    if (*p == '-') {
      ++p;
      last = parse_number(&p);
      if (last < first) return -1;
    }
    for (long id = first; id <= last; ++id) {
      if (count == INT_MAX) return -1;
      if (out != NULL && count < max) out[count] = (int)id;
      ++count;
    }
    if (*p == '\0') return count;
    if (*p++ != ',') return -1;
  }
}

static int placed_number(const char* name) {
  const char* text = getenv(name);
  if (text == NULL) return -1;
  const char* p = text;
  long value = parse_number(&p);
  return (value < 0 || *p != '\0') ? -1 : (int)value;
}

EXPORT int xeonplace_placed(void) { return placed_number("XEONRUN_PLACED_RANK") >= 0; }

EXPORT int xeonplace_rank(void) { return placed_number("XEONRUN_PLACED_RANK"); }

EXPORT int xeonplace_nranks(void) {
  return xeonplace_placed() ? placed_number("XEONRUN_PLACED_NRANKS") : -1;
}

static int placed_list(const char* name, int* out, int max) {
  const char* text = getenv(name);
  if (!xeonplace_placed() || text == NULL) return -1;
  return expand_list(text, out, max < 0 ? 0 : max);
}

EXPORT int xeonplace_cpus(int* out, int max) {
  return placed_list("XEONRUN_PLACED_CPUS", out, max);
}

EXPORT int xeonplace_mems(int* out, int max) {
  return placed_list("XEONRUN_PLACED_MEMS", out, max);
}

EXPORT const char* xeonplace_membind(void) {
  return xeonplace_placed() ? getenv("XEONRUN_PLACED_MEMBIND") : NULL;
}
