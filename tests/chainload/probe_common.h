/* What a chain-load probe reports about itself, as "key=value" lines on stdout, so the test driver
 * (run_chainload.py) can check from outside what the process sees from inside: which object serves
 * malloc (the mapping of /proc/self/maps that holds dlsym(RTLD_DEFAULT, "malloc")), whether that
 * allocator's own statistics grow with the program's allocations, pid, process name, argv, an
 * inherited fd, unread stdin and the variables of the placement. Compiled as C and as C++. */
#ifndef XEONPLACE_TESTS_CHAINLOAD_PROBE_COMMON_H
#define XEONPLACE_TESTS_CHAINLOAD_PROBE_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

/* The path of the mapping of /proc/self/maps that contains `address` ("" when none). */
static inline void probe_mapping_of(const void* address, char* out, size_t size) {
  FILE* maps = fopen("/proc/self/maps", "r");
  char line[4096];
  out[0] = '\0';
  if (maps == NULL) return;
  while (fgets(line, sizeof line, maps) != NULL) {
    unsigned long lo = 0, hi = 0;
    int path_at = 0;
    if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &path_at) < 2) continue;
    if ((uintptr_t)address >= lo && (uintptr_t)address < hi) {
      char* path = line + path_at;
      path[strcspn(path, "\n")] = '\0';
      snprintf(out, size, "%s", path);
      break;
    }
  }
  fclose(maps);
}

/* Bytes the allocator in charge says are allocated, through its own API; -1 when neither jemalloc
 * nor tcmalloc serves this process. */
static inline long long probe_allocator_bytes(const char** which) {
  typedef int (*mallctl_fn)(const char*, void*, size_t*, void*, size_t);
  typedef int (*tc_property_fn)(const char*, size_t*);
  union {
    void* object;
    mallctl_fn mallctl;
    tc_property_fn tc_property;
  } fn;
  fn.object = dlsym(RTLD_DEFAULT, "mallctl");
  if (fn.object != NULL) {
    uint64_t epoch = 1;
    size_t allocated = 0, len = sizeof allocated;
    fn.mallctl("epoch", NULL, NULL, &epoch, sizeof epoch); /* refreshes the statistics */
    if (fn.mallctl("stats.allocated", &allocated, &len, NULL, 0) == 0) {
      *which = "jemalloc";
      return (long long)allocated;
    }
  }
  fn.object = dlsym(RTLD_DEFAULT, "MallocExtension_GetNumericProperty");
  if (fn.object != NULL) {
    size_t allocated = 0;
    if (fn.tc_property("generic.current_allocated_bytes", &allocated)) {
      *which = "tcmalloc";
      return (long long)allocated;
    }
  }
  *which = "none";
  return -1;
}

static inline void probe_print_escaped(const char* key, const char* value) {
  printf("%s=", key);
  for (const char* c = value; *c != '\0'; ++c) {
    if (*c == '\n') {
      printf("\\n");
    } else if (*c == '\\') {
      printf("\\\\");
    } else {
      putchar(*c);
    }
  }
  putchar('\n');
}

/* `allocate(n)` allocates and keeps n bytes the language's usual way (malloc, new[]). */
static inline void probe_report(int argc, char** argv, void* (*allocate)(size_t)) {
  char where[4096], name[17] = {0}, key[32];
  const char* which = "none";
  const char* vars[] = {"LD_PRELOAD",          "OMP_NUM_THREADS",     "KMP_AFFINITY",
                        "OMP_PROC_BIND",       "MALLOC_CONF",         "XEONRUN_REEXEC_GUARD",
                        "XEONRUN_REEXEC_NAME", "XEONRUN_PLACED_CPUS", NULL};
  long long before, after;
  int i;

  probe_mapping_of(dlsym(RTLD_DEFAULT, "malloc"), where, sizeof where);
  printf("pid=%d\nmalloc_object=%s\n", (int)getpid(), where);
  before = probe_allocator_bytes(&which);
  for (i = 0; i < 256; ++i) allocate(64 * 1024); /* 16 MiB, kept */
  after = probe_allocator_bytes(&which);
  printf("allocator_api=%s\nallocator_growth=%lld\n", which, after - before);

  prctl(PR_GET_NAME, name, 0, 0, 0);
  printf("comm=%s\nargc=%d\n", name, argc);
  for (i = 0; i < argc; ++i) {
    snprintf(key, sizeof key, "argv%d", i);
    probe_print_escaped(key, argv[i]);
  }
  for (i = 0; vars[i] != NULL; ++i) {
    const char* v = getenv(vars[i]);
    printf("env_%s=%s\n", vars[i], v != NULL ? v : "<unset>");
  }
  /* How many LD_PRELOAD entries environ holds (ld.so uses the last, getenv the first), and the
   * CPUs the process runs on. */
  {
    int entries = 0;
    cpu_set_t set;
    char** e;
    for (e = environ; e != NULL && *e != NULL; ++e) entries += strncmp(*e, "LD_PRELOAD=", 11) == 0;
    printf("ld_preload_entries=%d\naffinity=", entries);
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
      const char* separator = "";
      for (i = 0; i < CPU_SETSIZE; ++i) {
        if (CPU_ISSET(i, &set)) {
          printf("%s%d", separator, i);
          separator = ",";
        }
      }
    }
    putchar('\n');
  }
  /* fd 5 is passed by the driver when it checks that fds survive. */
  printf("fd5_open=%d\n", fcntl(5, F_GETFD) != -1);
  fflush(stdout);
  if (getenv("PROBE_READ_STDIN") != NULL) {
    char buf[256];
    ssize_t n = read(0, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = '\0';
    probe_print_escaped("stdin", buf);
  }
  fflush(stdout);
}

#endif
