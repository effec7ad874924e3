/* The program the hostile-process tests run with libxeonplace.so preloaded. It reports, one
 * KEY=VALUE per line on stdout (or into the file named by HOSTILE_OUT when stdout is closed), what
 * it can see of its placement without needing /proc:
 *   PID, AT_SECURE, CPUS (sched_getaffinity), PLACED_RANK, LOADED (is libxeonplace.so mapped),
 *   LIBRARIES (every loaded object),
 *   EARLY_CPUS (affinity of the thread hostile_early.so started before any constructor of ours),
 *   FDS (open descriptors and their targets, when /proc is there).
 * Argument verbs run one hostile behaviour first:
 *   exec PROGRAM ARGS...   fork, exec PROGRAM in the child, wait, report the child's status
 *   deepbind LIBRARY       dlopen(LIBRARY, RTLD_DEEPBIND) and call its hostile_thread_cpus()
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/wait.h>
#include <unistd.h>

/* Defined by hostile_early.so. A strong reference, so that --as-needed keeps the library (and its
 * early thread); the static probe is built without it. */
#ifndef HOSTILE_STATIC
extern int hostile_early_thread_cpus(char* out, size_t size);
#endif

static FILE* out;

static void format_set(const cpu_set_t* set, char* text, size_t size) {
  size_t used = 0;
  text[0] = '\0';
  for (int cpu = 0; cpu < CPU_SETSIZE && used + 8 < size; ++cpu) {
    if (!CPU_ISSET(cpu, set)) continue;
    used += (size_t)snprintf(text + used, size - used, "%s%d", used ? "," : "", cpu);
  }
}

static int library_is_mapped(struct dl_phdr_info* info, size_t size, void* data) {
  (void)size;
  if (info->dlpi_name && strstr(info->dlpi_name, (const char*)"libxeonplace")) *(int*)data = 1;
  return 0;
}

static int print_library(struct dl_phdr_info* info, size_t size, void* data) {
  (void)size;
  (void)data;
  if (info->dlpi_name && info->dlpi_name[0]) fprintf(out, "%s;", info->dlpi_name);
  return 0;
}

static void report_fds(void) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == NULL) {
    fprintf(out, "FDS=unknown\n");
    return;
  }
  fprintf(out, "FDS=");
  struct dirent* entry;
  while ((entry = readdir(dir)) != NULL) {
    if (entry->d_name[0] == '.') continue;
    char link[300];
    char target[512];
    snprintf(link, sizeof link, "/proc/self/fd/%s", entry->d_name);
    ssize_t n = readlink(link, target, sizeof target - 1);
    target[n > 0 ? n : 0] = '\0';
    fprintf(out, "%s:%s;", entry->d_name, target);
  }
  fprintf(out, "\n");
  closedir(dir);
}

static int run_child(char** argv) {
  pid_t child = fork();
  if (child < 0) return 1;
  if (child == 0) {
    execv(argv[0], argv);
    _exit(126);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  fprintf(out, "CHILD_STATUS=%d\n", status);
  return 0;
}

static int run_deepbind(const char* library) {
#ifdef HOSTILE_STATIC
  (void)library;
  fprintf(out, "DEEPBIND=not in a static binary\n");
  return 1;
#else
  void* handle = dlopen(library, RTLD_NOW | RTLD_DEEPBIND);
  if (handle == NULL) {
    fprintf(out, "DEEPBIND=dlopen failed: %s\n", dlerror());
    return 1;
  }
  int (*thread_cpus)(char*, size_t);
  void* symbol = dlsym(handle, "hostile_thread_cpus");
  memcpy(&thread_cpus, &symbol, sizeof thread_cpus);
  char text[1024];
  if (thread_cpus == NULL || thread_cpus(text, sizeof text) != 0) {
    fprintf(out, "DEEPBIND=thread failed\n");
    return 1;
  }
  fprintf(out, "DEEPBIND_THREAD_CPUS=%s\n", text);
  return 0;
#endif
}

int main(int argc, char** argv) {
  const char* path = getenv("HOSTILE_OUT");
  out = path ? fopen(path, "w") : stdout;
  if (out == NULL) return 3;
  cpu_set_t set;
  char text[8 * CPU_SETSIZE]; /* every CPU of a large machine's mask, never a truncated list */
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) format_set(&set, text, sizeof text);
  fprintf(out, "PID=%ld\n", (long)getpid());
  fprintf(out, "AT_SECURE=%lu\n", getauxval(AT_SECURE));
  fprintf(out, "CPUS=%s\n", text);
  const char* rank = getenv("XEONRUN_PLACED_RANK");
  fprintf(out, "PLACED_RANK=%s\n", rank ? rank : "");
  int mapped = 0;
  dl_iterate_phdr(library_is_mapped, &mapped);
  fprintf(out, "LOADED=%d\n", mapped);
  fprintf(out, "LIBRARIES=");
  dl_iterate_phdr(print_library, NULL);
  fprintf(out, "\n");
#ifndef HOSTILE_STATIC
  if (hostile_early_thread_cpus(text, sizeof text) == 0) {
    fprintf(out, "EARLY_CPUS=%s\n", text);
  }
#endif
  report_fds();
  int rc = 0;
  if (argc >= 3 && strcmp(argv[1], "exec") == 0) {
    fflush(out);
    rc = run_child(argv + 2);
  } else if (argc == 3 && strcmp(argv[1], "deepbind") == 0) {
    rc = run_deepbind(argv[2]);
  }
  fclose(out);
  return rc;
}
