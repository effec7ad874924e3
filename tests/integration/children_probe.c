/* A placed OpenMP program that starts processes after its first parallel region (issue #12): the
 * runtime has bound the initial thread by then, following the plan's KMP_AFFINITY (LLVM OpenMP,
 * which the library preloads as libiomp5) or OMP_PROC_BIND (libgomp). Prints one "name=cpus" line
 * per process, cpus as a comma list of this thread's affinity.
 *
 *   children_probe report            this process's affinity only
 *   children_probe fork              parent=, then fork_child= from a fork without exec
 *   children_probe spawn [WRAPPER…]  parent=, then posix_spawn [WRAPPER…] children_probe report
 *                                    (glibc's posix_spawn runs no pthread_atfork handler) */
#define _GNU_SOURCE
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

static void report(const char* name) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return;
  printf("%s=", name);
  const char* separator = "";
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &set)) continue;
    printf("%s%d", separator, cpu);
    separator = ",";
  }
  printf("\n");
  fflush(stdout);
}

static double parallel_region(void) {
  double sum = 0;
#pragma omp parallel for reduction(+ : sum)
  for (int i = 0; i < 1000000; ++i) sum += (double)i * 0.5;
  return sum;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  if (strcmp(argv[1], "report") == 0) {
    report("child");
    return 0;
  }
  if (parallel_region() < 0) return 1;
  report("parent");
  if (strcmp(argv[1], "fork") == 0) {
    pid_t pid = fork();
    if (pid == 0) {
      report("fork_child");
      _exit(0);
    }
    return waitpid(pid, NULL, 0) == pid ? 0 : 1;
  }
  if (strcmp(argv[1], "spawn") == 0) {
    char* child[16];
    int n = 0;
    for (int i = 2; i < argc && n < 13; ++i) child[n++] = argv[i];
    child[n++] = argv[0];
    child[n++] = "report";
    child[n] = NULL;
    pid_t pid;
    int status;
    if (posix_spawnp(&pid, child[0], NULL, NULL, child, environ) != 0) return 1;
    return waitpid(pid, &status, 0) == pid && WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  }
  return 2;
}
