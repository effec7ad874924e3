/* The front of libxeonplace.so: what every process that preloads the library pays for.
 *
 * It is plain C linked only against libc, so that a process that is not asked to be placed loads
 * nothing more than this file (design.md §6-§7: a library linking hwloc, libnuma and libstdc++
 * costs ~0.7 ms and 1.75 MB even when it does nothing). The constructor looks at the environment
 * once; only when placement is asked for does it dlopen() the engine that lives next to it.
 *
 * It also holds the public C API (xeonplace.h), which reads the exported XEONRUN_PLACED_*
 * variables, the pthread_create interposer used by XEONRUN_PIN=thread, and what keeps a rank's
 * child processes on the rank's CPUs (fork, execve, execv, posix_spawn; design.md §5). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <linux/mempolicy.h>
#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/handed_reader.h"
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

/* Calls add(first, last, ctx) for each range of a list like "0-3,8" (the format of
 * XEONRUN_PLACED_CPUS); returns the number of ids, or -1 if the list is malformed or add fails. */
typedef int (*range_fn)(long first, long last, void* ctx);
static int walk_list(const char* text, range_fn add, void* ctx) {
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
    if (last - first >= (long)INT_MAX - count || add(first, last, ctx) != 0) return -1;
    count += (int)(last - first + 1);
    if (*p == '\0') return count;
    if (*p++ != ',') return -1;
  }
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

enum front_action { kNothing, kPlace, kInherited };

/* One pass over the environment. Placement is wanted when there is an XEONRUN_* input or a
 * launcher's local rank, unless XEONRUN_DISABLE is true or XEONRUN_PLACED_RANK says a parent was
 * placed already with the same inputs (this process inherited its affinity and memory policy):
 * then it only follows its rank's process tree (below). */
static enum front_action placement_wanted(char** envp) {
  int wanted = 0;
  int placed = 0;
  const char* parents_inputs = NULL;
  if (envp == NULL) return kNothing;
  for (char** entry = envp; *entry != NULL; ++entry) {
    const char* e = *entry;
    if (e[0] == 'X' && starts_with(e, "XEONRUN_")) {
      const char* name = e + strlen("XEONRUN_");
      if (starts_with(name, "PLACED_RANK=")) placed = 1;
      if (starts_with(name, "PLACED_INPUTS=")) parents_inputs = name + strlen("PLACED_INPUTS=");
      if (starts_with(name, "DISABLE=") && is_true(name + strlen("DISABLE="))) return kNothing;
      /* Outputs of the library (PLACED_*) and of the re-exec (REEXEC_*) are not inputs. */
      if (!starts_with(name, "PLACED_") && !starts_with(name, "REEXEC_")) wanted = 1;
      continue;
    }
    for (size_t i = 0; i < sizeof launcher_rank_variables / sizeof *launcher_rank_variables; ++i) {
      if (starts_with(e, launcher_rank_variables[i])) wanted = 1;
    }
  }
  if (!wanted) return kNothing;
  return placed && same_inputs_as_parent(envp, parents_inputs) ? kInherited : kPlace;
}

/* ---- XEONRUN_PIN=thread: the pthread_create interposer ---- */

typedef int (*pthread_create_fn)(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*);

static _Atomic(pthread_create_fn) real_pthread_create;
static int* thread_cpus;             /* written once, before thread_cpu_count is published */
static _Atomic int thread_cpu_count; /* 0: thread pinning off, plain forward */
static atomic_uint next_thread_cpu;
/* XEONRUN_THREAD_SKIP: written once by set_thread_skip, before thread_cpu_count is published. */
static unsigned long long skip_mask;
static int* skip_cpus;
static int skip_cpu_count;
static atomic_uint thread_creations; /* pthread_create calls since thread pinning started */

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

static int* copy_ints(const int* from, int count) {
  int* copy = malloc(sizeof(int) * (size_t)count);
  if (copy != NULL) memcpy(copy, from, sizeof(int) * (size_t)count);
  return copy;
}

static int set_thread_cpus(const int* cpus, int count, int first) {
  if (count <= 0 || atomic_load(&thread_cpu_count) != 0) return 0;
  int* copy = copy_ints(cpus, count);
  if (copy == NULL) return -1;
  thread_cpus = copy;
  atomic_store(&next_thread_cpu, (unsigned)(first < 0 ? 0 : first));
  atomic_store_explicit(&thread_cpu_count, count, memory_order_release);
  return 0;
}

