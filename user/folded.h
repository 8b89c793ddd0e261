/* folded: a profile as folded stacks, the input of FlameGraph's
 * flamegraph.pl, speedscope and others: one line per distinct stack,
 * "root;...;leaf COUNT", the process's name as the root frame. */
#ifndef NODETAP_FOLDED_H
#define NODETAP_FOLDED_H

#include <stdio.h>
#include "stackprof.h"

/* Write P to F. Frame names are escaped (escape.h), and a ';' inside a name
 * is written as \\x3b so that it cannot split a frame. Stacks whose names
 * are the same (two JIT addresses both "[jit]") are one line. Returns 0 or
 * -errno. */
int nt_folded_write(FILE *f, const struct nt_profile *p);

#endif
