// A C++ program built with -fopenmp (libgomp linked into the executable): reports the affinity,
// the OpenMP variables and the CPU set of every thread of a parallel region, as "key=value".
#include <omp.h>
#include <sched.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

std::string cpus_of_this_thread() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return "error";
  std::string out;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) out += (out.empty() ? "" : ",") + std::to_string(cpu);
  }
  return out;
}

void print_env(const char* name) {
  const char* value = std::getenv(name);
  std::printf("%s=%s\n", name, value ? value : "<unset>");
}

}  // namespace

int main() {
  std::printf("cpus=%s\n", cpus_of_this_thread().c_str());
  for (const char* name : {"OMP_NUM_THREADS", "OMP_PROC_BIND", "OMP_PLACES", "KMP_AFFINITY",
                           "KMP_BLOCKTIME", "XEONRUN_PLACED_CPUS"}) {
    print_env(name);
  }
  std::printf("omp_max_threads=%d\n", omp_get_max_threads());
  std::string threads[64];
  int n = 0;
#pragma omp parallel
  {
    const int id = omp_get_thread_num();
    if (id < 64) threads[id] = cpus_of_this_thread();
#pragma omp single
    n = omp_get_num_threads();
  }
  for (int i = 0; i < n && i < 64; ++i)
    std::printf("omp_thread%d_cpus=%s\n", i, threads[i].c_str());
  return 0;
}
