// vm-probe: reports, from inside a process, where it was placed, as one JSON document.
//
// Run inside QEMU guests by tests/vm/ (with libxeonplace.so preloaded, or under numactl as a
// control). It reads the effect of placement only through the kernel: affinity, the CPUs the
// threads actually ran on, the memory policy, and the node of every page of a fresh buffer touched
// after start (so the answer reflects the policy in force now, not pages inherited from before),
// plus the cgroup it runs in (/proc/self/cgroup), so a cgroup case can tell it ran inside one.
//
//   vm-probe --out DIR --label NAME [--threads N] [--omp] [--mib M]
//
// The file is DIR/NAME.rank<R>.json, R from XEONRUN_PLACED_RANK, else XEONRUN_RANK, else "pid<P>".
// Exit status: 0 when the report was written, 1 on a usage or I/O error.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif

enum { kMaxCpus = 1024, kMaxNodes = 1024, kSamples = 6, kMaxThreads = 64 };

// Raw syscalls: no libnuma in the guest, and the probe must not link anything the library under
// test might also bring.
static long sys_get_mempolicy(int* mode, unsigned long* mask, unsigned long maxnode) {
  return syscall(SYS_get_mempolicy, mode, mask, maxnode, NULL, 0UL);
}
static long sys_move_pages(unsigned long count, void** pages, int* status) {
  return syscall(SYS_move_pages, 0, count, pages, NULL, status, 0);
}

typedef struct {
  int id;
  int affinity[kMaxCpus];
  int naffinity;
  int samples[kSamples];
} ThreadReport;

static void read_affinity(ThreadReport* r) {
  cpu_set_t* set = CPU_ALLOC(kMaxCpus);
  size_t size = CPU_ALLOC_SIZE(kMaxCpus);
  r->naffinity = 0;
  if (sched_getaffinity(0, size, set) == 0) {
    for (int c = 0; c < kMaxCpus; ++c)
      if (CPU_ISSET_S(c, size, set)) r->affinity[r->naffinity++] = c;
  }
  CPU_FREE(set);
}

// Samples are spread over a little work so that a thread free to move gets the chance to.
static void sample_cpus(ThreadReport* r) {
  volatile unsigned long sink = 0;
  for (int i = 0; i < kSamples; ++i) {
    r->samples[i] = sched_getcpu();
    for (unsigned long k = 0; k < 200000; ++k) sink += k;
    sched_yield();
  }
}

static void* thread_main(void* arg) {
  ThreadReport* r = arg;
  read_affinity(r);
  sample_cpus(r);
  return NULL;
}

static void print_int_array(FILE* f, const int* v, int n) {
  fputc('[', f);
  for (int i = 0; i < n; ++i) fprintf(f, "%s%d", i ? "," : "", v[i]);
  fputc(']', f);
}

static void print_json_string(FILE* f, const char* s) {
  if (!s) {
    fputs("null", f);
    return;
  }
  fputc('"', f);
  for (; *s; ++s) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(f, "\\%c", c);
    else if (c < 0x20)
      fprintf(f, "\\u%04x", c);
    else
      fputc(c, f);
  }
  fputc('"', f);
}

static void print_thread(FILE* f, const ThreadReport* r) {
  fprintf(f, "{\"id\":%d,\"affinity\":", r->id);
  print_int_array(f, r->affinity, r->naffinity);
  fputs(",\"samples\":", f);
  print_int_array(f, r->samples, kSamples);
  fputc('}', f);
}

static const char* mode_name(int mode) {
  // Flag bits (MPOL_F_STATIC_NODES etc.) live above bit 8 and are not asked for here.
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
    case 6:
      return "weighted_interleave";
    default:
      return "unknown";
  }
}

static void print_mempolicy(FILE* f) {
  unsigned long mask[kMaxNodes / (8 * sizeof(unsigned long))];
  memset(mask, 0, sizeof mask);
  int mode = -1;
  if (sys_get_mempolicy(&mode, mask, kMaxNodes) != 0) {
    fprintf(f, "{\"error\":\"get_mempolicy: %s\"}", strerror(errno));
    return;
  }
  fputs("{\"mode\":", f);
  print_json_string(f, mode_name(mode));
  fputs(",\"nodes\":[", f);
  int first = 1;
  for (int n = 0; n < kMaxNodes; ++n) {
    if (mask[n / (8 * sizeof(unsigned long))] & (1UL << (n % (8 * sizeof(unsigned long))))) {
      fprintf(f, "%s%d", first ? "" : ",", n);
      first = 0;
    }
  }
  fputs("]}", f);
}

