/* The fingerprint of a process's placement inputs (XEONRUN_PLACED_INPUTS, docs/design.md §5).
 *
 * Plain C with no state, included by the front (src/shim/front.c, which may use libc only) and
 * by the core (src/core/decision.cpp): the one implementation, so the value a placed process
 * exports and the value its child computes cannot drift.
 *
 * The inputs are the XEONRUN_* variables except the library's outputs (XEONRUN_PLACED_*,
 * XEONRUN_REEXEC_*) and the reporting variables (XEONRUN_LOG_LEVEL, XEONRUN_LOG_FILE), plus the
 * launcher context (the local-rank variables and Slurm's step). A child whose inputs equal its
 * placed parent's inherited the placement it asked for; one whose inputs differ (its own
 * XEONRUN_RANK, a launcher's rank) must be placed as it asks. */
#ifndef XEONPLACE_PLACEMENT_INPUTS_H
#define XEONPLACE_PLACEMENT_INPUTS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* 16 hex digits and the terminating NUL. */
#define XEONPLACE_FINGERPRINT_SIZE 17

static inline int xeonplace_has_prefix(const char* text, const char* prefix) {
  return strncmp(text, prefix, strlen(prefix)) == 0;
}

/* Is "NAME=value" a placement input? `context` holds the launcher context as "NAME=" prefixes. */
static inline int xeonplace_is_placement_input(const char* entry, const char* const* context,
                                               size_t ncontext) {
  if (xeonplace_has_prefix(entry, "XEONRUN_")) {
    const char* name = entry + 8;
    return !xeonplace_has_prefix(name, "PLACED_") && !xeonplace_has_prefix(name, "REEXEC_") &&
           !xeonplace_has_prefix(name, "LOG_LEVEL=") && !xeonplace_has_prefix(name, "LOG_FILE=");
  }
  for (size_t i = 0; i < ncontext; ++i) {
    if (xeonplace_has_prefix(entry, context[i])) return 1;
  }
  return 0;
}

/* One entry's share: FNV-1a over its bytes, then a finalizer so that a sum of shares does not
 * cancel out for entries that differ in one byte. */
static inline uint64_t xeonplace_entry_share(const char* entry) {
  uint64_t h = 14695981039346656037ull;
  for (const unsigned char* p = (const unsigned char*)entry; *p != '\0'; ++p) {
    h = (h ^ *p) * 1099511628211ull;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

/* The fingerprint of a NULL-terminated environment: a sum of shares, so the order of the entries
 * does not matter. With no input at all it is 0. */
static inline uint64_t xeonplace_inputs_fingerprint(const char* const* envp,
                                                    const char* const* context, size_t ncontext) {
  uint64_t sum = 0;
  for (const char* const* e = envp; e != NULL && *e != NULL; ++e) {
    if (xeonplace_is_placement_input(*e, context, ncontext)) sum += xeonplace_entry_share(*e);
  }
  return sum;
}

/* As exported: 16 lowercase hex digits. */
static inline void xeonplace_format_fingerprint(uint64_t fingerprint,
                                                char out[XEONPLACE_FINGERPRINT_SIZE]) {
  static const char digits[] = "0123456789abcdef";
  for (int i = 15; i >= 0; --i) {
    out[i] = digits[fingerprint & 0xf];
    fingerprint >>= 4;
  }
  out[16] = '\0';
}

#endif
