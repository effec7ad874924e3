/* Reports, from inside a process, what placement it got: one "key=value" line each on stdout.
 *   probe             affinity, memory policy, OpenMP variables, xeonplace.h answers, early thread
 *   probe threads N   also the affinity of N threads created after main() started
 *   probe env         also every environment entry as "env=NAME=VALUE"
 * The C API is looked up with dlsym so that the probe runs with or without the library. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <numaif.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

extern char** environ;
pid_t early_thread_tid(void);
int early_thread_started_before_placement(void);

static void print_cpus(const char* key, pid_t tid) {
  cpu_set_t set;
  if (sched_getaffinity(tid, sizeof set, &set) != 0) {
    printf("%s=error\n", key);
    return;
  }
  /* One line under stdout's lock: the "threads" threads print at once, and their pieces must not
   * interleave ("thread1_cpus=thread2_cpus=1\n0\n" lost a key under load). */
  flockfile(stdout);
  printf("%s=", key);
  const char* sep = "";
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) {
      printf("%s%d", sep, cpu);
      sep = ",";
    }
  }
  printf("\n");
  funlockfile(stdout);
}

static void print_mempolicy(void) {
  int mode = -1;
  unsigned long mask[16] = {0};
  if (get_mempolicy(&mode, mask, sizeof mask * 8, NULL, 0) != 0) {
    printf("mempolicy_mode=error\n");
    return;
  }
  printf("mempolicy_mode=%d\nmempolicy_nodes=", mode);
  const char* sep = "";
  for (unsigned node = 0; node < sizeof mask * 8; ++node) {
    if (mask[node / 64] & (1UL << (node % 64))) {
      printf("%s%u", sep, node);
      sep = ",";
    }
  }
  printf("\n");
}

static void print_env(const char* name) {
  const char* value = getenv(name);
  printf("%s=%s\n", name, value ? value : "<unset>");
}

typedef int (*int_fn)(void);
typedef int (*list_fn)(int*, int);
typedef const char* (*text_fn)(void);

static void* symbol(const char* name) { return dlsym(RTLD_DEFAULT, name); }

static void print_api_list(const char* key, const char* name) {
  void* sym = symbol(name);
  list_fn fn;
  memcpy(&fn, &sym, sizeof fn);
  int n = fn(NULL, 0);
  printf("%s=", key);
  if (n < 0) {
    printf("%d\n", n);
    return;
  }
  int ids[4096];
  int got = fn(ids, n < 4096 ? n : 4096);
  for (int i = 0; i < got && i < 4096; ++i) printf("%s%d", i ? "," : "", ids[i]);
  printf("\n");
}

static void print_api(void) {
  if (symbol("xeonplace_placed") == NULL) {
    printf("api=absent\n");
    return;
  }
  void* sym;
  int_fn fn;
  text_fn text;
  sym = symbol("xeonplace_placed");
  memcpy(&fn, &sym, sizeof fn);
  printf("api_placed=%d\n", fn());
  sym = symbol("xeonplace_rank");
  memcpy(&fn, &sym, sizeof fn);
  printf("api_rank=%d\n", fn());
  sym = symbol("xeonplace_nranks");
  memcpy(&fn, &sym, sizeof fn);
  printf("api_nranks=%d\n", fn());
  print_api_list("api_cpus", "xeonplace_cpus");
  print_api_list("api_mems", "xeonplace_mems");
  sym = symbol("xeonplace_membind");
  memcpy(&text, &sym, sizeof text);
  const char* membind = text();
  printf("api_membind=%s\n", membind ? membind : "<null>");
}

static int mapped(const char* name) {
  FILE* maps = fopen("/proc/self/maps", "r");
  char line[4096];
  int found = 0;
  while (maps && fgets(line, sizeof line, maps)) {
    if (strstr(line, name)) found = 1;
  }
  if (maps) fclose(maps);
  return found;
}

static pthread_barrier_t all_reported;

static void* report_thread(void* index) {
  char key[32];
  snprintf(key, sizeof key, "thread%d_cpus", (int)(long)index);
  print_cpus(key, 0);
  fflush(stdout);
  pthread_barrier_wait(&all_reported); /* keep every thread alive until all have reported */
  return NULL;
}

