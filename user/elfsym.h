/* elfsym: the function symbols of one ELF file, for placing probes and for
 * naming frames. Reads .symtab and .dynsym with libelf (one pass, mmapped),
 * keeps functions sorted by address, and matches C++ names by their
 * demangled form. */
#ifndef NODETAP_ELFSYM_H
#define NODETAP_ELFSYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct nt_sym {
	uint64_t addr;    /* st_value: virtual address in the file's own layout */
	uint64_t size;
	const char *name; /* mangled, as in the string table; owned by the nt_elf */
};

struct nt_elf_seg {       /* one PT_LOAD segment */
	uint64_t vaddr, memsz, offset, filesz;
	uint32_t flags;   /* PF_X, PF_W, PF_R */
};

struct nt_elf {
	char *path;
	dev_t dev;
	ino_t ino;
	bool is_pie;          /* ET_DYN: addresses are relative to the load bias */
	char build_id[41];    /* hex, "" when the file has none */
	struct nt_sym *syms;  /* functions (STT_FUNC, STT_GNU_IFUNC) with a defined
	                         section, both tables merged, sorted by addr, one
	                         entry per (addr, name) */
	size_t nsyms;
	struct nt_elf_seg *segs;
	size_t nsegs;
	char **needed;        /* DT_NEEDED entries, e.g. "libuv.so.1" */
	size_t nneeded;
	void *priv;           /* libelf handle, fd, mapping: owned here */
};

/* Open and index PATH. Returns 0, or -errno with a message in err naming the
 * file and what is wrong ("not an ELF file", "truncated section table", ...).
 * Hostile files (truncated, garbage, huge counts) fail cleanly. */
int nt_elf_open(const char *path, struct nt_elf **out, char *err, size_t errlen);
void nt_elf_free(struct nt_elf *e);

/* The function containing VADDR (file-layout address), or NULL. *off gets
 * vaddr - sym->addr. Symbols with size 0 match only their exact address,
 * unless nothing else does and the next symbol is further. */
const struct nt_sym *nt_elf_sym_at(const struct nt_elf *e, uint64_t vaddr, uint64_t *off);

/* File offset of VADDR via the PT_LOAD segments (what a uprobe needs), or
 * UINT64_MAX when no segment holds it. */
uint64_t nt_elf_vaddr_to_offset(const struct nt_elf *e, uint64_t vaddr);
/* The inverse: the vaddr that file offset OFF is loaded at, or UINT64_MAX. */
uint64_t nt_elf_offset_to_vaddr(const struct nt_elf *e, uint64_t off);

enum nt_clone_kind {
	NT_CLONE_NONE = 0,
	NT_CLONE_ISRA,       /* .isra.N: arguments may be removed or changed */
	NT_CLONE_CONSTPROP,  /* .constprop.N: some arguments are constants */
	NT_CLONE_PART,       /* .part.N: a split-off piece, not an entry point */
	NT_CLONE_COLD,       /* .cold / .cold.N: a cold fragment, never an entry */
	NT_CLONE_OTHER,      /* another .suffix the compiler added */
};

struct nt_sym_match {
	const struct nt_sym *sym;
	uint64_t file_offset;     /* where to place a uprobe */
	enum nt_clone_kind clone;
	bool global;              /* STB_GLOBAL or STB_WEAK, vs STB_LOCAL */
};

/* Functions whose name matches PATTERN. A plain C name ("uv_getaddrinfo")
 * matches that symbol exactly, or with a clone suffix. A qualified C++ name
 * ("node::TCPWrap::Connect") matches symbols whose demangled name, without
 * the parameter list, template arguments of the last component kept, and
 * clone suffix, equals it; a pattern that contains '(' must also match the
 * start of the demangled parameter list ("node::AsyncWrap::MakeCallback(
 * v8::Local<v8::Function>"). Candidates are preselected on the mangled form
 * so that only a handful are demangled. Fills up to MAX matches, entry points
 * (NONE, ISRA, CONSTPROP) first; returns the number of matches in total
 * (may exceed MAX), or -errno.
 * Details: symbols at one address (C1/C2 constructors, aliases) count as one
 * match; white space is ignored when comparing C++ names ("char const *" ==
 * "char const*"); a leading "::" names the global namespace. After the entry
 * points come OTHER (.lto_priv.N, ...), then PART, then COLD; within a kind,
 * global before local, then by address. A C++ pattern whose first component
 * is not a plain identifier ("std::...", "operator...") cannot be preselected
 * cheaply and costs a scan of every C++ name. */
int nt_elf_find_func(const struct nt_elf *e, const char *pattern,
		     struct nt_sym_match *out, size_t max);

/* Demangle NAME into BUF (a C name is copied as is). Returns BUF. */
const char *nt_demangle(const char *name, char *buf, size_t len);

/* Split a clone suffix off a symbol name: returns its kind, and sets *base_len
 * to the length of the name without it (base_len may be NULL). The suffix
 * starts at the first '.' after the first character. When suffixes combine,
 * the kind least like an entry point wins: COLD, then PART, ISRA, CONSTPROP,
 * OTHER (".constprop.0.isra.0" is ISRA, ".part.0.isra.0" is PART). */
enum nt_clone_kind nt_clone_suffix(const char *name, size_t *base_len);

#endif
