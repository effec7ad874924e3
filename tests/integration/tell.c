/* tell: prints, on one line, what this process has and what it is told: its affinity, the
 * exported XEONRUN_PLACED_*, OMP_NUM_THREADS, and the C API's answers (xeonplace.h, looked up with
 * dlsym so that the program runs with or without the library). test_replace.py compares them. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char* env_or(const char* name) {
  const char* value = getenv(name);
  return value ? value : "<unset>";
}

int main(void) {
  cpu_set_t set;
  printf("tell: affinity=");
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    const char* separator = "";
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &set)) printf("%s%d", separator, cpu), separator = ",";
    }
  }
  printf(" rank=%s placed_cpus=%s membind=%s omp=%s", env_or("XEONRUN_PLACED_RANK"),
         env_or("XEONRUN_PLACED_CPUS"), env_or("XEONRUN_PLACED_MEMBIND"),
         env_or("OMP_NUM_THREADS"));
  /* ISO C has no object-to-function pointer conversion: copy the bytes. */
  const char* (*api_membind)(void) = NULL;
  int (*api_cpus)(int*, int) = NULL;
  void* membind_symbol = dlsym(RTLD_DEFAULT, "xeonplace_membind");
  void* cpus_symbol = dlsym(RTLD_DEFAULT, "xeonplace_cpus");
  if (membind_symbol != NULL) memcpy(&api_membind, &membind_symbol, sizeof api_membind);
  if (cpus_symbol != NULL) memcpy(&api_cpus, &cpus_symbol, sizeof api_cpus);
  const char* membind = api_membind ? api_membind() : NULL;
  printf(" api_membind=%s api_cpus=", membind ? membind : "<null>");
  int cpus[CPU_SETSIZE];
  int count = api_cpus ? api_cpus(cpus, CPU_SETSIZE) : -1;
  for (int i = 0; i < count && i < CPU_SETSIZE; ++i) printf("%s%d", i ? "," : "", cpus[i]);
  printf("\n");
  return 0;
}
