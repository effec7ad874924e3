/* A user's program, built against the installed tree with `pkg-config --cflags --libs xeonplace`
 * only: prints the placement it reads through the C API, "placed=1 cpus=0,2" (comma_text). */
#include <stdio.h>
#include <stdlib.h>
#include <xeonplace/xeonplace.h>

int main(void) {
  int n = xeonplace_cpus(NULL, 0);
  int* cpus = n > 0 ? malloc((size_t)n * sizeof *cpus) : NULL;
  if (n > 0 && !cpus) return 1;
  if (n > 0) xeonplace_cpus(cpus, n);
  printf("placed=%d cpus=", xeonplace_placed());
  for (int i = 0; i < n; ++i) printf(i ? ",%d" : "%d", cpus[i]);
  printf("\n");
  free(cpus);
  return 0;
}
