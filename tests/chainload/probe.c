/* The C program of the chain-load tests: malloc. */
#include "probe_common.h"

static void* allocate_c(size_t n) {
  char* p = (char*)malloc(n);
  if (p != NULL) memset(p, 1, n);
  return p;
}

int main(int argc, char** argv) {
  probe_report(argc, argv, allocate_c);
  return 0;
}
