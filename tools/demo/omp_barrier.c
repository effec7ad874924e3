// A small barrier-heavy OpenMP program: many short parallel loops. Two unplaced copies on the same
// CPUs oversubscribe them and spin against each other at every barrier; placed copies do not.
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  int loops = argc > 1 ? atoi(argv[1]) : 4000;
  double sum = 0.0;
  double start = omp_get_wtime();
  for (int i = 0; i < loops; ++i) {
#pragma omp parallel for reduction(+ : sum)
    for (int j = 0; j < 1000; ++j) sum += (double)(i ^ j) * 1e-9;
  }
  printf("threads=%d loops=%d seconds=%.3f checksum=%.6f\n", omp_get_max_threads(), loops,
         omp_get_wtime() - start, sum);
  return 0;
}
