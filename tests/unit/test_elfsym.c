/* Unit tests for user/elfsym.c. The fixtures tests/fixtures/syms.so and
 * syms-stripped.so are built from tests/fixtures/syms.cc by
 * tests/fixtures/build.sh and checked in; the tests look for them relative
 * to the repository root (where `make` runs them), or in $NT_FIXTURES.
 * The tests check properties (names, clone kinds, the bytes at a reported
 * file offset), not addresses, so a rebuilt fixture still passes. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <elf.h>

#include "check.h"
#include "elfsym.h"

static const char *fixture(const char *name)
{
	static char path[4][512];
	static int slot;
	const char *dir = getenv("NT_FIXTURES");
	char *p = path[slot++ % 4];

	snprintf(p, sizeof(path[0]), "%s/%s", dir ? dir : "tests/fixtures", name);
	return p;
}

static struct nt_elf *open_fixture(const char *name, int *nt_failed_)
{
	struct nt_elf *e = NULL;
	char err[512];
	int rc = nt_elf_open(fixture(name), &e, err, sizeof(err));

	if (rc) {
		fprintf(stderr, "  cannot open fixture: %s (run from the repository root, or "
			"set NT_FIXTURES)\n", err);
		*nt_failed_ = 1;
		return NULL;
	}
	return e;
}

/* Reads the whole of PATH into a malloc'd buffer. */
static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

/* Writes LEN bytes to a new temporary file; returns its path (static). */
static const char *write_tmp(const void *buf, size_t len)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/nt-elfsym-test-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	if (len && write(fd, buf, len) != (ssize_t)len) {
		close(fd);
		unlink(path);
		return NULL;
	}
	close(fd);
	return path;
}

/* Opens a file that must be refused: checks the message names the file. */
static void expect_refused(const void *buf, size_t len, const char *why, int *nt_failed_)
{
	const char *path = write_tmp(buf, len);
	struct nt_elf *e = NULL;
	char err[512] = "";
	int rc;

	CHECK(path != NULL);
	if (!path)
		return;
	rc = nt_elf_open(path, &e, err, sizeof(err));
	if (rc == 0) {
		fprintf(stderr, "  %s: opened, expected a refusal\n", why);
		*nt_failed_ = 1;
		nt_elf_free(e);
	} else {
		CHECK(rc < 0);
		CHECK(e == NULL);
		if (!strstr(err, path)) {
			fprintf(stderr, "  %s: message \"%s\" does not name the file\n", why, err);
			*nt_failed_ = 1;
		}
	}
	unlink(path);
}

/* ---- pure functions -------------------------------------------------- */

TEST(elf_clone_suffix)
{
	static const struct {
		const char *name;
		enum nt_clone_kind kind;
		size_t base;
	} cases[] = {
		{ "uv_getaddrinfo", NT_CLONE_NONE, 14 },
		{ "foo.isra.0", NT_CLONE_ISRA, 3 },
		{ "foo.isra", NT_CLONE_ISRA, 3 },
		{ "foo.constprop.0", NT_CLONE_CONSTPROP, 3 },
		{ "foo.constprop.12", NT_CLONE_CONSTPROP, 3 },
		{ "foo.part.3", NT_CLONE_PART, 3 },
		{ "foo.cold", NT_CLONE_COLD, 3 },
		{ "foo.cold.17", NT_CLONE_COLD, 3 },
		/* combinations: the least "entry-like" kind wins */
		{ "foo.constprop.0.isra.0", NT_CLONE_ISRA, 3 },
		{ "foo.isra.0.constprop.1", NT_CLONE_ISRA, 3 },
		{ "foo.part.0.isra.0", NT_CLONE_PART, 3 },
		{ "foo.isra.0.cold", NT_CLONE_COLD, 3 },
		{ "foo.constprop.0.lto_priv.0", NT_CLONE_CONSTPROP, 3 },
		{ "foo.lto_priv.0", NT_CLONE_OTHER, 3 },
		{ "foo.llvm.4711", NT_CLONE_OTHER, 3 },
		{ "foo.localalias", NT_CLONE_OTHER, 3 },
		{ "foo.0", NT_CLONE_OTHER, 3 },
		{ "foo.", NT_CLONE_OTHER, 3 },
		{ "_ZN4node9AsyncWrap12MakeCallbackEN2v85LocalINS1_4NameEEEiPNS2_INS1_5ValueEEE.isra.0",
		  NT_CLONE_ISRA, 76 },
		{ "_ZL5scaleii.constprop.0", NT_CLONE_CONSTPROP, 11 },
		{ "", NT_CLONE_NONE, 0 },
		{ ".hidden", NT_CLONE_NONE, 7 },     /* a leading dot is not a suffix */
	};
	size_t base;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		base = 999;
		CHECK_EQ_INT(nt_clone_suffix(cases[i].name, &base), cases[i].kind);
		CHECK_EQ_INT(base, cases[i].base);
		if (*nt_failed_) {
			fprintf(stderr, "  (case \"%s\")\n", cases[i].name);
			return;
		}
	}
	CHECK_EQ_INT(nt_clone_suffix("foo.isra.0", NULL), NT_CLONE_ISRA);
	base = 999;
	CHECK_EQ_INT(nt_clone_suffix(NULL, &base), NT_CLONE_NONE);
	CHECK_EQ_INT(base, 0);
}

