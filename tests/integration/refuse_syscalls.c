/* refuse_syscalls NAME[,NAME...] PROGRAM [ARG...]: runs PROGRAM with the named system calls
 * refused with EPERM, as Docker's default seccomp profile refuses set_mempolicy and mbind to a
 * container without CAP_SYS_NICE. A seccomp filter (PR_SET_SECCOMP) survives execve, so the
 * library preloaded into PROGRAM meets the refusal for real. Names: set_mempolicy, mbind,
 * sched_setaffinity. Exit status 125 when the filter cannot be installed. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define THIS_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define THIS_ARCH AUDIT_ARCH_AARCH64
#else
#error "refuse_syscalls: add this architecture's AUDIT_ARCH_*"
#endif

static const struct {
  const char* name;
  long number;
} known[] = {
    {"set_mempolicy", SYS_set_mempolicy},
    {"mbind", SYS_mbind},
    {"sched_setaffinity", SYS_sched_setaffinity},
};

enum { kMaxRefused = 8 };

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s NAME[,NAME...] PROGRAM [ARG...]\n", argv[0]);
    return 125;
  }
  long refused[kMaxRefused];
  int count = 0;
  char names[256];
  snprintf(names, sizeof names, "%s", argv[1]);
  for (char* name = strtok(names, ","); name != NULL; name = strtok(NULL, ",")) {
    int found = 0;
    for (size_t i = 0; i < sizeof known / sizeof *known; ++i) {
      if (strcmp(name, known[i].name) == 0 && count < kMaxRefused) {
        refused[count++] = known[i].number;
        found = 1;
      }
    }
    if (!found) {
      fprintf(stderr, "refuse_syscalls: unknown system call %s\n", name);
      return 125;
    }
  }
  /* Load the architecture (anything else: kill), then the number; EPERM for each refused one. */
  struct sock_filter filter[4 + 2 * kMaxRefused + 1];
  int n = 0;
  filter[n++] =
      (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
  filter[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, THIS_ARCH, 1, 0);
  filter[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
  filter[n++] =
      (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
  for (int i = 0; i < count; ++i) {
    filter[n++] =
        (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)refused[i], 0, 1);
    filter[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
  }
  filter[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  struct sock_fprog program = {.len = (unsigned short)n, .filter = filter};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) {
    perror("refuse_syscalls: installing the seccomp filter");
    return 125;
  }
  execvp(argv[2], argv + 2);
  perror(argv[2]);
  return 127;
}
