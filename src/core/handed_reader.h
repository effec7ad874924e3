/* The front's reader of a handed placement (XEONRUN_PLACEMENT, docs/design.md §4 and §7).
 *
 * Plain C with no state and no system call, included by the front (src/shim/front.c, which may
 * use libc only), by a unit test and by a fuzz target. It lets a rank that xeonrun-spawn placed
 * already confirm its placement without loading the engine.
 *
 * It reads only the canonical line that format_handed_placement() (core/decision.cpp) writes for
 * a rank it vouches for: the nine fields in order, the last being `inputs=`; numbers without
 * leading zeros; lists as CpuSet::format() writes them (ascending, adjacent ids merged into one
 * range, at most XEONPLACE_HANDED_MAX_CPUS CPUs and XEONPLACE_HANDED_MAX_NODES nodes); env names
 * non-empty and without '='. A line it does not read is left to the engine, whose parser
 * (parse_handed_placement) is the reference and reports errors: this reader accepts a subset of
 * what that parser accepts, with the same values (tests/unit/test_handed_reader.cpp, and the
 * fuzz target tests/fuzz/fuzz_handed_reader.cpp check it). */
#ifndef XEONPLACE_HANDED_READER_H
#define XEONPLACE_HANDED_READER_H

#include <limits.h>
#include <stddef.h>
#include <string.h>

enum { XEONPLACE_HANDED_MAX_CPUS = 8192, XEONPLACE_HANDED_MAX_NODES = 1024 };
#define XEONPLACE_HANDED_WORD_BITS (sizeof(unsigned long) * CHAR_BIT)

enum xeonplace_handed_membind {
  XEONPLACE_MEMBIND_BIND,
  XEONPLACE_MEMBIND_PREFERRED,
  XEONPLACE_MEMBIND_INTERLEAVE,
  XEONPLACE_MEMBIND_NONE
};
enum xeonplace_handed_pin { XEONPLACE_PIN_PROCESS, XEONPLACE_PIN_THREAD, XEONPLACE_PIN_NONE };

/* One field of the line, as it is written (not NUL-terminated). */
struct xeonplace_text {
  const char* text;
  size_t size;
};

struct xeonplace_handed {
  unsigned rank;
  unsigned nranks;
  unsigned long cpus[XEONPLACE_HANDED_MAX_CPUS / (sizeof(unsigned long) * CHAR_BIT)];
  unsigned long mems[XEONPLACE_HANDED_MAX_NODES / (sizeof(unsigned long) * CHAR_BIT)];
  enum xeonplace_handed_membind membind;
  enum xeonplace_handed_pin pin;
  /* The fields as written, canonical, hence also as the engine would export them. */
  struct xeonplace_text rank_text, nranks_text, cpus_text, mems_text, membind_text, env_text;
  struct xeonplace_text inputs; /* 16 lowercase hex digits */
  size_t vouched_size;          /* the line without ";inputs=...": what the fingerprint counts */
};

/* A number in [min, max] written without sign or leading zero. */
static inline int xeonplace_read_number(struct xeonplace_text t, unsigned min, unsigned max,
                                        unsigned* out) {
  unsigned long value = 0;
  if (t.size == 0 || t.size > 10 || (t.size > 1 && t.text[0] == '0')) return 0;
  for (size_t i = 0; i < t.size; ++i) {
    if (t.text[i] < '0' || t.text[i] > '9') return 0;
    value = value * 10 + (unsigned long)(t.text[i] - '0');
    if (value > max) return 0;
  }
  if (value < min) return 0;
  *out = (unsigned)value;
  return 1;
}

/* Reads the decimal id at t.text[*at], advancing *at; 0 when there is none. */
static inline int xeonplace_read_id(struct xeonplace_text t, size_t* at, unsigned limit,
                                    unsigned* id) {
  size_t start = *at;
  while (*at < t.size && t.text[*at] >= '0' && t.text[*at] <= '9') ++*at;
  struct xeonplace_text digits = {t.text + start, *at - start};
  return xeonplace_read_number(digits, 0, limit - 1, id);
}