TEST(elf_demangle)
{
	char buf[512], small[8];

	CHECK_EQ_STR(nt_demangle("_ZN2nt3net4Wrap7ConnectEi", buf, sizeof(buf)),
		     "nt::net::Wrap::Connect(int)");
	CHECK_EQ_STR(nt_demangle("uv_tcp_connect", buf, sizeof(buf)), "uv_tcp_connect");
	CHECK_EQ_STR(nt_demangle("uv__io_poll.isra.0", buf, sizeof(buf)), "uv__io_poll.isra.0");
	CHECK_EQ_STR(nt_demangle("_ZN4node9AsyncWrap12MakeCallbackEN2v85LocalINS1_4NameEEEiPNS2_"
				 "INS1_5ValueEEE.isra.0", buf, sizeof(buf)),
		     "node::AsyncWrap::MakeCallback(v8::Local<v8::Name>, int, "
		     "v8::Local<v8::Value>*) [clone .isra.0]");
	CHECK_EQ_STR(nt_demangle("_ZN4node7TCPWrap7ConnectI11sockaddr_inEEvRKN2v820FunctionCallback"
				 "InfoINS3_5ValueEEEPFiPKciPT_E", buf, sizeof(buf)),
		     "void node::TCPWrap::Connect<sockaddr_in>(v8::FunctionCallbackInfo<v8::Value> "
		     "const&, int (*)(char const*, int, sockaddr_in*))");
	/* not valid mangling: copied as is */
	CHECK_EQ_STR(nt_demangle("_Zgarbage", buf, sizeof(buf)), "_Zgarbage");
	CHECK_EQ_STR(nt_demangle(NULL, buf, sizeof(buf)), "");
	/* truncated, always terminated */
	CHECK_EQ_STR(nt_demangle("_ZN2nt3net4Wrap7ConnectEi", small, sizeof(small)), "nt::net");
	CHECK_EQ_STR(nt_demangle("uv_tcp_connect", small, sizeof(small)), "uv_tcp_");
	CHECK(nt_demangle("x", NULL, 0) == NULL);
}

/* ---- the fixture ------------------------------------------------------ */

TEST(elf_fixture_index)
{
	struct nt_elf *e = open_fixture("syms.so", nt_failed_);
	struct stat st;
	bool has_x = false, has_libc = false;

	if (!e)
		return;
	CHECK(e->is_pie);       /* a shared object: ET_DYN */
	CHECK_EQ_INT(strlen(e->build_id), 40);
	CHECK_EQ_INT(strspn(e->build_id, "0123456789abcdef"), 40);
	CHECK(stat(e->path, &st) == 0);
	CHECK(e->dev == st.st_dev && e->ino == st.st_ino);
	for (size_t i = 0; i < e->nneeded; i++)
		has_libc |= !strcmp(e->needed[i], "libc.so.6");
	CHECK(has_libc);
	CHECK(e->nsegs >= 2);
	for (size_t i = 0; i < e->nsegs; i++)
		has_x |= (e->segs[i].flags & PF_X) != 0;
	CHECK(has_x);
	CHECK(e->nsyms >= 15);
	/* sorted by address, one entry per (addr, name), names non-empty */
	for (size_t i = 0; i < e->nsyms; i++) {
		CHECK(e->syms[i].name && e->syms[i].name[0]);
		if (i == 0)
			continue;
		CHECK(e->syms[i - 1].addr <= e->syms[i].addr);
		if (e->syms[i - 1].addr == e->syms[i].addr)
			CHECK(strcmp(e->syms[i - 1].name, e->syms[i].name) != 0);
	}
	nt_elf_free(e);
}