static void start_threads(int n) {
  pthread_t threads[64];
  pthread_barrier_init(&all_reported, NULL, (unsigned)n);
  for (int i = 0; i < n && i < 64; ++i) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    /* An attr of its own (stack size) must survive the interposer's copy. */
    pthread_attr_setstacksize(&attr, (size_t)(i + 1) * 1024 * 1024);
    if (pthread_create(&threads[i], i % 2 ? &attr : NULL, report_thread, (void*)(long)(i + 1))) {
      printf("thread%d=create failed\n", i + 1);
      exit(3);
    }
    pthread_attr_destroy(&attr);
  }
  for (int i = 0; i < n && i < 64; ++i) pthread_join(threads[i], NULL);
}

static void* check_stack(void* wanted) {
  pthread_attr_t attr;
  size_t size = 0;
  pthread_getattr_np(pthread_self(), &attr);
  pthread_attr_getstacksize(&attr, &size);
  pthread_attr_destroy(&attr);
  printf("stack_kept=%d\n", size >= (size_t)wanted);
  return NULL;
}

static char* own_stack;
static const size_t own_stack_size = 1024 * 1024;

static int own_stack_thread_cpu = -1;

static void* check_own_stack(void* unused) {
  char local = 0;
  (void)unused;
  printf("own_stack_kept=%d\n", &local > own_stack && &local < own_stack + own_stack_size);
  print_cpus("own_stack_thread_cpus", 0);
  own_stack_thread_cpu = sched_getcpu();
  return NULL;
}

static void* report_affinity(void* unused) {
  (void)unused;
  print_cpus("attr_affinity_thread_cpus", 0);
  return NULL;
}

/* Threads whose creator chose a stack or an affinity: the interposer must keep both. */
static void start_threads_with_own_attributes(void) {
  pthread_attr_t attr;
  pthread_t thread;
  own_stack = aligned_alloc(4096, own_stack_size);
  pthread_attr_init(&attr);
  pthread_attr_setstack(&attr, own_stack, own_stack_size);
  pthread_create(&thread, &attr, check_own_stack, NULL);
  pthread_join(thread, NULL);
  pthread_attr_destroy(&attr);

  /* PROBE_ATTR_CPU, else the previous thread's CPU: with XEONRUN_PIN=thread on two or more
   * CPUs, the round robin gives this next thread another one, so a kept affinity is told apart
   * from a replaced one. */
  const char* chosen = getenv("PROBE_ATTR_CPU");
  int cpu = chosen ? atoi(chosen) : own_stack_thread_cpu;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu < 0 ? 0 : cpu, &set);
  pthread_attr_init(&attr);
  pthread_attr_setaffinity_np(&attr, sizeof set, &set);
  pthread_create(&thread, &attr, report_affinity, NULL);
  pthread_join(thread, NULL);
  pthread_attr_destroy(&attr);
}

int main(int argc, char** argv) {
  print_cpus("cpus", 0);
  print_cpus("early_thread_cpus", early_thread_tid());
  printf("early_thread_before_placement=%d\n", early_thread_started_before_placement());
  print_mempolicy();
  const char* names[] = {"OMP_NUM_THREADS",       "OMP_PROC_BIND",       "OMP_PLACES",
                         "KMP_AFFINITY",          "KMP_BLOCKTIME",       "XEONRUN_PLACED_RANK",
                         "XEONRUN_PLACED_NRANKS", "XEONRUN_PLACED_CPUS", "XEONRUN_PLACED_MEMS",
                         "XEONRUN_PLACED_MEMBIND"};
  for (size_t i = 0; i < sizeof names / sizeof *names; ++i) print_env(names[i]);
  print_api();
  printf("engine_loaded=%d\n", mapped("libxeonplace-engine.so"));
  printf("hwloc_loaded=%d\n", mapped("libhwloc.so"));
  fflush(stdout);
  if (argc >= 3 && strcmp(argv[1], "threads") == 0) {
    start_threads(atoi(argv[2]));
    pthread_attr_t attr;
    pthread_t thread;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 8u * 1024 * 1024);
    pthread_create(&thread, &attr, check_stack, (void*)(8ul * 1024 * 1024));
    pthread_join(thread, NULL);
    fflush(stdout);
    start_threads_with_own_attributes();
  }
  if (argc >= 2 && strcmp(argv[1], "env") == 0) {
    for (char** e = environ; *e; ++e) printf("env=%s\n", *e);
  }
  return 0;
}
