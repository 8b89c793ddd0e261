/* kallsyms: kernel function symbols from /proc/kallsyms, for naming kernel
 * frames. Loaded in one read, sorted, looked up by binary search. */
#ifndef NODETAP_KALLSYMS_H
#define NODETAP_KALLSYMS_H

#include <stddef.h>
#include <stdint.h>

struct nt_ksym {
	uint64_t addr;
	const char *name;
	const char *module;  /* "xfs" for "[xfs]", NULL for the kernel image */
};

struct nt_kallsyms;

/* Load the text symbols (types t, T, w, W) of PATH, normally
 * "/proc/kallsyms". Fails with -EPERM when every address reads as zero
 * (kptr_restrict, or no CAP_SYSLOG). Returns 0 or -errno with a message in
 * err naming the file and the problem. */
int nt_kallsyms_load(const char *path, struct nt_kallsyms **out,
		     char *err, size_t errlen);

/* The symbol at or before ADDR, and *off = ADDR - its address; NULL when ADDR
 * is below the first symbol or more than NT_KSYM_MAX_OFF past the nearest one
 * (kallsyms has no sizes: this keeps an address in a gap from being blamed on
 * the function before it). */
#define NT_KSYM_MAX_OFF (1u << 20)
const struct nt_ksym *nt_kallsyms_find(const struct nt_kallsyms *k, uint64_t addr,
				       uint64_t *off);
size_t nt_kallsyms_count(const struct nt_kallsyms *k);
void nt_kallsyms_free(struct nt_kallsyms *k);

#endif