/* Finds exactly one match of PATTERN and returns it (or fails the test). */
static bool find_one(const struct nt_elf *e, const char *pattern, struct nt_sym_match *m,
		     int *nt_failed_)
{
	struct nt_sym_match all[8];
	int n = nt_elf_find_func(e, pattern, all, 8);

	if (n != 1) {
		fprintf(stderr, "  \"%s\": %d matches, expected 1\n", pattern, n);
		for (int i = 0; i < n && i < 8; i++)
			fprintf(stderr, "    %s\n", all[i].sym->name);
		*nt_failed_ = 1;
		return false;
	}
	*m = all[0];
	return true;
}

TEST(elf_find_c)
{
	struct nt_elf *e = open_fixture("syms.so", nt_failed_);
	struct nt_sym_match m, two[2], one[1];
	unsigned char *file;
	size_t len = 0;
	bool magic = false;

	if (!e)
		return;
	file = slurp(e->path, &len);
	CHECK(file != NULL);
	if (find_one(e, "nt_magic", &m, nt_failed_)) {
		CHECK_EQ_INT(m.clone, NT_CLONE_NONE);
		CHECK(m.global);
		/* the uprobe offset holds "mov $0x12345678,%eax" (b8 78 56 34 12),
		 * perhaps after an endbr64 */
		CHECK(m.file_offset != m.sym->addr);
		CHECK(m.file_offset + 16 <= len);
		for (size_t i = 0; file && i < 8 && m.file_offset + i + 5 <= len; i++)
			magic |= !memcmp(file + m.file_offset + i, "\xb8\x78\x56\x34\x12", 5);
		CHECK(magic);
	}
	if (find_one(e, "nt_weak", &m, nt_failed_)) {
		CHECK_EQ_INT(m.clone, NT_CLONE_NONE);
		CHECK(m.global);
	}
	/* a C-linkage static, only present as a clone */
	if (find_one(e, "nt_scale", &m, nt_failed_)) {
		CHECK_EQ_STR(m.sym->name, "nt_scale.constprop.0");
		CHECK_EQ_INT(m.clone, NT_CLONE_CONSTPROP);
		CHECK(!m.global);
	}
	/* the function and its cold fragment: the entry first */
	CHECK_EQ_INT(nt_elf_find_func(e, "nt_hot", two, 2), 2);
	CHECK_EQ_STR(two[0].sym->name, "nt_hot");
	CHECK_EQ_INT(two[0].clone, NT_CLONE_NONE);
	CHECK_EQ_STR(two[1].sym->name, "nt_hot.cold");
	CHECK_EQ_INT(two[1].clone, NT_CLONE_COLD);
	/* MAX smaller than the count: the total comes back, the best is kept */
	CHECK_EQ_INT(nt_elf_find_func(e, "nt_hot", one, 1), 2);
	CHECK_EQ_STR(one[0].sym->name, "nt_hot");
	CHECK_EQ_INT(nt_elf_find_func(e, "nt_hot", NULL, 0), 2);
	/* an exact clone name */
	if (find_one(e, "nt_hot.cold", &m, nt_failed_))
		CHECK_EQ_INT(m.clone, NT_CLONE_COLD);
	/* a mangled name is a name too */
	if (find_one(e, "_ZN2nt3net4Wrap7ConnectEi", &m, nt_failed_))
		CHECK(m.global);
	/* prefixes and C++ names do not match C patterns */
	CHECK_EQ_INT(nt_elf_find_func(e, "nt_mag", NULL, 0), 0);
	CHECK_EQ_INT(nt_elf_find_func(e, "nt_local", NULL, 0), 0);
	CHECK_EQ_INT(nt_elf_find_func(e, "no_such_function", NULL, 0), 0);
	CHECK_EQ_INT(nt_elf_find_func(e, "", NULL, 0), -EINVAL);
	CHECK_EQ_INT(nt_elf_find_func(e, "nt_hot", NULL, 1), -EINVAL);
	CHECK_EQ_INT(nt_elf_find_func(NULL, "nt_hot", NULL, 0), -EINVAL);
	free(file);
	nt_elf_free(e);
}

