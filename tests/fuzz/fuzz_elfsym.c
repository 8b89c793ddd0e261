/* fuzz_elfsym: ELF files (user/elfsym.c) and what nodetap does with an
 * opened one: symbol lookups, name matching, demangling, and finding
 * libuv's static completion function (user/uvlocate.c).
 *
 * Input: the whole file, given to nt_elf_open by a /proc/self/fd path of a
 * memfd. The file belongs to whoever owns the traced process: truncated
 * tables, garbage counts and offsets, unterminated strings must fail
 * cleanly. Checked:
 *   - a failure is a negative errno with a message that names the file;
 *   - an opened file: symbols sorted by address, names readable strings,
 *     PT_LOAD segments inside the file with filesz <= memsz, a build-id of
 *     even length in hex, DT_NEEDED names readable;
 *   - nt_elf_sym_at: what it returns starts at or below the address and,
 *     if it has a size, holds it;
 *   - nt_elf_vaddr_to_offset gives an offset inside the file, and
 *     nt_elf_offset_to_vaddr a vaddr that maps back to one;
 *   - nt_elf_find_func with C and C++ patterns (and with the file's own
 *     names): matches are symbols of this file, entry points first;
 *   - nt_demangle and nt_clone_suffix on every name (the demangler is
 *     libiberty's and sees names the traced side wrote);
 *   - nt_uv_locate_gai_done: a found offset is inside the file.
 */
#include <errno.h>
#include "fuzz.h"
#include "elfsym.h"
#include "uvlocate.h"

static int memfd = -1;

static const char *const patterns[] = {
	"uv_getaddrinfo", "uv__getaddrinfo_done", "f", "main",
	"node::TCPWrap::Connect", "node::AsyncWrap::MakeCallback(v8::Local<v8::Function>",
	"ns::(anonymous namespace)::g", "std::sort", "operator new", "::h",
	"a::b<int>::c", "x::operator()",
};

static void check_matches(const struct nt_elf *e, const char *pat)
{
	struct nt_sym_match m[8];
	int n = nt_elf_find_func(e, pat, m, 8);

	FUZZ_CHECK(n >= 0 || n == -ENOMEM, "find_func(%s) returned %d", pat, n);
	for (int i = 0; i < n && i < 8; i++) {
		FUZZ_CHECK(m[i].sym >= e->syms && m[i].sym < e->syms + e->nsyms,
			   "find_func(%s): match %d is not one of the file's symbols", pat, i);
		FUZZ_CHECK(m[i].file_offset == UINT64_MAX ||
			   m[i].file_offset == nt_elf_vaddr_to_offset(e, m[i].sym->addr),
			   "find_func(%s): match %d has the wrong file offset", pat, i);
	}
}

static void check_sym_at(const struct nt_elf *e, uint64_t vaddr)
{
	uint64_t off = 0;
	const struct nt_sym *s = nt_elf_sym_at(e, vaddr, &off);

	if (!s)
		return;
	FUZZ_CHECK(s >= e->syms && s < e->syms + e->nsyms, "sym_at: not one of the symbols");
	FUZZ_CHECK(s->addr <= vaddr && off == vaddr - s->addr,
		   "sym_at(0x%llx) returned %s at 0x%llx, off %llu", (unsigned long long)vaddr,
		   s->name, (unsigned long long)s->addr, (unsigned long long)off);
	FUZZ_CHECK(!s->size || off < s->size, "sym_at(0x%llx) returned %s, which ends before it",
		   (unsigned long long)vaddr, s->name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_memfd_file(&memfd, data, size);
	struct nt_elf *e = NULL;
	char err[512], buf[256], why[256];
	uint64_t off;
	int rc;

	memset(err, 'x', sizeof(err));
	rc = nt_elf_open(path, &e, err, sizeof(err));
	FUZZ_CHECK(strnlen(err, sizeof(err)) < sizeof(err), "the message is not terminated");
	if (rc) {
		FUZZ_CHECK(rc < 0 && !e, "failed with %d", rc);
		FUZZ_CHECK(!strncmp(err, path, strlen(path)) && err[strlen(path)] == ':',
			   "the message does not name the file: %s", err);
		return 0;
	}
	FUZZ_CHECK(e, "no result");

	for (size_t i = 0; i < e->nsegs; i++) {
		const struct nt_elf_seg *g = &e->segs[i];

		FUZZ_CHECK(g->offset <= size && g->filesz <= size - g->offset,
			   "segment %zu is not inside the file", i);
		FUZZ_CHECK(g->filesz <= g->memsz, "segment %zu: filesz > memsz", i);
		off = nt_elf_vaddr_to_offset(e, g->vaddr + g->filesz / 2);
		FUZZ_CHECK(off == UINT64_MAX || off < size || (!g->filesz && off == size),
			   "vaddr_to_offset: 0x%llx is past the file", (unsigned long long)off);
		/* An offset some segment loads maps to a vaddr that maps back
		 * to an offset (another one if segments overlap). */
		off = nt_elf_offset_to_vaddr(e, g->offset + g->filesz / 2);
		FUZZ_CHECK(off == UINT64_MAX || nt_elf_vaddr_to_offset(e, off) != UINT64_MAX,
			   "offset_to_vaddr gave 0x%llx, which no segment holds",
			   (unsigned long long)off);
	}
	{
		size_t bl = strlen(e->build_id);

		FUZZ_CHECK(bl % 2 == 0 && bl <= 40 && strspn(e->build_id, "0123456789abcdef") == bl,
			   "build-id \"%s\"", e->build_id);
	}
	for (size_t i = 0; i < e->nneeded; i++)
		FUZZ_CHECK(strlen(e->needed[i]) < size, "DT_NEEDED %zu", i);

	for (size_t i = 0; i < e->nsyms; i++) {
		const struct nt_sym *s = &e->syms[i];
		size_t base = SIZE_MAX, len = strlen(s->name);

		FUZZ_CHECK(!i || e->syms[i - 1].addr <= s->addr, "symbols not sorted at %zu", i);
		FUZZ_CHECK(len > 0, "symbol %zu has an empty name", i);
		nt_clone_suffix(s->name, &base);
		FUZZ_CHECK(base <= len, "clone suffix of %s: base %zu", s->name, base);
		if (i < 64) {
			nt_demangle(s->name, buf, sizeof(buf));
			FUZZ_CHECK(strlen(buf) < sizeof(buf), "demangled name too long");
			check_sym_at(e, s->addr);
			check_sym_at(e, s->addr + s->size / 2);
			check_sym_at(e, s->addr + s->size);
			check_sym_at(e, s->addr - 1);
		}
		/* The file's own names as patterns: C names, and the demangled
		 * qualified name of a few C++ ones. */
		if (i < 8) {
			if (!strpbrk(s->name, ":(<~ "))
				check_matches(e, s->name);
			if (!strncmp(s->name, "_Z", 2)) {
				char *paren;

				nt_demangle(s->name, buf, sizeof(buf));
				paren = strchr(buf, '(');
				if (paren)
					*paren = 0;
				if (buf[0])
					check_matches(e, buf);
			}
		}
	}
	for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++)
		check_matches(e, patterns[i]);

	if (!nt_uv_locate_gai_done(path, e, &off, why, sizeof(why)))
		FUZZ_CHECK(off < size, "uv__getaddrinfo_done at offset %llu, past the file",
			   (unsigned long long)off);
	nt_elf_free(e);
	return 0;
}
