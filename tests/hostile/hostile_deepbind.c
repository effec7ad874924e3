/* Loaded by the probe with RTLD_DEEPBIND: its own references resolve inside itself and its
 * dependencies first, so its pthread_create may bypass libxeonplace.so's interposer. It starts a
 * thread, which allocates, and reports that thread's affinity. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void* work(void* arg) {
  cpu_set_t* set = arg;
  void* block = malloc(1 << 20);
  memset(block, 1, 1 << 20);
  free(block);
  CPU_ZERO(set);
  pthread_getaffinity_np(pthread_self(), sizeof *set, set);
  return NULL;
}

int hostile_thread_cpus(char* out, size_t size) {
  cpu_set_t set;
  pthread_t thread;
  if (pthread_create(&thread, NULL, work, &set) != 0) return -1;
  pthread_join(thread, NULL);
  size_t used = 0;
  out[0] = '\0';
  for (int cpu = 0; cpu < CPU_SETSIZE && used + 8 < size; ++cpu) {
    if (CPU_ISSET(cpu, &set))
      used += (size_t)snprintf(out + used, size - used, "%s%d", used ? "," : "", cpu);
  }
  return 0;
}
