/* What being preloaded costs a process (issue #3's performance targets):
 *
 *   bench_preload LIBXEONPLACE [RUNS]
 *
 * Spawns, interleaved round-robin so that machine noise hits every variant alike, RUNS times each:
 *   plain        /bin/true
 *   do-nothing   LD_PRELOAD=libxeonplace.so /bin/true                 (no XEONRUN_* input)
 *   placed       LD_PRELOAD=libxeonplace.so XEONRUN_RANK=0 XEONRUN_NINSTANCES=2 /bin/true
 *                (no allocator / OpenMP runtime to chain-load: that is issue #4's benchmark)
 *   handed       LD_PRELOAD=libxeonplace.so XEONRUN_PLACEMENT=<vouched, in force> /bin/true
 *                (a rank xeonrun-spawn placed already: the front confirms it, no engine)
 *   handed+engine  the same with XEONRUN_LOG_LEVEL=warn, which is the engine's to read
 *   numactl      numactl -C 0 -m 0 /bin/true                          (what run_cpu starts)
 * and prints the median wall time of each (fork+exec+wait, measured by the parent), the ratios the
 * targets are stated in, and the resident memory of a placed process minus a plain one (VmRSS
 * read by the process itself at main(): what stays after the constructor freed the topology).
 *
 * Targets: do-nothing / plain <= 1.10; placed - plain <= (numactl - plain) + 1 ms; RSS <= 1 MB. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/placement_inputs.h"

extern char** environ;

enum { PLAIN, DO_NOTHING, PLACED, HANDED, HANDED_ENGINE, NUMACTL, VARIANTS };
static const char* const names[VARIANTS] = {"plain",  "do-nothing",    "placed",
                                            "handed", "handed+engine", "numactl"};

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The environment of this process minus anything that would make the library act. */
static char** base_environment(char** extra, int nextra) {
  size_t n = 0;
  for (char** e = environ; *e; ++e) ++n;
  char** env = calloc(n + (size_t)nextra + 1, sizeof *env);
  size_t k = 0;
  for (char** e = environ; *e; ++e) {
    if (strncmp(*e, "XEONRUN_", 8) == 0 || strncmp(*e, "LD_PRELOAD=", 11) == 0 ||
        strncmp(*e, "LOCAL_RANK=", 11) == 0 || strncmp(*e, "OMPI_", 5) == 0 ||
        strncmp(*e, "MPI_LOCALRANKID=", 16) == 0 || strncmp(*e, "SLURM_", 6) == 0) {
      continue;
    }
    env[k++] = *e;
  }
  for (int i = 0; i < nextra; ++i) env[k++] = extra[i];
  env[k] = NULL;
  return env;
}

/* Runs argv with env, returns the wall time in ms; exits on failure. Output goes to `out_fd`
 * (or is discarded when -1). */
static double run_once(char* const argv[], char* const env[], int out_fd, double* cpu_ms) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (out_fd >= 0) {
    posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
  } else {
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  }
  pid_t pid;
  const double start = now_ms();
  if (posix_spawnp(&pid, argv[0], &actions, NULL, argv, env) != 0) {
    fprintf(stderr, "bench_preload: cannot start %s\n", argv[0]);
    exit(1);
  }
  int status;
  struct rusage usage;
  wait4(pid, &status, 0, &usage);
  const double elapsed = now_ms() - start;
  if (cpu_ms != NULL) {
    *cpu_ms = (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e3 +
              (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e3;
  }
  posix_spawn_file_actions_destroy(&actions);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "bench_preload: %s failed (status %d)\n", argv[0], status);
    exit(1);
  }
  return elapsed;
}

/* "XEONRUN_PLACEMENT=<line>" as xeonrun-spawn hands it to a rank it placed already, for this
 * process's CPUs (what a child inherits), membind none, vouched for an environment whose only
 * input it is (docs/design.md §4): the front confirms it without loading the engine. */
static char* handed_entry(void) {
  static char entry[8192];
  cpu_set_t set;
  char cpus[4096] = "";
  if (sched_getaffinity(0, sizeof set, &set) != 0) exit(1);
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &set)) continue;
    int last = cpu;
    while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, &set)) ++last;
    size_t used = strlen(cpus);
    snprintf(cpus + used, sizeof cpus - used, last > cpu ? "%s%d-%d" : "%s%d", used ? "," : "", cpu,
             last);
    cpu = last;
  }
  snprintf(entry, sizeof entry,
           "XEONRUN_PLACEMENT=v1;rank=0;nranks=1;cpus=%s;mems=;membind=none;pin=process;"
           "source=xeonrun-spawn;env=",
           cpus);
  char inputs[XEONPLACE_FINGERPRINT_SIZE];
  xeonplace_format_fingerprint(xeonplace_entry_share(entry), inputs);
  strncat(entry, ";inputs=", sizeof entry - strlen(entry) - 1);
  strncat(entry, inputs, sizeof entry - strlen(entry) - 1);
  return entry;
}

