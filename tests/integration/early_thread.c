/* A library whose constructor starts a thread before libxeonplace.so's constructor runs (a
 * preloaded library initialises after the program's own libraries, design.md §6-§7): that thread must
 * end up placed too. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static pid_t thread_tid;
static int started_before_placement;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready = PTHREAD_COND_INITIALIZER;

static void* idle(void* unused) {
  (void)unused;
  pthread_mutex_lock(&lock);
  thread_tid = (pid_t)syscall(SYS_gettid);
  pthread_cond_signal(&ready);
  pthread_mutex_unlock(&lock);
  for (;;) pause();
  return NULL;
}

__attribute__((constructor)) static void start_early_thread(void) {
  started_before_placement = getenv("XEONRUN_PLACED_RANK") == NULL;
  pthread_t thread;
  if (pthread_create(&thread, NULL, idle, NULL) != 0) abort();
  pthread_detach(thread);
  pthread_mutex_lock(&lock);
  while (thread_tid == 0) pthread_cond_wait(&ready, &lock);
  pthread_mutex_unlock(&lock);
}

pid_t early_thread_tid(void) { return thread_tid; }
int early_thread_started_before_placement(void) { return started_before_placement; }
