/* helper_threads N: creates N threads one after another (each joined before the next, so the
 * order of pthread_create calls is the order of the lines) and prints where each ran:
 *   cpus=LIST            the main thread's affinity
 *   threadI_cpus=LIST    thread I's affinity (I from 0, the I-th pthread_create of the program)
 *   api_helper_cpus=LIST xeonplace_helper_cpus(), or "none" (-1) when the library did not place
 * plus the variables a rank with helper cores reads (OMP_NUM_THREADS, CCL_WORKER_*,
 * XEONRUN_PLACED_HELPER_CPUS). Used by test_helper_threads.py (XEONRUN_THREAD_SKIP,
 * XEONRUN_HELPER_CORES). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_affinity(const char* key) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) {
    printf("%s=error\n", key);
    return;
  }
  printf("%s=", key);
  int first = 1;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &set)) continue;
    printf(first ? "%d" : ",%d", cpu);
    first = 0;
  }
  printf("\n");
}

static void* report(void* index) {
  char key[32];
  snprintf(key, sizeof key, "thread%ld_cpus", (long)index);
  print_affinity(key);
  return NULL;
}

static void print_env(const char* name) {
  const char* value = getenv(name);
  printf("%s=%s\n", name, value ? value : "(unset)");
}

/* Looked up, not linked: the program also runs without the library. */
static void print_helper_api(void) {
  int (*helpers)(int*, int) = NULL;
  void* symbol = dlsym(RTLD_DEFAULT, "xeonplace_helper_cpus");
  memcpy(&helpers, &symbol, sizeof helpers); /* ISO C: no object-to-function pointer cast */
  int n = helpers ? helpers(NULL, 0) : -1;
  if (n < 0) {
    printf("api_helper_cpus=none\n");
    return;
  }
  int ids[1024];
  n = helpers(ids, n < 1024 ? n : 1024);
  printf("api_helper_cpus=");
  for (int i = 0; i < n && i < 1024; ++i) printf(i ? ",%d" : "%d", ids[i]);
  printf("\n");
}

int main(int argc, char** argv) {
  print_affinity("cpus");
  const char* names[] = {"OMP_NUM_THREADS", "CCL_WORKER_COUNT", "CCL_WORKER_AFFINITY",
                         "XEONRUN_PLACED_CPUS", "XEONRUN_PLACED_HELPER_CPUS"};
  for (size_t i = 0; i < sizeof names / sizeof *names; ++i) print_env(names[i]);
  print_helper_api();
  fflush(stdout);
  long n = argc > 1 ? atol(argv[1]) : 0;
  for (long i = 0; i < n && i < 64; ++i) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, report, (void*)i) != 0) {
      printf("thread%ld_cpus=create failed\n", i);
      continue;
    }
    pthread_join(thread, NULL);
    fflush(stdout);
  }
  return 0;
}