static int compare(const void* a, const void* b) {
  const double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

static double median(double* values, int n) {
  qsort(values, (size_t)n, sizeof *values, compare);
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

/* --rss: print this process's VmRSS in kB (run as the measured program). */
static int print_rss(void) {
  FILE* status = fopen("/proc/self/status", "r");
  char line[256];
  while (status && fgets(line, sizeof line, status)) {
    if (strncmp(line, "VmRSS:", 6) == 0) printf("%ld\n", strtol(line + 6, NULL, 10));
  }
  if (status) fclose(status);
  return 0;
}

static long rss_of(char* self, char* const env[]) {
  int fds[2];
  if (pipe(fds) != 0) exit(1);
  char* argv[] = {self, "--rss", NULL};
  run_once(argv, env, fds[1], NULL);
  close(fds[1]);
  char text[64] = {0};
  ssize_t n = read(fds[0], text, sizeof text - 1);
  close(fds[0]);
  return n > 0 ? strtol(text, NULL, 10) : -1;
}

int main(int argc, char** argv) {
  if (argc == 2 && strcmp(argv[1], "--rss") == 0) return print_rss();
  if (argc < 2) {
    fprintf(stderr, "usage: bench_preload LIBXEONPLACE [RUNS]\n");
    return 2;
  }
  const int runs = argc > 2 ? atoi(argv[2]) : 400;
  char preload[4096];
  snprintf(preload, sizeof preload, "LD_PRELOAD=%s", argv[1]);
  char* no_input[] = {preload};
  char* placement[] = {preload, "XEONRUN_RANK=0", "XEONRUN_NINSTANCES=2",
                       "XEONRUN_ALLOCATOR=default", "XEONRUN_OMP_RUNTIME=default"};
  /* The reporting variable is left to the engine (front.c): the same placement, engine loaded. */
  char* handed[] = {preload, handed_entry(), "XEONRUN_LOG_LEVEL=warn"};
  char** envs[VARIANTS] = {base_environment(NULL, 0),      base_environment(no_input, 1),
                           base_environment(placement, 5), base_environment(handed, 2),
                           base_environment(handed, 3),    base_environment(NULL, 0)};
  char* true_argv[] = {"/bin/true", NULL};
  char* numactl_argv[] = {"numactl", "-C", "0", "-m", "0", "/bin/true", NULL};
  char** argvs[VARIANTS] = {true_argv, true_argv, true_argv, true_argv, true_argv, numactl_argv};

  double* times[VARIANTS];
  double* cpu[VARIANTS];
  for (int v = 0; v < VARIANTS; ++v) {
    times[v] = calloc((size_t)runs, sizeof(double));
    cpu[v] = calloc((size_t)runs, sizeof(double));
    run_once(argvs[v], envs[v], -1, NULL); /* warm the page cache */
  }
  double load[2];
  getloadavg(load, 1);
  for (int i = 0; i < runs; ++i) {
    for (int v = 0; v < VARIANTS; ++v) times[v][i] = run_once(argvs[v], envs[v], -1, &cpu[v][i]);
  }
  getloadavg(load + 1, 1);
  double med[VARIANTS];
  printf(
      "%d interleaved runs each, median wall time (fork+exec+wait) and CPU time (user+system "
      "of the child); 1-minute load average %.1f before, %.1f after\n",
      runs, load[0], load[1]);
  for (int v = 0; v < VARIANTS; ++v) {
    med[v] = median(times[v], runs);
    printf("  %-11s %7.3f ms  (CPU %6.3f ms)\n", names[v], med[v], median(cpu[v], runs));
  }
  printf("do-nothing / plain            %.3f   (target <= 1.10)\n", med[DO_NOTHING] / med[PLAIN]);
  printf("placed - plain                %.3f ms\n", med[PLACED] - med[PLAIN]);
  printf("numactl - plain               %.3f ms\n", med[NUMACTL] - med[PLAIN]);
  printf("placed - numactl              %+.3f ms (target <= +1 ms)\n", med[PLACED] - med[NUMACTL]);
  printf(
      "handed - plain                %.3f ms (a rank xeonrun-spawn placed; with the engine "
      "%.3f ms)\n",
      med[HANDED] - med[PLAIN], med[HANDED_ENGINE] - med[PLAIN]);

  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return 1;
  self[n] = '\0';
  long plain_rss[15], placed_rss[15];
  for (int i = 0; i < 15; ++i) {
    plain_rss[i] = rss_of(self, envs[PLAIN]);
    placed_rss[i] = rss_of(self, envs[PLACED]);
  }
  double plain_kb[15], placed_kb[15];
  for (int i = 0; i < 15; ++i) {
    plain_kb[i] = (double)plain_rss[i];
    placed_kb[i] = (double)placed_rss[i];
  }
  const double plain_med = median(plain_kb, 15), placed_med = median(placed_kb, 15);
  printf("RSS at main: plain %.0f kB, placed %.0f kB, difference %.0f kB (target <= 1024 kB)\n",
         plain_med, placed_med, placed_med - plain_med);
  return 0;
}