// The free pages of node `node` now (its sysfs meminfo's MemFree), or -1 without that node.
static long free_pages(int node, long page) {
  char path[96], line[256];
  snprintf(path, sizeof path, "/sys/devices/system/node/node%d/meminfo", node);
  FILE* meminfo = fopen(path, "r");
  long kib = -1;
  while (meminfo && fgets(line, sizeof line, meminfo)) {
    const char* field = strstr(line, "MemFree:");
    if (field) kib = atol(field + strlen("MemFree:"));
  }
  if (meminfo) fclose(meminfo);
  return kib < 0 ? -1 : kib * 1024 / page;
}

// Touches `mib` MiB of fresh anonymous memory and counts its pages per node; "free_before" is
// what each node had free before (a node that is to fill holds what it had free, not its size:
// the kernel and the initramfs may use part of it).
static void print_pages(FILE* f, size_t mib) {
  long page = sysconf(_SC_PAGESIZE);
  long free_before[kMaxNodes];
  for (int n = 0; n < kMaxNodes; ++n) free_before[n] = free_pages(n, page);
  size_t len = mib << 20;
  size_t count = len / (size_t)page;
  char* buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  void** pages = calloc(count, sizeof *pages);
  int* status = calloc(count, sizeof *status);
  if (buf == MAP_FAILED || !pages || !status) {
    fputs("{\"error\":\"out of memory\"}", f);
    return;
  }
  // Transparent huge pages would place 2 MiB at a time, one node per huge page: an interleave
  // over 12 nodes then looks uneven. The question here is the policy, so ask for small pages.
  madvise(buf, len, MADV_NOHUGEPAGE);
  for (size_t i = 0; i < count; ++i) {
    buf[i * (size_t)page] = (char)i;
    pages[i] = buf + i * (size_t)page;
  }
  if (sys_move_pages(count, pages, status) != 0) {
    fprintf(f, "{\"error\":\"move_pages: %s\"}", strerror(errno));
  } else {
    int counts[kMaxNodes];
    int errors = 0;
    memset(counts, 0, sizeof counts);
    for (size_t i = 0; i < count; ++i) {
      if (status[i] >= 0 && status[i] < kMaxNodes)
        ++counts[status[i]];
      else
        ++errors;
    }
    fprintf(f, "{\"total\":%zu,\"unknown\":%d,\"by_node\":{", count, errors);
    int first = 1;
    for (int n = 0; n < kMaxNodes; ++n) {
      if (!counts[n]) continue;
      fprintf(f, "%s\"%d\":%d", first ? "" : ",", n, counts[n]);
      first = 0;
    }
    fputs("},\"free_before\":{", f);
    first = 1;
    for (int n = 0; n < kMaxNodes; ++n) {
      if (free_before[n] < 0) continue;
      fprintf(f, "%s\"%d\":%ld", first ? "" : ",", n, free_before[n]);
      first = 0;
    }
    fputs("}}", f);
  }
  free(status);
  free(pages);
  munmap(buf, len);
}

static int run_pthreads(ThreadReport* reports, int n) {
  pthread_t tids[kMaxThreads];
  for (int i = 0; i < n; ++i) {
    reports[i].id = i + 1;
    if (pthread_create(&tids[i], NULL, thread_main, &reports[i]) != 0) return -1;
  }
  for (int i = 0; i < n; ++i) pthread_join(tids[i], NULL);
  return 0;
}

static int run_omp(ThreadReport* reports) {
#ifdef _OPENMP
  int n = 0;
#pragma omp parallel
  {
    int t = omp_get_thread_num();
    if (t < kMaxThreads) {
      reports[t].id = t;
      thread_main(&reports[t]);
    }
#pragma omp single
    n = omp_get_num_threads();
  }
  return n < kMaxThreads ? n : kMaxThreads;
#else
  (void)reports;
  return -1;
#endif
}

