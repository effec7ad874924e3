/* The gcc -fopenmp program of the chain-load tests (linked with libgomp). Reports which runtime
 * serves the GOMP_* entry points gcc emitted, whether LLVM's libomp is mapped, the team size of a
 * parallel region and the CPUs each thread of the team may run on. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <omp.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe_common.h"

/* Room for the team of a large machine: every thread's mask printed in full, so that a test
 * never compares a truncated list. */
enum { kMaxThreads = 1024, kCpusText = 8 * CPU_SETSIZE };

int main(void) {
  char where[4096], maps_line[4096];
  int libomp_mapped = 0, team = 0;
  char(*cpus)[kCpusText] = calloc(kMaxThreads, sizeof *cpus);
  FILE* maps;

  if (cpus == NULL) return 3;

  probe_mapping_of(dlsym(RTLD_DEFAULT, "GOMP_parallel"), where, sizeof where);
  maps = fopen("/proc/self/maps", "r");
  while (maps != NULL && fgets(maps_line, sizeof maps_line, maps) != NULL) {
    if (strstr(maps_line, "libomp.so") != NULL || strstr(maps_line, "libiomp5.so") != NULL) {
      libomp_mapped = 1;
    }
  }
  if (maps != NULL) fclose(maps);

#pragma omp parallel
  {
    cpu_set_t set;
    int t = omp_get_thread_num(), c, len = 0;
#pragma omp single
    team = omp_get_num_threads();
    CPU_ZERO(&set);
    sched_getaffinity(0, sizeof set, &set);
    if (t < kMaxThreads) {
      for (c = 0; c < CPU_SETSIZE; ++c) {
        /* at most 6 characters per CPU below CPU_SETSIZE: always room */
        if (CPU_ISSET(c, &set)) {
          len += snprintf(cpus[t] + len, (size_t)(kCpusText - len), "%s%d", len ? "," : "", c);
        }
      }
    }
  }
  printf("gomp_parallel_object=%s\nlibomp_mapped=%d\nteam=%d\n", where, libomp_mapped, team);
  for (int t = 0; t < team && t < kMaxThreads; ++t) printf("thread%d_cpus=%s\n", t, cpus[t]);
  {
    int entries = 0;
    for (char** e = environ; e != NULL && *e != NULL; ++e) {
      entries += strncmp(*e, "LD_PRELOAD=", 11) == 0;
    }
    printf("ld_preload_entries=%d\n", entries);
  }
  printf("env_OMP_NUM_THREADS=%s\n",
         getenv("OMP_NUM_THREADS") ? getenv("OMP_NUM_THREADS") : "<unset>");
  free(cpus);
  return 0;
}
