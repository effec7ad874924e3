// Prints, as one JSON line, what a launched rank sees of its own placement: the launcher variables,
// the host name, the CPU affinity, the NUMA memory policy of the main thread, OMP_NUM_THREADS and
// what libxeonplace.so says it did (XEONRUN_PLACED_*).
//
//   probe            print the line on stdout
//   probe DIR        also write it to DIR/probe.<pid>.json, because launchers prefix, interleave
//                    or swallow their ranks' stdout, while a file per process is unambiguous
//
// The memory policy is read with the raw system call so that the probe does not link libnuma
// and cannot pull in anything the preloaded library might otherwise get for free.
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { kMaxNodes = 1024, kMaxCpus = 8192, kLineMax = 1 << 16 };

static const char* const kVariables[] = {
    "XEONRUN_RANK",
    "XEONRUN_NINSTANCES",
    "XEONRUN_BIND_POLICY",
    "LOCAL_RANK",
    "LOCAL_WORLD_SIZE",
    "RANK",
    "OMPI_COMM_WORLD_LOCAL_RANK",
    "OMPI_COMM_WORLD_LOCAL_SIZE",
    "OMPI_COMM_WORLD_RANK",
    "OMPI_MCA_hwloc_base_binding_policy",
    "MPI_LOCALRANKID",
    "MPI_LOCALNRANKS",
    "OMPI_COMM_WORLD_NODE_RANK",
    "PMI_RANK",
    "SLURM_LOCALID",
    "SLURM_PROCID",
    "SLURM_STEP_TASKS_PER_NODE",
    "SLURM_NODEID",
    "SLURM_CPU_BIND",
    "OMP_NUM_THREADS",
    "OMP_PROC_BIND",
    "OMP_PLACES",
    "XEONRUN_PLACED_RANK",
    "XEONRUN_PLACED_NRANKS",
    "XEONRUN_PLACED_CPUS",
    "XEONRUN_PLACED_MEMS",
    "XEONRUN_PLACED_MEMBIND",
    "XEONRUN_PLACED_ENV",
    "XEONRUN_PLACED_LAUNCHER",
};

struct Line {
  char text[kLineMax];
  size_t used;
};

static void append(struct Line* line, const char* format, ...)
    __attribute__((format(printf, 2, 3)));

static void append(struct Line* line, const char* format, ...) {
  if (line->used >= sizeof line->text) return;
  va_list args;
  va_start(args, format);
  int n = vsnprintf(line->text + line->used, sizeof line->text - line->used, format, args);
  va_end(args);
  if (n > 0) line->used += (size_t)n;
}

// Environment values are written as JSON strings; only the characters JSON forbids are escaped.
static void append_json_string(struct Line* line, const char* value) {
  append(line, "\"");
  for (const unsigned char* c = (const unsigned char*)value; *c; ++c) {
    if (*c == '"' || *c == '\\') {
      append(line, "\\%c", *c);
    } else if (*c < 0x20) {
      append(line, "\\u%04x", *c);
    } else {
      append(line, "%c", *c);
    }
  }
  append(line, "\"");
}

// Writes the members of a bit set as a JSON array of integers.
static void append_members(struct Line* line, int count, int (*is_set)(int, const void*),
                           const void* set) {
  append(line, "[");
  int first = 1;
  for (int i = 0; i < count; ++i) {
    if (!is_set(i, set)) continue;
    append(line, first ? "%d" : ",%d", i);
    first = 0;
  }
  append(line, "]");
}

static int cpu_is_set(int cpu, const void* set) {
  return CPU_ISSET_S((size_t)cpu, CPU_ALLOC_SIZE(kMaxCpus), (const cpu_set_t*)set);
}

static int node_is_set(int node, const void* set) {
  const unsigned long* mask = set;
  const int bits = (int)(CHAR_BIT * sizeof(unsigned long));
  return (int)((mask[node / bits] >> (node % bits)) & 1UL);
}

static const char* mempolicy_name(int mode) {
  // Values of the kernel's enum mempolicy (linux/mempolicy.h); flags live above bit 15.
  switch (mode & 0xff) {
    case 0:
      return "default";
    case 1:
      return "preferred";
    case 2:
      return "bind";
    case 3:
      return "interleave";
    case 4:
      return "local";
    case 5:
      return "preferred_many";
    default:
      return "unknown";
  }
}

static int append_affinity(struct Line* line) {
  cpu_set_t* set = CPU_ALLOC(kMaxCpus);
  if (set == NULL) return -1;
  size_t size = CPU_ALLOC_SIZE(kMaxCpus);
  CPU_ZERO_S(size, set);
  if (sched_getaffinity(0, size, set) != 0) {
    CPU_FREE(set);
    return -1;
  }
  append(line, "\"affinity\":");
  append_members(line, kMaxCpus, cpu_is_set, set);
  CPU_FREE(set);
  return 0;
}

static int append_mempolicy(struct Line* line) {
  unsigned long mask[kMaxNodes / (CHAR_BIT * sizeof(unsigned long))];
  memset(mask, 0, sizeof mask);
  int mode = -1;
  if (syscall(SYS_get_mempolicy, &mode, mask, (unsigned long)kMaxNodes, NULL, 0UL) != 0) return -1;
  append(line, "\"mempolicy\":\"%s\",\"mempolicy_nodes\":", mempolicy_name(mode));
  append_members(line, kMaxNodes, node_is_set, mask);
  return 0;
}

static int write_file(const char* dir, const struct Line* line) {
  char path[PATH_MAX];
  char tmp[PATH_MAX + 8];
  int n = snprintf(path, sizeof path, "%s/probe.%ld.json", dir, (long)getpid());
  if (n < 0 || (size_t)n >= sizeof path) return -1;
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE* file = fopen(tmp, "w");
  if (file == NULL) return -1;
  int ok = fwrite(line->text, 1, line->used, file) == line->used;
  ok = (fclose(file) == 0) && ok;
  // Renamed into place so that a reader never sees half a line.
  return ok && rename(tmp, path) == 0 ? 0 : -1;
}

int main(int argc, char** argv) {
  static struct Line line;
  append(&line, "{\"pid\":%ld,\"host\":", (long)getpid());
  char host[256] = "";
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  append_json_string(&line, host);  // the node of the multinode suite (its UTS namespace)
  append(&line, ",");
  if (append_affinity(&line) != 0) {
    fprintf(stderr, "probe: sched_getaffinity failed: %s\n", strerror(errno));
    return 1;
  }
  append(&line, ",");
  if (append_mempolicy(&line) != 0) {
    fprintf(stderr, "probe: get_mempolicy failed: %s\n", strerror(errno));
    return 1;
  }
  append(&line, ",\"env\":{");
  int first = 1;
  for (size_t i = 0; i < sizeof kVariables / sizeof kVariables[0]; ++i) {
    const char* value = getenv(kVariables[i]);
    if (value == NULL) continue;
    append(&line, first ? "\"%s\":" : ",\"%s\":", kVariables[i]);
    append_json_string(&line, value);
    first = 0;
  }
  append(&line, "}}\n");
  if (line.used >= sizeof line.text) {
    fprintf(stderr, "probe: report longer than %d bytes\n", kLineMax);
    return 1;
  }
  fputs(line.text, stdout);
  fflush(stdout);
  if (argc > 1 && write_file(argv[1], &line) != 0) {
    fprintf(stderr, "probe: cannot write to %s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  return 0;
}
