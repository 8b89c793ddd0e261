/* fuzz_kallsyms: the /proc/kallsyms loader (user/kallsyms.c), through a
 * memfd, against a reference written from kallsyms.h.
 *
 * Input: the file's text. Checked:
 *   - the load fails only with -EPERM, and exactly when every text symbol
 *     has address 0 (kptr_restrict);
 *   - one symbol per distinct address of a text symbol (types t T w W),
 *     named by the preferred one of those at that address: global over
 *     local, then __ia32_ aliases, then __pfx_ labels, then file order;
 *     the module is the text in "[...]" after a tab;
 *   - nt_kallsyms_find at each address, just past it and in the gaps
 *     returns the last symbol at or below, or NULL when that is more than
 *     NT_KSYM_MAX_OFF away.
 * The reference reads addresses with strtoull, as the module does: what
 * matters here is what follows the number. */
#include <errno.h>
#include "fuzz.h"
#include "kallsyms.h"

struct rsym {
	uint64_t addr;
	const char *name, *module;   /* into the reference's copy of the text */
	int rank;
	size_t seq;
};

static int memfd = -1;

static int rank_of(char type, const char *name)
{
	if (!strncmp(name, "__pfx_", 6))
		return 3;
	if (!strncmp(name, "__ia32_", 7))
		return 2;
	return (type == 'T' || type == 'W') ? 0 : 1;
}

/* Parse TEXT (NUL-terminated, modified in place) into V; returns the count. */
static size_t ref_parse(char *text, struct rsym *v)
{
	size_t n = 0;
	char *line = text;

	while (line && *line) {
		char *nl = strchr(line, '\n'), *p, *name, *tab;
		char type;
		uint64_t addr;

		if (nl)
			*nl = 0;
		addr = strtoull(line, &p, 16);
		if (p != line && p[0] == ' ' && p[1] && p[2] == ' ' && strchr("tTwW", p[1])) {
			type = p[1];
			name = p + 3;
			tab = strchr(name, '\t');
			v[n].module = NULL;
			if (tab) {
				*tab = 0;
				if (tab[1] == '[') {
					char *close = strchr(tab + 2, ']');

					if (close)
						*close = 0;
					v[n].module = tab + 2;
				}
			}
			if (*name) {
				v[n].addr = addr;
				v[n].name = name;
				v[n].rank = rank_of(type, name);
				v[n].seq = n;
				n++;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	return n;
}

/* The reference's pick for address A: the best-ranked symbol there. */
static const struct rsym *ref_at(const struct rsym *v, size_t n, uint64_t a)
{
	const struct rsym *best = NULL;

	for (size_t i = 0; i < n; i++)
		if (v[i].addr == a && (!best || v[i].rank < best->rank))
			best = &v[i];
	return best;
}

/* The reference's answer to find(A): the greatest address <= A. */
static const struct rsym *ref_find(const struct rsym *v, size_t n, uint64_t a)
{
	uint64_t best = 0;
	int have = 0;

	for (size_t i = 0; i < n; i++)
		if (v[i].addr <= a && (!have || v[i].addr > best)) {
			best = v[i].addr;
			have = 1;
		}
	if (!have || a - best >= NT_KSYM_MAX_OFF)
		return NULL;
	return ref_at(v, n, best);
}

static void check_find(const struct nt_kallsyms *k, const struct rsym *v, size_t n, uint64_t a)
{
	uint64_t off = 0xdead;
	const struct nt_ksym *s = nt_kallsyms_find(k, a, &off);
	const struct rsym *r = ref_find(v, n, a);

	if (!r) {
		FUZZ_CHECK(!s, "find(0x%llx) returned %s, the reference nothing",
			   (unsigned long long)a, s->name);
		return;
	}
	FUZZ_CHECK(s, "find(0x%llx) returned nothing, the reference %s",
		   (unsigned long long)a, r->name);
	FUZZ_CHECK(s->addr == r->addr && off == a - r->addr && !strcmp(s->name, r->name),
		   "find(0x%llx) returned 0x%llx+%llu %s, the reference 0x%llx %s",
		   (unsigned long long)a, (unsigned long long)s->addr,
		   (unsigned long long)off, s->name, (unsigned long long)r->addr, r->name);
	FUZZ_CHECK((!s->module && !r->module) ||
		   (s->module && r->module && !strcmp(s->module, r->module)),
		   "find(0x%llx): module %s, the reference %s", (unsigned long long)a,
		   s->module ? s->module : "(none)", r->module ? r->module : "(none)");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nt_kallsyms *k;
	char err[256], *text = malloc(size + 1);
	const char *path = fuzz_memfd_file(&memfd, data, size);
	struct rsym *v = malloc((size / 4 + 1) * sizeof(*v));
	size_t n, distinct = 0;
	int rc, all_zero = 1;

	memcpy(text, data, size);
	text[size] = 0;
	n = ref_parse(text, v);
	for (size_t i = 0; i < n; i++) {
		int seen = 0;

		if (v[i].addr)
			all_zero = 0;
		for (size_t j = 0; j < i && !seen; j++)
			seen = v[j].addr == v[i].addr;
		distinct += !seen;
	}

	rc = nt_kallsyms_load(path, &k, err, sizeof(err));
	if (n && all_zero) {
		FUZZ_CHECK(rc == -EPERM, "all addresses 0: load returned %d (%s)", rc, err);
		goto out;
	}
	FUZZ_CHECK(rc == 0, "load failed: %d %s", rc, err);
	FUZZ_CHECK(nt_kallsyms_count(k) == distinct, "%zu symbols, the reference %zu",
		   nt_kallsyms_count(k), distinct);
	/* Probe around the first 64 symbols. */
	for (size_t i = 0; i < n && i < 64; i++) {
		check_find(k, v, n, v[i].addr);
		check_find(k, v, n, v[i].addr + 1);
		check_find(k, v, n, v[i].addr - 1);
		check_find(k, v, n, v[i].addr + NT_KSYM_MAX_OFF);
	}
	check_find(k, v, n, 0);
	check_find(k, v, n, UINT64_MAX);
	nt_kallsyms_free(k);
out:
	free(v);
	free(text);
	return 0;
}
