/* A multithreaded malloc/free benchmark for issue #4: each thread keeps a window of live blocks of
 * random sizes and replaces one at a time, so the allocator's thread caches, size classes and
 * cross-size reuse are exercised the way a framework's tensors and strings exercise them.
 *
 *   malloc_threads [THREADS] [OPS_PER_THREAD]
 *
 * Prints "ops_per_s=<malloc+free pairs per wall second>" and "ops_per_cpu_s=<pairs per CPU second
 * of the process>", measured between the threads' start and their join (process start-up,
 * placement and re-exec are not in the figures). On a machine shared with other work the wall
 * figure mostly measures the neighbours; the CPU-time one is what the allocator costs. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { WINDOW = 4096 };

static long ops_per_thread = 2000000;
static pthread_barrier_t start_line;

static uint64_t next_random(uint64_t* state) {
  uint64_t x = *state; /* xorshift64 */
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *state = x;
}

static void* worker(void* arg) {
  uint64_t state = 0x9e3779b97f4a7c15ULL * ((uintptr_t)arg + 1);
  void** live = calloc(WINDOW, sizeof *live);
  pthread_barrier_wait(&start_line);
  for (long i = 0; i < ops_per_thread; ++i) {
    const uint64_t r = next_random(&state);
    const size_t slot = r % WINDOW;
    /* Mostly small (16..1024 B), one in eight up to 32 KiB. */
    const size_t size = (r >> 32) % 8 == 0 ? 16 + (r >> 40) % 32768 : 16 + (r >> 40) % 1008;
    free(live[slot]);
    live[slot] = malloc(size);
    ((volatile char*)live[slot])[0] = (char)i; /* touch it: the allocation is real */
  }
  for (size_t s = 0; s < WINDOW; ++s) free(live[s]);
  free(live);
  return NULL;
}

static double now_s(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  const int threads = argc > 1 ? atoi(argv[1]) : 2;
  if (argc > 2) ops_per_thread = atol(argv[2]);
  if (threads < 1 || threads > 1024 || ops_per_thread < 1) {
    fprintf(stderr, "usage: malloc_threads [THREADS 1..1024] [OPS_PER_THREAD >= 1]\n");
    return 2;
  }
  pthread_t* ids = calloc((size_t)threads, sizeof *ids);
  pthread_barrier_init(&start_line, NULL, (unsigned)threads + 1);
  for (int t = 0; t < threads; ++t) pthread_create(&ids[t], NULL, worker, (void*)(uintptr_t)t);
  pthread_barrier_wait(&start_line);
  const double start = now_s(CLOCK_MONOTONIC);
  const double start_cpu = now_s(CLOCK_PROCESS_CPUTIME_ID);
  for (int t = 0; t < threads; ++t) pthread_join(ids[t], NULL);
  const double seconds = now_s(CLOCK_MONOTONIC) - start;
  const double cpu_seconds = now_s(CLOCK_PROCESS_CPUTIME_ID) - start_cpu;
  const double ops = (double)threads * (double)ops_per_thread;
  printf("ops_per_s=%.0f\nops_per_cpu_s=%.0f\n", ops / seconds, ops / cpu_seconds);
  free(ids);
  return 0;
}