TEST(elf_find_cxx)
{
	struct nt_elf *e = open_fixture("syms.so", nt_failed_);
	struct nt_sym_match m, all[8];
	char dn[256];
	int n;

	if (!e)
		return;
	/* both overloads; not the templates, not nt::other::Wrap::Connect */
	n = nt_elf_find_func(e, "nt::net::Wrap::Connect", all, 8);
	CHECK_EQ_INT(n, 2);
	for (int i = 0; i < n && i < 8; i++) {
		nt_demangle(all[i].sym->name, dn, sizeof(dn));
		CHECK(!strncmp(dn, "nt::net::Wrap::Connect(int", 26));
		CHECK_EQ_INT(all[i].clone, NT_CLONE_NONE);
		CHECK(all[i].global);
	}
	/* the parameter list picks one overload; white space does not matter */
	if (find_one(e, "nt::net::Wrap::Connect(int)", &m, nt_failed_))
		CHECK_EQ_STR(m.sym->name, "_ZN2nt3net4Wrap7ConnectEi");
	if (find_one(e, "nt::net::Wrap::Connect(int, char const*", &m, nt_failed_))
		CHECK_EQ_STR(m.sym->name, "_ZN2nt3net4Wrap7ConnectEiPKc");
	if (find_one(e, "nt::net::Wrap::Connect( int,char const *)", &m, nt_failed_))
		CHECK_EQ_STR(m.sym->name, "_ZN2nt3net4Wrap7ConnectEiPKc");
	CHECK_EQ_INT(nt_elf_find_func(e, "nt::net::Wrap::Connect(long", NULL, 0), 0);
	/* templates: the last component's arguments are part of the name */
	if (find_one(e, "nt::net::Wrap::Connect<nt::net::sockaddr_a>", &m, nt_failed_)) {
		CHECK(m.global);        /* weak */
		nt_demangle(m.sym->name, dn, sizeof(dn));
		CHECK_EQ_STR(dn, "int nt::net::Wrap::Connect<nt::net::sockaddr_a>"
				 "(nt::net::sockaddr_a const*)");
	}
	if (find_one(e, "nt::net::Wrap::Connect<nt::net::sockaddr_b>(nt::net::sockaddr_b const*)",
		     &m, nt_failed_))
		CHECK(m.global);
	find_one(e, "nt::net::Wrap::Connect<int>", &m, nt_failed_);  /* a specialisation */
	CHECK_EQ_INT(nt_elf_find_func(e, "nt::net::Wrap::Connect<long>", NULL, 0), 0);
	find_one(e, "nt::other::Wrap::Connect", &m, nt_failed_);
	find_one(e, "nt::net::Wrap::Size", &m, nt_failed_);          /* a const method */
	/* a partial name is not a match */
	CHECK_EQ_INT(nt_elf_find_func(e, "net::Wrap::Connect", NULL, 0), 0);
	CHECK_EQ_INT(nt_elf_find_func(e, "nt::net::Wrap::Conn", NULL, 0), 0);
	CHECK_EQ_INT(nt_elf_find_func(e, "nt::net::Wrap", NULL, 0), 0);
	/* static functions (internal linkage: "_ZL8nt_locali") */
	if (find_one(e, "nt_local(int)", &m, nt_failed_)) {
		CHECK_EQ_INT(m.clone, NT_CLONE_NONE);
		CHECK(!m.global);
	}
	find_one(e, "::nt_local", &m, nt_failed_);
	/* clones of C++ functions */
	if (find_one(e, "(anonymous namespace)::read_b", &m, nt_failed_)) {
		CHECK_EQ_INT(m.clone, NT_CLONE_ISRA);
		CHECK(!m.global);
		nt_demangle(m.sym->name, dn, sizeof(dn));
		CHECK_EQ_STR(dn, "(anonymous namespace)::read_b(big const*, int) [clone .isra.0]");
	}
	if (find_one(e, "part_me(int*", &m, nt_failed_))
		CHECK_EQ_INT(m.clone, NT_CLONE_PART);
	nt_elf_free(e);
}

