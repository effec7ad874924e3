/* A library with a constructor and a destructor that say so on stderr (unbuffered, so a line
 * written before an execve is not lost with a stdio buffer). Preloaded next to libxeonplace.so, it
 * shows whose constructors the re-exec runs twice (docs/design.md §6, issue #12). */
#include <stdio.h>
#include <unistd.h>

static void say(const char* what) {
  char line[64];
  int n = snprintf(line, sizeof line, "cl_ctor: %s pid=%d\n", what, (int)getpid());
  if (n > 0) (void)!write(2, line, (size_t)n);
}

__attribute__((constructor)) static void cl_ctor_constructor(void) { say("constructor"); }

__attribute__((destructor)) static void cl_ctor_destructor(void) { say("destructor"); }
