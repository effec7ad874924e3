/* Times shell commands, interleaved, for benchmarks that run where Python does not (the QEMU
 * guests of bench_spawn_vm.py have only busybox):
 *
 *   launch_timer REPS FILE ERRDIR
 *
 * FILE has one variant a line, "NAME<TAB>COMMAND". Rep by rep, variant by variant, each COMMAND
 * runs as `/bin/sh -c COMMAND` with stdout on /dev/null and stderr in ERRDIR/NAME.err (the last
 * run's), and one line is printed for it:
 *
 *   NAME REP WALL_NS CPU_NS STATUS
 *
 * WALL_NS is fork to reaped exit on CLOCK_MONOTONIC; CPU_NS the user + system time of the shell
 * and of every process it waited for (RUSAGE_CHILDREN before and after); STATUS the exit status,
 * or 128 + the signal. Exits 2 on bad arguments. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { kMaxVariants = 64, kLineMax = 8192 };

struct variant {
  char name[128];
  char command[kLineMax];
};

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long children_cpu_ns(void) {
  struct rusage ru;
  getrusage(RUSAGE_CHILDREN, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
}

static int read_variants(const char* path, struct variant* out) {
  FILE* f = fopen(path, "r");
  if (f == NULL) {
    perror(path);
    return -1;
  }
  static char line[kLineMax + 256];
  int n = 0;
  while (fgets(line, sizeof line, f) != NULL) {
    line[strcspn(line, "\n")] = '\0';
    if (line[0] == '\0') continue;
    char* tab = strchr(line, '\t');
    if (tab == NULL || n == kMaxVariants || (size_t)(tab - line) >= sizeof out[n].name ||
        strlen(tab + 1) >= sizeof out[n].command) {
      fprintf(stderr, "launch_timer: %s: line %d is not NAME<TAB>COMMAND (or too long)\n", path,
              n + 1);
      fclose(f);
      return -1;
    }
    *tab = '\0';
    strcpy(out[n].name, line);
    strcpy(out[n].command, tab + 1);
    ++n;
  }
  fclose(f);
  return n;
}

static int run_once(const struct variant* v, const char* errdir, long long* wall, long long* cpu) {
  char errpath[4096];
  snprintf(errpath, sizeof errpath, "%s/%s.err", errdir, v->name);
  const long long cpu_before = children_cpu_ns();
  const long long start = now_ns();
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    int out = open("/dev/null", O_WRONLY);
    int err = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out >= 0) dup2(out, 1);
    if (err >= 0) dup2(err, 2);
    execl("/bin/sh", "sh", "-c", v->command, (char*)NULL);
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  *wall = now_ns() - start;
  *cpu = children_cpu_ns() - cpu_before;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char** argv) {
  if (argc != 4 || atoi(argv[1]) < 1) {
    fprintf(stderr, "usage: launch_timer REPS FILE ERRDIR\n");
    return 2;
  }
  const int reps = atoi(argv[1]);
  static struct variant variants[kMaxVariants];
  const int n = read_variants(argv[2], variants);
  if (n <= 0) return 2;
  for (int rep = 0; rep < reps; ++rep) {
    for (int i = 0; i < n; ++i) {
      long long wall = 0, cpu = 0;
      const int status = run_once(&variants[i], argv[3], &wall, &cpu);
      printf("%s %d %lld %lld %d\n", variants[i].name, rep, wall, cpu, status);
      fflush(stdout);
    }
  }
  return 0;
}