TEST(elf_sym_at)
{
	struct nt_elf *e = open_fixture("syms.so", nt_failed_);
	struct nt_sym_match m;
	const struct nt_sym *s;
	uint64_t off = 999;

	if (!e)
		return;
	if (find_one(e, "nt_magic", &m, nt_failed_)) {
		/* nt_magic_alias shares the address; either name will do */
		s = nt_elf_sym_at(e, m.sym->addr, &off);
		CHECK(s && s->addr == m.sym->addr);
		CHECK_EQ_U64(off, 0);
		s = nt_elf_sym_at(e, m.sym->addr + 3, &off);
		CHECK(s && s->addr == m.sym->addr);
		CHECK_EQ_U64(off, 3);
		CHECK(m.sym->size > 0);
		s = nt_elf_sym_at(e, m.sym->addr + m.sym->size - 1, NULL);
		CHECK(s && s->addr == m.sym->addr);
	}
	/* a size-0 symbol covers the gap up to the next one */
	if (find_one(e, "nt_nosize", &m, nt_failed_)) {
		CHECK_EQ_U64(m.sym->size, 0);
		s = nt_elf_sym_at(e, m.sym->addr, &off);
		CHECK(s == m.sym);
		CHECK_EQ_U64(off, 0);
		s = nt_elf_sym_at(e, m.sym->addr + 2, &off);
		CHECK(s == m.sym);
		CHECK_EQ_U64(off, 2);
	}
	/* every sized function is found at its start and its last byte */
	for (size_t i = 0; i < e->nsyms; i++) {
		const struct nt_sym *x = &e->syms[i];

		s = nt_elf_sym_at(e, x->addr, &off);
		CHECK(s && s->addr == x->addr && off == 0);
		if (x->size) {
			s = nt_elf_sym_at(e, x->addr + x->size - 1, &off);
			CHECK(s && s->addr == x->addr && off == x->size - 1);
		}
	}
	CHECK(nt_elf_sym_at(e, 0, &off) == NULL);
	CHECK(nt_elf_sym_at(e, e->syms[0].addr - 1, &off) == NULL);
	CHECK(nt_elf_sym_at(e, UINT64_MAX, &off) == NULL);
	CHECK(nt_elf_sym_at(NULL, 0x1000, &off) == NULL);
	nt_elf_free(e);
}

TEST(elf_vaddr_offset)
{
	struct nt_elf *e = open_fixture("syms.so", nt_failed_);
	bool differ = false;

	if (!e)
		return;
	for (size_t i = 0; i < e->nsegs; i++) {
		const struct nt_elf_seg *s = &e->segs[i];

		CHECK_EQ_U64(nt_elf_vaddr_to_offset(e, s->vaddr), s->offset);
		CHECK_EQ_U64(nt_elf_offset_to_vaddr(e, s->offset), s->vaddr);
		if (s->filesz) {
			CHECK_EQ_U64(nt_elf_vaddr_to_offset(e, s->vaddr + s->filesz - 1),
				     s->offset + s->filesz - 1);
			CHECK_EQ_U64(nt_elf_offset_to_vaddr(e, s->offset + s->filesz - 1),
				     s->vaddr + s->filesz - 1);
		}
		differ |= s->vaddr != s->offset;
	}
	CHECK(differ);  /* build.sh links at 0x200000 so that this test means something */
	/* round trip through every function */
	for (size_t i = 0; i < e->nsyms; i++) {
		uint64_t off = nt_elf_vaddr_to_offset(e, e->syms[i].addr);

		CHECK(off != UINT64_MAX);
		CHECK_EQ_U64(nt_elf_offset_to_vaddr(e, off), e->syms[i].addr);
	}
	CHECK_EQ_U64(nt_elf_vaddr_to_offset(e, 0), UINT64_MAX);
	CHECK_EQ_U64(nt_elf_vaddr_to_offset(e, UINT64_MAX), UINT64_MAX);
	CHECK_EQ_U64(nt_elf_offset_to_vaddr(e, UINT64_MAX), UINT64_MAX);
	CHECK_EQ_U64(nt_elf_vaddr_to_offset(NULL, 0x1000), UINT64_MAX);
	nt_elf_free(e);
}

TEST(elf_stripped_uses_dynsym)
{
	struct nt_elf *e = open_fixture("syms-stripped.so", nt_failed_);
	struct nt_sym_match m;

	if (!e)
		return;
	if (find_one(e, "nt_magic", &m, nt_failed_))
		CHECK(m.global);
	find_one(e, "nt::net::Wrap::Connect<int>", &m, nt_failed_);
	/* local symbols lived only in .symtab */
	CHECK_EQ_INT(nt_elf_find_func(e, "nt_scale", NULL, 0), 0);
	CHECK_EQ_INT(nt_elf_find_func(e, "nt_local(int)", NULL, 0), 0);
	CHECK_EQ_INT(nt_elf_find_func(e, "nt_hot", NULL, 0), 1);
	CHECK_EQ_INT(strlen(e->build_id), 40);
	nt_elf_free(e);
}

/* ---- hostile files ----------------------------------------------------- */

