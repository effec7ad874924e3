/* A library whose constructor starts a thread before libxeonplace.so's constructor runs (the
 * program links it, so it initialises before any preloaded library). The thread waits until the
 * program asks for its affinity, which must then be the rank's CPUs (re-pinned by the library). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

static pthread_t early;
static int started;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done = PTHREAD_COND_INITIALIZER;
static int finish;

static void* wait_forever(void* arg) {
  (void)arg;
  pthread_mutex_lock(&lock);
  while (!finish) pthread_cond_wait(&done, &lock);
  pthread_mutex_unlock(&lock);
  return NULL;
}

__attribute__((constructor)) static void start_early_thread(void) {
  started = pthread_create(&early, NULL, wait_forever, NULL) == 0;
}

__attribute__((destructor)) static void stop_early_thread(void) {
  if (!started) return;
  pthread_mutex_lock(&lock);
  finish = 1;
  pthread_cond_broadcast(&done);
  pthread_mutex_unlock(&lock);
  pthread_join(early, NULL);
}

int hostile_early_thread_cpus(char* out, size_t size) {
  if (!started) return -1;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (pthread_getaffinity_np(early, sizeof set, &set) != 0) return -1;
  size_t used = 0;
  out[0] = '\0';
  for (int cpu = 0; cpu < CPU_SETSIZE && used + 8 < size; ++cpu) {
    if (CPU_ISSET(cpu, &set))
      used += (size_t)snprintf(out + used, size - used, "%s%d", used ? "," : "", cpu);
  }
  return 0;
}