static int set_thread_skip(unsigned long long mask, const int* cpus, int count) {
  if (mask == 0 || count <= 0 || atomic_load(&thread_cpu_count) != 0) return 0;
  int* copy = copy_ints(cpus, count);
  if (copy == NULL) return -1;
  skip_cpus = copy;
  skip_cpu_count = count;
  skip_mask = mask;
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

/* Creates the thread with an affinity of `cpus` (a copy of the caller's attr, never the attr). */
static int create_on(const int* cpus, int count, pthread_create_fn real, pthread_t* thread,
                     const pthread_attr_t* attr, void* (*start)(void*), void* arg) {
  int highest = 0;
  for (int i = 0; i < count; ++i) highest = cpus[i] > highest ? cpus[i] : highest;
  size_t size = CPU_ALLOC_SIZE(highest + 1);
  cpu_set_t* set = CPU_ALLOC(highest + 1);
  pthread_attr_t pinned;
  if (set == NULL || copy_attr(attr, &pinned) != 0) {
    CPU_FREE(set);
    return real(thread, attr, start, arg);
  }
  CPU_ZERO_S(size, set);
  for (int i = 0; i < count; ++i) CPU_SET_S(cpus[i], size, set);
  int rc = pthread_attr_setaffinity_np(&pinned, size, set);
  if (rc == 0) rc = real(thread, &pinned, start, arg);
  pthread_attr_destroy(&pinned);
  CPU_FREE(set);
  /* A CPU that went offline or out of the cpuset makes the pinned create fail: never let thread
   * pinning be the reason a thread does not start. */
  if (rc == EINVAL) rc = real(thread, attr, start, arg);
  return rc;
}

/* likwid-pin's order: every call counts (i-th creation, from 0); a skipped one
 * (XEONRUN_THREAD_SKIP) runs on the skip CPUs and takes no CPU of the round-robin (docs/design.md,
 * helper threads). */
EXPORT int pthread_create(pthread_t* thread, const pthread_attr_t* attr, void* (*start)(void*),
                          void* arg) {
  pthread_create_fn real = resolve_pthread_create();
  if (real == NULL) return EAGAIN;
  int count = atomic_load_explicit(&thread_cpu_count, memory_order_acquire);
  if (count == 0) return real(thread, attr, start, arg);
  unsigned index = atomic_fetch_add(&thread_creations, 1u);
  if (attr_has_affinity(attr)) return real(thread, attr, start, arg);
  if (index < 64 && ((skip_mask >> index) & 1u) != 0) {
    return create_on(skip_cpus, skip_cpu_count, real, thread, attr, start, arg);
  }
  int cpu = thread_cpus[atomic_fetch_add(&next_thread_cpu, 1u) % (unsigned)count];
  return create_on(&cpu, 1, real, thread, attr, start, arg);
}

/* ---- the rank's process tree: children run on the rank's CPUs (design.md §5) ---- */

/* An OpenMP runtime following the plan (KMP_AFFINITY, OMP_PROC_BIND) binds the rank's initial
 * thread to one CPU at its first parallel region, and every process forked or spawned after that
 * inherits that one CPU. So a process of the tree whose thread mask is a strict subset of the
 * tree's CPUs runs on the tree's CPUs again. The tree's CPUs are the rank's slice, or the mask a
 * wrapper (taskset -c, numactl -C) gave the program it executes: a process that started on the
 * tree's CPUs and changed its own affinity before an execve chose them. XEONRUN_PLACED_TREE=
 * "<pid>:<cpus>" names the tree's CPUs and the last process that started on them; only the pid
 * tells "narrowed in this process before the exec" (a wrapper) from "inherited across fork"
 * (a thread of the parent was narrower). */
enum { kTreeSetBytes = 1024, kTreeTextMax = 8192 }; /* masks of up to 8192 CPUs */
static cpu_set_t tree_cpus[kTreeSetBytes / sizeof(cpu_set_t)];
static int tree_followed; /* written once, in the constructor */
static pid_t tree_pid;    /* the process that ran the constructor: its fork children differ */

static int add_cpus(long first, long last, void* set) {
  if (last >= kTreeSetBytes * 8) return -1;
  for (long cpu = first; cpu <= last; ++cpu) CPU_SET_S((size_t)cpu, kTreeSetBytes, (cpu_set_t*)set);
  return 0;
}

static int set_from_list(const char* text, cpu_set_t* set) {
  CPU_ZERO_S(kTreeSetBytes, set);
  return walk_list(text, add_cpus, set) > 0 ? 0 : -1;
}

/* Appends "<separator><first>[-<last>]" at out[*used]; -1 when it does not fit in size. */
static int append_range(char* out, size_t size, size_t* used, const char* separator, long first,
                        long last) {
  char text[64];
  size_t n = 0;
  long values[2] = {last, first};
  for (int i = (first == last) ? 1 : 0; i < 2; ++i) {
    if (i == 1 && first != last) text[n++] = '-';
    long value = values[i];
    do text[n++] = (char)('0' + value % 10); /* reversed, turned round below */
    while ((value /= 10) > 0);
  }
  size_t sep = strlen(separator);
  if (*used + sep + n + 1 > size) return -1;
  memcpy(out + *used, separator, sep);
  *used += sep;
  while (n > 0) out[(*used)++] = text[--n];
  out[*used] = '\0';
  return 0;
}

/* "<pid>:0-3,8" into out; -1 when it does not fit. */
static int format_tree(long pid, const cpu_set_t* set, char* out, size_t size) {
  size_t used = 0;
  if (append_range(out, size, &used, "", pid, pid) != 0) return -1;
  const char* separator = ":";
  for (long cpu = 0; cpu < kTreeSetBytes * 8; ++cpu) {
    if (!CPU_ISSET_S((size_t)cpu, kTreeSetBytes, set)) continue;
    long last = cpu;
    while (last + 1 < kTreeSetBytes * 8 && CPU_ISSET_S((size_t)last + 1, kTreeSetBytes, set))
      ++last;
    if (append_range(out, size, &used, separator, cpu, last) != 0) return -1;
    separator = ",";
    cpu = last;
  }
  return 0;
}

static void record_tree(void) {
  static char text[kTreeTextMax];
  if (format_tree((long)getpid(), tree_cpus, text, sizeof text) == 0) {
    setenv("XEONRUN_PLACED_TREE", text, 1);
  }
}

static int is_strict_subset(const cpu_set_t* part, const cpu_set_t* whole) {
  cpu_set_t both[kTreeSetBytes / sizeof(cpu_set_t)];
  CPU_AND_S(kTreeSetBytes, both, part, whole);
  return CPU_COUNT_S(kTreeSetBytes, part) > 0 && CPU_EQUAL_S(kTreeSetBytes, both, part) &&
         !CPU_EQUAL_S(kTreeSetBytes, part, whole);
}

/* The plan's KMP_AFFINITY (compact) binds the rank's main thread to the slice's first CPU. A
 * forked copy of a thread that LLVM OpenMP bound (a DataLoader worker) would be bound there again:
 * measured with Debian's libomp 14, its fork handler gives the child the full mask and marks the
 * runtime uninitialised, and the child's next OpenMP call (torch makes one in every forked child,
 * torch.get_num_threads) binds it to the first CPU with the parent's parsed KMP_AFFINITY; a
 * changed environment is not read. libomp's documented kmp_set_defaults() is: such a child calls
 * it with "none", when the runtime is loaded and the variable holds the plan's value
 * (XEONRUN_PLACED_ENV lists it; a value the user set is theirs). An exec'd child keeps the
 * variable: it may be the rank's work itself (a shell entrypoint starting the application). */
static int plan_binds_children; /* written once, in the constructor */

static int plan_binds(void) {
  const char* names = getenv("XEONRUN_PLACED_ENV");
  const size_t n = strlen("KMP_AFFINITY");
  for (const char* p = names; p != NULL; p = strchr(p, ',')) {
    if (*p == ',') ++p;
    if (strncmp(p, "KMP_AFFINITY", n) == 0 && (p[n] == ',' || p[n] == '\0')) return 1;
  }
  return 0;
}

typedef void (*kmp_set_defaults_fn)(const char*);

/* Looked up in the parent before each fork until found (torch may dlopen the runtime late). */
static kmp_set_defaults_fn llvm_openmp_defaults(void) {
  static _Atomic(kmp_set_defaults_fn) found;
  kmp_set_defaults_fn fn = atomic_load_explicit(&found, memory_order_acquire);
  if (fn == NULL && plan_binds_children) {
    void* symbol = dlsym(RTLD_DEFAULT, "kmp_set_defaults");
    memcpy(&fn, &symbol, sizeof fn);
    atomic_store_explicit(&found, fn, memory_order_release);
  }
  return fn;
}

/* XEONRUN_PIN=none (run_cpu's --disable-taskset) leaves affinity alone: children too. */
static int tree_pinned(void) {
  const char* pin = getenv("XEONRUN_PIN");
  const char* handed = getenv("XEONRUN_PLACEMENT");
  return !(pin != NULL && strcmp(pin, "none") == 0) &&
         !(handed != NULL && strstr(handed, ";pin=none") != NULL);
}

/* After this process was placed: it starts the tree on the rank's slice. */
static void start_tree(void) {
  const char* cpus = getenv("XEONRUN_PLACED_CPUS");
  if (cpus == NULL || !tree_pinned() || set_from_list(cpus, tree_cpus) != 0) return;
  record_tree();
  plan_binds_children = plan_binds();
  tree_pid = getpid();
  tree_followed = 1;
}

/* In a process that inherited a placement (the do-nothing path: no engine; a few getenv, two
 * system calls, one or two setenv). */
static void follow_tree(void) {
  const char* cpus = getenv("XEONRUN_PLACED_CPUS");
  const char* tree = getenv("XEONRUN_PLACED_TREE");
  long started = -1;
  if (tree != NULL) {
    const char* p = tree;
    started = parse_number(&p);
    if (started >= 0 && *p == ':')
      cpus = p + 1;
    else
      started = -1;
  }
  cpu_set_t mine[kTreeSetBytes / sizeof(cpu_set_t)];
  if (cpus == NULL || !tree_pinned() || set_from_list(cpus, tree_cpus) != 0 ||
      sched_getaffinity(0, kTreeSetBytes, mine) != 0) {
    return;
  }
  if (started == (long)getpid()) {
    /* The image before the exec started on the tree's CPUs: its own change (a wrapper's) is the
     * user's choice, for this program and its children. */
    if (!CPU_EQUAL_S(kTreeSetBytes, mine, tree_cpus)) {
      memcpy(tree_cpus, mine, kTreeSetBytes);
      record_tree();
    }
  } else {
    if (is_strict_subset(mine, tree_cpus)) sched_setaffinity(0, kTreeSetBytes, tree_cpus);
    record_tree();
  }
  plan_binds_children = plan_binds();
  tree_pid = getpid();
  tree_followed = 1;
}

/* The real definition of an interposed function into *fn, looked up once (lazily: another
 * library's constructor may call it before ours runs); 0 and errno ENOSYS when there is none. */
static int next_function(_Atomic(void*)* cache, const char* name, void* fn, size_t size) {
  void* symbol = atomic_load_explicit(cache, memory_order_acquire);
  if (symbol == NULL) {
    symbol = dlsym(RTLD_NEXT, name);
    atomic_store_explicit(cache, symbol, memory_order_release);
  }
  memcpy(fn, &symbol, size); /* ISO C has no object-to-function pointer conversion */
  if (symbol == NULL) errno = ENOSYS;
  return symbol != NULL;
}

/* Widens the calling thread to the tree's CPUs when its mask is a strict subset of them; returns
 * 1 and the old mask in `saved` when it did. System calls only (it runs in vfork children). */
static int widen_this_thread(cpu_set_t* saved) {
  if (!tree_followed || sched_getaffinity(0, kTreeSetBytes, saved) != 0) return 0;
  return is_strict_subset(saved, tree_cpus) && sched_setaffinity(0, kTreeSetBytes, tree_cpus) == 0;
}

/* fork() is interposed rather than served by a pthread_atfork handler: the child handlers run in
 * the order they were registered, and LLVM OpenMP registers its own at its first parallel region
 * (after our constructor). This runs after every handler. */
typedef pid_t (*fork_fn)(void);

EXPORT pid_t fork(void) {
  static _Atomic(void*) next;
  fork_fn real;
  if (!next_function(&next, "fork", &real, sizeof real)) return -1;
  /* A forking thread narrower than the tree was bound by its OpenMP runtime (or narrowed
   * itself): its child is a helper of the rank, not the rank's work. */
  cpu_set_t mine[kTreeSetBytes / sizeof(cpu_set_t)];
  int bound = tree_followed && sched_getaffinity(0, kTreeSetBytes, mine) == 0 &&
              is_strict_subset(mine, tree_cpus);
  kmp_set_defaults_fn llvm_openmp = bound ? llvm_openmp_defaults() : NULL;
  pid_t pid = real();
  if (pid == 0 && bound) {
    int saved = errno;
    widen_this_thread(mine);
    errno = saved;
    if (llvm_openmp != NULL) llvm_openmp("KMP_AFFINITY=none");
  }
  return pid;
}

/* A program's libraries may read the affinity in their constructors, before ours widens it
 * (libnuma: numactl -C refuses a CPU outside it; libgomp: its places). So a child that did not
 * come through fork() is widened before its execve: a vfork child (python's subprocess) in
 * execve/execv, and glibc's posix_spawn, which runs no fork handler and calls execve internally,
 * by widening the calling thread for the duration of the call. Not in the process that ran the
 * constructor: an execve there follows its own choice (a wrapper's, see follow_tree). */
typedef int (*execve_fn)(const char*, char* const[], char* const[]);

EXPORT int execve(const char* path, char* const argv[], char* const envp[]) {
  static _Atomic(void*) next;
  execve_fn real;
  if (!next_function(&next, "execve", &real, sizeof real)) return -1;
  cpu_set_t saved[kTreeSetBytes / sizeof(cpu_set_t)];
  int widened = tree_followed && getpid() != tree_pid && widen_this_thread(saved);
  int rc = real(path, argv, envp);
  if (widened) sched_setaffinity(0, kTreeSetBytes, saved); /* the exec failed */
  return rc;
}

EXPORT int execv(const char* path, char* const argv[]) {
  extern char** environ;
  return execve(path, argv, environ);
}

typedef int (*posix_spawn_fn)(pid_t*, const char*, const posix_spawn_file_actions_t*,
                              const posix_spawnattr_t*, char* const[], char* const[]);

static int spawn_widened(const char* name, pid_t* pid, const char* path,
                         const posix_spawn_file_actions_t* actions, const posix_spawnattr_t* attr,
                         char* const argv[], char* const envp[]) {
  static _Atomic(void*) next_spawn, next_spawnp;
  posix_spawn_fn real;
  _Atomic(void*)* next = name[strlen(name) - 1] == 'p' ? &next_spawnp : &next_spawn;
  if (!next_function(next, name, &real, sizeof real)) return ENOSYS;
  cpu_set_t saved[kTreeSetBytes / sizeof(cpu_set_t)];
  int widened = widen_this_thread(saved);
  int rc = real(pid, path, actions, attr, argv, envp);
  if (widened) sched_setaffinity(0, kTreeSetBytes, saved);
  return rc;
}

EXPORT int posix_spawn(pid_t* pid, const char* path, const posix_spawn_file_actions_t* actions,
                       const posix_spawnattr_t* attr, char* const argv[], char* const envp[]) {
  return spawn_widened("posix_spawn", pid, path, actions, attr, argv, envp);
}

EXPORT int posix_spawnp(pid_t* pid, const char* file, const posix_spawn_file_actions_t* actions,
                        const posix_spawnattr_t* attr, char* const argv[], char* const envp[]) {
  return spawn_widened("posix_spawnp", pid, file, actions, attr, argv, envp);
}

/* ---- a rank xeonrun-spawn placed already: confirmed without the engine (design.md §4, §7) ---- */

enum { kHandedLineMax = 16384, kContextMax = 4096 };

/* The handed line, when the environment holds nothing else the engine would act on: no output of
 * an earlier placement or re-exec (XEONRUN_PLACED_*, XEONRUN_REEXEC_*), and no reporting variable
 * (XEONRUN_LOG_LEVEL, XEONRUN_LOG_FILE: not counted in the fingerprint, and the engine would log).
 * Of two XEONRUN_PLACEMENT entries the first, as getenv() and the engine read; the second one
 * still counts in the fingerprint, which then does not match. */
static const char* handed_line_alone(char** envp) {
  const char* line = NULL;
  for (char** entry = envp; *entry != NULL; ++entry) {
    if (!starts_with(*entry, "XEONRUN_")) continue;
    const char* name = *entry + strlen("XEONRUN_");
    if (starts_with(name, "PLACED_") || starts_with(name, "REEXEC_") ||
        starts_with(name, "LOG_LEVEL=") || starts_with(name, "LOG_FILE=")) {
      return NULL;
    }
    if (line == NULL && starts_with(name, "PLACEMENT=")) line = name + strlen("PLACEMENT=");
  }
  return line != NULL && strlen(line) < kHandedLineMax ? line : NULL;
}

static uint64_t inputs_fingerprint(char** envp) {
  return xeonplace_inputs_fingerprint((const char* const*)envp, context_variables,
                                      sizeof context_variables / sizeof *context_variables);
}

/* The spawner vouched for exactly these inputs (HandedPlacement::inputs in core/decision.h): the
 * fingerprint of the environment with the line counted without its inputs field. */
static int vouched_for(uint64_t fingerprint, const char* line, const struct xeonplace_handed* h) {
  static char entry[sizeof "XEONRUN_PLACEMENT=" + kHandedLineMax];
  const size_t name = strlen("XEONRUN_PLACEMENT=");
  memcpy(entry, "XEONRUN_PLACEMENT=", name);
  memcpy(entry + name, line, strlen(line) + 1);
  fingerprint -= xeonplace_entry_share(entry);
  entry[name + h->vouched_size] = '\0';
  fingerprint += xeonplace_entry_share(entry);
  char text[XEONPLACE_FINGERPRINT_SIZE];
  xeonplace_format_fingerprint(fingerprint, text);
  return memcmp(text, h->inputs.text, h->inputs.size) == 0;
}

/* What the spawner applied between fork and exec (sys/apply.h, PreparedPlacement) is in force:
 * this thread's affinity is the CPUs, and the memory policy the mode and nodes (raw system call:
 * the front links libc only). Anything else (pin=thread or none, preferred) is the engine's. */
static int handed_in_force(const struct xeonplace_handed* h) {
  cpu_set_t now[kTreeSetBytes / sizeof(cpu_set_t)];
  _Static_assert(sizeof now == sizeof h->cpus, "one mask size for the tree and the handoff");
  if (h->pin != XEONPLACE_PIN_PROCESS || sched_getaffinity(0, sizeof now, now) != 0 ||
      memcmp(now, h->cpus, sizeof now) != 0) {
    return 0;
  }
  if (h->membind == XEONPLACE_MEMBIND_NONE) return 1;
  if (h->membind == XEONPLACE_MEMBIND_PREFERRED) return 0;
  int mode = -1;
  unsigned long nodes[sizeof h->mems / sizeof *h->mems];
  if (syscall(SYS_get_mempolicy, &mode, nodes, (unsigned long)XEONPLACE_HANDED_MAX_NODES, NULL,
              0UL) != 0) {
    return 0;
  }
  const int wanted = h->membind == XEONPLACE_MEMBIND_BIND ? MPOL_BIND : MPOL_INTERLEAVE;
  return mode == wanted && memcmp(nodes, h->mems, sizeof nodes) == 0;
}

/* XEONRUN_PLACED_LAUNCHER as launcher_context() (core/decision.h) writes it: "NAME=value;" for
 * each context variable present, first entry of a name, in the core's order. */
static int launcher_context_of(char** envp, char* out, size_t size) {
  size_t used = 0;
  out[0] = '\0';
  for (size_t i = 0; i < sizeof context_variables / sizeof *context_variables; ++i) {
    for (char** entry = envp; *entry != NULL; ++entry) {
      if (!starts_with(*entry, context_variables[i])) continue;
      size_t n = strlen(*entry);
      if (used + n + 2 > size) return -1;
      memcpy(out + used, *entry, n);
      out[used + n] = ';';
      used += n + 1;
      out[used] = '\0';
      break;
    }
  }
  return 0;
}

static int export_text(const char* name, struct xeonplace_text value) {
  static char text[kHandedLineMax];
  memcpy(text, value.text, value.size);
  text[value.size] = '\0';
  return setenv(name, text, 1);
}

/* A handed placement that is in force, for inputs the spawner vouched for: exports what the
 * engine exports after applying it (decide_handed and decide in core/decision.cpp, in their
 * order) and returns 1. Anything else returns 0, having changed nothing: the engine decides. */
static int confirm_handed_placement(char** envp) {
  static struct xeonplace_handed h;
  static char context[kContextMax];
  const char* line = handed_line_alone(envp);
  if (line == NULL || !xeonplace_read_handed(line, &h)) return 0;
  const uint64_t fingerprint = inputs_fingerprint(envp);
  if (!vouched_for(fingerprint, line, &h) || !handed_in_force(&h) ||
      launcher_context_of(envp, context, sizeof context) != 0) {
    return 0;
  }
  char inputs[XEONPLACE_FINGERPRINT_SIZE];
  xeonplace_format_fingerprint(fingerprint, inputs);
  export_text("XEONRUN_PLACED_RANK", h.rank_text);
  export_text("XEONRUN_PLACED_NRANKS", h.nranks_text);
  export_text("XEONRUN_PLACED_CPUS", h.cpus_text);
  export_text("XEONRUN_PLACED_MEMS", h.mems_text);
  export_text("XEONRUN_PLACED_MEMBIND", h.membind_text);
  export_text("XEONRUN_PLACED_ENV", h.env_text);
  setenv("XEONRUN_PLACED_LAUNCHER", context, 1);
  setenv("XEONRUN_PLACED_INPUTS", inputs, 1);
  return 1;
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
  enum front_action action = placement_wanted(envp);
  if (action == kInherited) {
    /* First the tree: a mask an OpenMP runtime narrowed in the parent is widened back. What is
     * still narrower than the placement then is a wrapper's choice (taskset -c, numactl -C): the
     * engine corrects what the process is told (Action::Correct, core/decision.cpp). */
    follow_tree();
    if (narrowed_inside(getenv("XEONRUN_PLACED_CPUS"))) action = kPlace;
  }
  if (action != kPlace) return;
  if (confirm_handed_placement(envp)) {
    start_tree();
    return;
  }

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
      .set_thread_skip = set_thread_skip,
  };
  const int result = entry(&self);
  if (result == XEONPLACE_ENGINE_EXIT) _exit(XEONPLACE_EXIT_CONFIG_ERROR);
  /* Nothing of the engine is used after it returns (the thread CPUs were copied into the front),
   * so unmapping it and hwloc/libnuma gives the program ~1.7 MB back. glibc runs the engine's
   * static destructors, and keeps it mapped by itself if anything still pins it (a thread-local
   * destructor, a unique symbol). */
  if (result != XEONPLACE_ENGINE_KEEP) dlclose(engine);
  start_tree();
}

/* ---- the public C API: reads what the engine exported ---- */

struct id_array {
  int* out;
  int max;
  int count;
};

static int add_ids(long first, long last, void* ctx) {
  struct id_array* ids = ctx;
  for (long id = first; id <= last; ++id, ++ids->count) {
    if (ids->out != NULL && ids->count < ids->max) ids->out[ids->count] = (int)id;
  }
  return 0;
}

/* Expands a list like "0-3,8" into out[0..max); returns the number of ids, or -1 if malformed. */
static int expand_list(const char* text, int* out, int max) {
  struct id_array ids = {out, max, 0};
  return walk_list(text, add_ids, &ids);
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

EXPORT int xeonplace_helper_cpus(int* out, int max) {
  if (!xeonplace_placed()) return -1;
  if (getenv("XEONRUN_PLACED_HELPER_CPUS") == NULL) return 0;
  return placed_list("XEONRUN_PLACED_HELPER_CPUS", out, max);
}

EXPORT const char* xeonplace_membind(void) {
  return xeonplace_placed() ? getenv("XEONRUN_PLACED_MEMBIND") : NULL;
}