TEST(elf_hostile_files)
{
	static const unsigned char junk[] = "#!/bin/sh\necho this is not ELF\n";
	unsigned char hdr_only[64] = { 0x7f, 'E', 'L', 'F', ELFCLASS64, ELFDATA2LSB, EV_CURRENT };
	unsigned char rnd[4096];
	struct nt_elf *e = (struct nt_elf *)&e;  /* must be reset to NULL */
	char err[512];
	int rc;

	expect_refused("", 0, "empty file", nt_failed_);
	expect_refused("\x7f" "EL", 3, "3 bytes", nt_failed_);
	expect_refused("\x7f" "ELF", 4, "magic only", nt_failed_);
	expect_refused(junk, sizeof(junk) - 1, "a script", nt_failed_);
	expect_refused(hdr_only, 40, "half an ELF header", nt_failed_);
	expect_refused(hdr_only, sizeof(hdr_only), "an ELF header and nothing else", nt_failed_);
	srand(42);
	for (size_t i = 0; i < sizeof(rnd); i++)
		rnd[i] = (unsigned char)rand();
	expect_refused(rnd, sizeof(rnd), "random bytes", nt_failed_);
	memcpy(rnd, hdr_only, 7);
	expect_refused(rnd, sizeof(rnd), "random bytes after an ELF ident", nt_failed_);

	rc = nt_elf_open("/nonexistent/nt-elfsym", &e, err, sizeof(err));
	CHECK_EQ_INT(rc, -ENOENT);
	CHECK(e == NULL);
	CHECK(strstr(err, "/nonexistent/nt-elfsym") && strstr(err, "cannot open"));
	rc = nt_elf_open("/", &e, err, sizeof(err));
	CHECK(rc < 0);
	CHECK(strstr(err, "not a regular file") != NULL);
	rc = nt_elf_open("/dev/null", &e, err, sizeof(err));
	CHECK(rc < 0);
	CHECK(nt_elf_open(fixture("syms.so"), NULL, err, sizeof(err)) == -EINVAL);
	nt_elf_free(NULL);
}

TEST(elf_hostile_truncated)
{
	size_t len = 0, cuts[] = { 1, 16, 52, 63, 64, 65, 200, 1000, 4096, 0, 0, 0 };
	unsigned char *buf = slurp(fixture("syms.so"), &len);
	char why[64];

	CHECK(buf != NULL);
	if (!buf)
		return;
	cuts[9] = len / 2;
	cuts[10] = len - 100;
	cuts[11] = len - 1;
	/* The section header table is at the end: every cut loses it. */
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		if (cuts[i] >= len)
			continue;
		snprintf(why, sizeof(why), "cut at %zu of %zu bytes", cuts[i], len);
		expect_refused(buf, cuts[i], why, nt_failed_);
	}
	free(buf);
}

/* Elf64 fixture surgery: the section header of the given type. */
static Elf64_Shdr *shdr_of(unsigned char *buf, size_t len, uint32_t type)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;

	if (len < sizeof(*eh) || eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > len)
		return NULL;
	for (int i = 0; i < eh->e_shnum; i++) {
		Elf64_Shdr *sh = (Elf64_Shdr *)(buf + eh->e_shoff) + i;

		if (sh->sh_type == type)
			return sh;
	}
	return NULL;
}

/* Opens a modified copy; returns its error message ("" if it opened). */
static const char *open_modified(const unsigned char *buf, size_t len, char *err, size_t errlen)
{
	const char *path = write_tmp(buf, len);
	struct nt_elf *e = NULL;

	err[0] = '\0';
	if (!path)
		return "cannot write a temporary file";
	if (nt_elf_open(path, &e, err, errlen) == 0) {
		err[0] = '\0';
		nt_elf_free(e);
	}
	unlink(path);
	return err;
}