// /proc/self/cgroup as one string ("0::/socket1\n" with only cgroup v2 mounted), or NULL.
static void print_cgroup(FILE* f) {
  char text[4096];
  size_t got = 0;
  FILE* in = fopen("/proc/self/cgroup", "r");
  if (in) {
    got = fread(text, 1, sizeof text - 1, in);
    fclose(in);
  }
  text[got] = '\0';
  print_json_string(f, in ? text : NULL);
}

static const char* const kEnvReported[] = {
    "XEONRUN_PLACED_RANK", "XEONRUN_PLACED_NRANKS",  "XEONRUN_PLACED_CPUS",
    "XEONRUN_PLACED_MEMS", "XEONRUN_PLACED_MEMBIND", "XEONRUN_RANK",
    "XEONRUN_NINSTANCES",  "OMP_NUM_THREADS",        "OMP_PROC_BIND",
    "OMP_PLACES",          "KMP_AFFINITY",           "LD_PRELOAD",
};

static int usage(void) {
  fputs("usage: vm-probe --out DIR --label NAME [--threads N] [--omp] [--mib M]\n", stderr);
  return 1;
}

int main(int argc, char** argv) {
  const char* out = NULL;
  const char* label = NULL;
  int nthreads = 0;
  int omp = 0;
  size_t mib = 4;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--out") && i + 1 < argc)
      out = argv[++i];
    else if (!strcmp(argv[i], "--label") && i + 1 < argc)
      label = argv[++i];
    else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
      nthreads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--mib") && i + 1 < argc)
      mib = (size_t)atoi(argv[++i]);
    else if (!strcmp(argv[i], "--omp"))
      omp = 1;
    else
      return usage();
  }
  if (!out || !label || nthreads < 0 || nthreads > kMaxThreads || mib == 0) return usage();

  ThreadReport main_report = {.id = 0};
  read_affinity(&main_report);
  sample_cpus(&main_report);

  static ThreadReport pthread_reports[kMaxThreads];
  if (nthreads && run_pthreads(pthread_reports, nthreads) != 0) {
    fprintf(stderr, "vm-probe: pthread_create failed\n");
    return 1;
  }
  static ThreadReport omp_reports[kMaxThreads];
  int nomp = omp ? run_omp(omp_reports) : 0;
  if (nomp < 0) {
    fputs("vm-probe: --omp asked but the probe was built without OpenMP\n", stderr);
    return 1;
  }

  const char* rank = getenv("XEONRUN_PLACED_RANK");
  if (!rank) rank = getenv("XEONRUN_RANK");
  char path[4096];
  if (rank)
    snprintf(path, sizeof path, "%s/%s.rank%s.json", out, label, rank);
  else
    snprintf(path, sizeof path, "%s/%s.rankpid%d.json", out, label, (int)getpid());
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE* f = fopen(tmp, "w");
  if (!f) {
    fprintf(stderr, "vm-probe: cannot write %s: %s\n", tmp, strerror(errno));
    return 1;
  }
  fputs("{\"label\":", f);
  print_json_string(f, label);
  fprintf(f, ",\"pid\":%d,\"main\":", (int)getpid());
  print_thread(f, &main_report);
  fputs(",\"pthreads\":[", f);
  for (int i = 0; i < nthreads; ++i) {
    if (i) fputc(',', f);
    print_thread(f, &pthread_reports[i]);
  }
  fputs("],\"omp\":[", f);
  for (int i = 0; i < nomp; ++i) {
    if (i) fputc(',', f);
    print_thread(f, &omp_reports[i]);
  }
  fputs("],\"mempolicy\":", f);
  print_mempolicy(f);
  fputs(",\"pages\":", f);
  print_pages(f, mib);
  fputs(",\"cgroup\":", f);
  print_cgroup(f);
  fputs(",\"env\":{", f);
  for (size_t i = 0; i < sizeof kEnvReported / sizeof *kEnvReported; ++i) {
    if (i) fputc(',', f);
    print_json_string(f, kEnvReported[i]);
    fputc(':', f);
    print_json_string(f, getenv(kEnvReported[i]));
  }
  fputs("}}\n", f);
  if (fclose(f) != 0 || rename(tmp, path) != 0) {
    fprintf(stderr, "vm-probe: cannot write %s: %s\n", path, strerror(errno));
    return 1;
  }
  return 0;
}