/* A list in CpuSet::format()'s form into `bits` (zeroed first), ids below `limit`. */
static inline int xeonplace_read_list(struct xeonplace_text t, unsigned limit,
                                      unsigned long* bits) {
  const size_t word = XEONPLACE_HANDED_WORD_BITS;
  size_t at = 0;
  long next_allowed = 0; /* canonical: each item starts at least two above the last id */
  memset(bits, 0, limit / CHAR_BIT);
  while (at < t.size) {
    unsigned low, high;
    if (!xeonplace_read_id(t, &at, limit, &low) || (long)low < next_allowed) return 0;
    high = low;
    if (at < t.size && t.text[at] == '-') {
      ++at;
      if (!xeonplace_read_id(t, &at, limit, &high) || high <= low) return 0;
    }
    for (unsigned id = low; id <= high; ++id) bits[id / word] |= 1UL << (id % word);
    next_allowed = (long)high + 2;
    if (at == t.size) return 1;
    if (t.text[at] != ',' || ++at == t.size) return 0;
  }
  return 1; /* the empty list */
}

/* Which of `names` equals t (exactly); -1 if none. */
static inline int xeonplace_read_choice(struct xeonplace_text t, const char* const* names,
                                        int count) {
  for (int i = 0; i < count; ++i) {
    if (strlen(names[i]) == t.size && memcmp(names[i], t.text, t.size) == 0) return i;
  }
  return -1;
}

/* Non-empty names separated by single commas, no '='; or nothing. */
static inline int xeonplace_read_names(struct xeonplace_text t) {
  for (size_t i = 0; i < t.size; ++i) {
    if (t.text[i] == '=') return 0;
    if (t.text[i] == ',' && (i == 0 || i + 1 == t.size || t.text[i + 1] == ',')) return 0;
  }
  return 1;
}

static inline int xeonplace_read_hex16(struct xeonplace_text t) {
  if (t.size != 16) return 0;
  for (size_t i = 0; i < t.size; ++i) {
    char c = t.text[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return 0;
  }
  return 1;
}

/* Splits `line` into its nine "key=value" fields after "v1"; 0 unless each key is in place. */
static inline int xeonplace_split_handed(const char* line, struct xeonplace_text values[9],
                                         size_t* vouched_size) {
  static const char* const keys[9] = {"rank", "nranks", "cpus", "mems",  "membind",
                                      "pin",  "source", "env",  "inputs"};
  const char* p = line;
  if (strncmp(p, "v1;", 3) != 0) return 0;
  p += 3;
  for (int i = 0; i < 9; ++i) {
    size_t key = strlen(keys[i]);
    if (strncmp(p, keys[i], key) != 0 || p[key] != '=') return 0;
    if (i == 8) *vouched_size = (size_t)(p - line) - 1;
    p += key + 1;
    const char* end = strchr(p, ';');
    if ((end == NULL) != (i == 8)) return 0;
    if (end == NULL) end = p + strlen(p);
    values[i].text = p;
    values[i].size = (size_t)(end - p);
    p = *end == ';' ? end + 1 : end;
  }
  return 1;
}

/* 1 and *out filled when `line` is a canonical, vouched handed placement; 0 otherwise. */
static inline int xeonplace_read_handed(const char* line, struct xeonplace_handed* out) {
  static const char* const membinds[] = {"bind", "preferred", "interleave", "none"};
  static const char* const pins[] = {"process", "thread", "none"};
  struct xeonplace_text v[9];
  int membind, pin;
  if (!xeonplace_split_handed(line, v, &out->vouched_size)) return 0;
  if (!xeonplace_read_number(v[0], 0, 65534, &out->rank) ||
      !xeonplace_read_number(v[1], 1, 65535, &out->nranks) || out->rank >= out->nranks) {
    return 0;
  }
  if (v[2].size == 0 || !xeonplace_read_list(v[2], XEONPLACE_HANDED_MAX_CPUS, out->cpus) ||
      !xeonplace_read_list(v[3], XEONPLACE_HANDED_MAX_NODES, out->mems)) {
    return 0;
  }
  membind = xeonplace_read_choice(v[4], membinds, 4);
  pin = xeonplace_read_choice(v[5], pins, 3);
  if (membind < 0 || pin < 0 || !xeonplace_read_names(v[7]) || !xeonplace_read_hex16(v[8])) {
    return 0;
  }
  out->membind = (enum xeonplace_handed_membind)membind;
  out->pin = (enum xeonplace_handed_pin)pin;
  out->rank_text = v[0];
  out->nranks_text = v[1];
  out->cpus_text = v[2];
  out->mems_text = v[3];
  out->membind_text = v[4];
  out->env_text = v[7];
  out->inputs = v[8];
  return 1;
}

#endif