TEST(elf_hostile_fields)
{
	size_t len = 0;
	unsigned char *orig = slurp(fixture("syms.so"), &len), *buf;
	char err[512];
	Elf64_Ehdr *eh;
	Elf64_Shdr *sh;

	CHECK(orig != NULL);
	if (!orig)
		return;
	buf = malloc(len);
	CHECK(buf != NULL);
	if (!buf) {
		free(orig);
		return;
	}
	eh = (Elf64_Ehdr *)buf;

	memcpy(buf, orig, len);
	eh->e_shoff = (uint64_t)1 << 60;
	CHECK(strstr(open_modified(buf, len, err, sizeof(err)), "truncated section header table"));

	memcpy(buf, orig, len);
	eh->e_shnum = 0xfeff;
	CHECK(strstr(open_modified(buf, len, err, sizeof(err)), "truncated section header table"));

	memcpy(buf, orig, len);
	eh->e_phoff = len - 8;
	CHECK(strstr(open_modified(buf, len, err, sizeof(err)), "truncated program header table"));

	memcpy(buf, orig, len);
	buf[EI_CLASS] = 7;
	CHECK(strstr(open_modified(buf, len, err, sizeof(err)), "unknown ELF class"));

	/* .symtab larger than the file */
	memcpy(buf, orig, len);
	sh = shdr_of(buf, len, SHT_SYMTAB);
	CHECK(sh != NULL);
	if (sh) {
		sh->sh_size = (uint64_t)1 << 40;
		CHECK(strstr(open_modified(buf, len, err, sizeof(err)), ".symtab"));
		CHECK(err[0] != '\0');
	}

	/* a function's name offset past the end of .strtab */
	memcpy(buf, orig, len);
	sh = shdr_of(buf, len, SHT_SYMTAB);
	if (sh) {
		Elf64_Sym *sym = (Elf64_Sym *)(buf + sh->sh_offset);
		size_t n = sh->sh_size / sizeof(*sym);

		for (size_t i = 1; i < n; i++) {
			if (ELF64_ST_TYPE(sym[i].st_info) == STT_FUNC && sym[i].st_shndx) {
				sym[i].st_name = 0x7fffffff;
				break;
			}
		}
		CHECK(strstr(open_modified(buf, len, err, sizeof(err)),
			     "past the end of its string table"));
	}

	/* .symtab links to a section that does not exist, then to one that
	 * is not a string table */
	memcpy(buf, orig, len);
	sh = shdr_of(buf, len, SHT_SYMTAB);
	if (sh) {
		sh->sh_link = 999;
		CHECK(strstr(open_modified(buf, len, err, sizeof(err)), "does not exist"));
		sh->sh_link = 0;
		CHECK(strstr(open_modified(buf, len, err, sizeof(err)), "not a string table"));
	}

	/* a string table without its final NUL */
	memcpy(buf, orig, len);
	sh = shdr_of(buf, len, SHT_SYMTAB);
	if (sh) {
		Elf64_Shdr *str = (Elf64_Shdr *)(buf + eh->e_shoff) + sh->sh_link;

		buf[str->sh_offset + str->sh_size - 1] = 'x';
		CHECK(strstr(open_modified(buf, len, err, sizeof(err)), "NUL"));
	}

	/* neither .symtab nor .dynsym: a clean refusal */
	memcpy(buf, orig, len);
	sh = shdr_of(buf, len, SHT_SYMTAB);
	if (sh)
		sh->sh_type = SHT_PROGBITS;
	sh = shdr_of(buf, len, SHT_DYNSYM);
	if (sh)
		sh->sh_type = SHT_PROGBITS;
	CHECK(strstr(open_modified(buf, len, err, sizeof(err)), "no symbol table"));

	/* every function at one address: opens, one entry per name */
	memcpy(buf, orig, len);
	sh = shdr_of(buf, len, SHT_SYMTAB);
	if (sh) {
		Elf64_Sym *sym = (Elf64_Sym *)(buf + sh->sh_offset);
		size_t n = sh->sh_size / sizeof(*sym), nfunc = 0;
		Elf64_Shdr *dsh = shdr_of(buf, len, SHT_DYNSYM);
		struct nt_elf *e = NULL;
		const char *path;

		for (size_t i = 1; i < n; i++)
			if (ELF64_ST_TYPE(sym[i].st_info) == STT_FUNC && sym[i].st_shndx) {
				sym[i].st_value = 0x201000;
				nfunc++;
			}
		if (dsh)
			dsh->sh_type = SHT_PROGBITS;   /* keep the count simple */
		path = write_tmp(buf, len);
		CHECK(path && nt_elf_open(path, &e, err, sizeof(err)) == 0);
		if (e) {
			CHECK(nfunc > 16);      /* the long-run path of the sort */
			CHECK_EQ_INT(e->nsyms, nfunc);
			for (size_t i = 1; i < e->nsyms; i++)
				CHECK(strcmp(e->syms[i - 1].name, e->syms[i].name) < 0);
			CHECK(nt_elf_sym_at(e, 0x201000, NULL) != NULL);
			nt_elf_free(e);
		}
		if (path)
			unlink(path);
	}

	/* a PT_LOAD segment that runs past the end of the file */
	memcpy(buf, orig, len);
	for (int i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr *ph = (Elf64_Phdr *)(buf + eh->e_phoff) + i;

		if (ph->p_type == PT_LOAD) {
			ph->p_filesz = (uint64_t)len * 4;
			ph->p_memsz = ph->p_filesz;
			break;
		}
	}
	CHECK(strstr(open_modified(buf, len, err, sizeof(err)), "PT_LOAD"));

	/* a DT_NEEDED name past the end of .dynstr */
	memcpy(buf, orig, len);
	sh = shdr_of(buf, len, SHT_DYNAMIC);
	if (sh) {
		Elf64_Dyn *dyn = (Elf64_Dyn *)(buf + sh->sh_offset);

		for (size_t i = 0; i < sh->sh_size / sizeof(*dyn); i++)
			if (dyn[i].d_tag == DT_NEEDED)
				dyn[i].d_un.d_val = 0xffffff;
		CHECK(strstr(open_modified(buf, len, err, sizeof(err)), "DT_NEEDED"));
	}
	free(buf);
	free(orig);
}

/* Random damage must never crash, leak or hang; whatever opens must answer
 * queries. Deterministic (fixed seed) so that a failure reproduces. */
TEST(elf_hostile_fuzz)
{
	size_t len = 0;
	unsigned char *orig = slurp(fixture("syms.so"), &len), *buf;
	unsigned int seed = 1;
	int opened = 0, refused = 0;

	CHECK(orig != NULL);
	if (!orig)
		return;
	buf = malloc(len);
	if (!buf) {
		free(orig);
		return;
	}
	for (int round = 0; round < 400; round++) {
		struct nt_elf *e = NULL;
		struct nt_sym_match m[4];
		const char *path;
		char err[512];
		int flips = 1 + rand_r(&seed) % 8;

		memcpy(buf, orig, len);
		for (int f = 0; f < flips; f++) {
			/* half of the damage in the headers, where it hurts most */
			size_t at = rand_r(&seed) % 2 ? (size_t)rand_r(&seed) % len
				  : (rand_r(&seed) % 2 ? (size_t)rand_r(&seed) % 64
				     : len - 1 - (size_t)rand_r(&seed) % (64 * 30));

			buf[at] = (unsigned char)rand_r(&seed);
		}
		path = write_tmp(buf, len);
		CHECK(path != NULL);
		if (!path)
			break;
		if (nt_elf_open(path, &e, err, sizeof(err)) == 0) {
			opened++;
			nt_elf_find_func(e, "nt_magic", m, 4);
			nt_elf_find_func(e, "nt::net::Wrap::Connect(int", m, 4);
			for (size_t i = 0; i < e->nsyms; i += 3)
				nt_elf_sym_at(e, e->syms[i].addr + 1, NULL);
			nt_elf_free(e);
		} else {
			refused++;
			CHECK(strstr(err, path) != NULL);
		}
		unlink(path);
	}
	CHECK(opened + refused == 400);
	free(buf);
	free(orig);
}

/* ---- real binaries, when present ---------------------------------------- */

TEST(elf_real_node)
{
	struct nt_elf *e = NULL;
	struct nt_sym_match m[8];
	char err[512];
	int n;

	if (access("/usr/bin/node", R_OK))
		return;         /* not on this machine: nothing to check */
	CHECK_EQ_INT(nt_elf_open("/usr/bin/node", &e, err, sizeof(err)), 0);
	if (!e)
		return;
	n = nt_elf_find_func(e, "uv_getaddrinfo", m, 8);
	CHECK_EQ_INT(n, 1);
	if (n == 1) {
		CHECK(m[0].global);
		CHECK(m[0].file_offset != UINT64_MAX);
		CHECK_EQ_U64(nt_elf_offset_to_vaddr(e, m[0].file_offset), m[0].sym->addr);
		CHECK(nt_elf_sym_at(e, m[0].sym->addr + 1, NULL) == m[0].sym);
	}
	CHECK_EQ_INT(nt_elf_find_func(e, "uv__getaddrinfo_done", m, 8), 1);
	CHECK(nt_elf_find_func(e, "node::TCPWrap::Connect", m, 8) >= 1);
	CHECK(nt_elf_find_func(e, "node::AsyncWrap::MakeCallback(v8::Local<v8::Function>",
			       m, 8) >= 1);
	nt_elf_free(e);
}
