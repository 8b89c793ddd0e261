/* kallsyms: parse /proc/kallsyms. See kallsyms.h.
 *
 * Lines look like "ffffffffc0a01000 t xfs_foo\t[xfs]". The file is read
 * once into one buffer and the names are cut out of it in place, so ~120k
 * symbols cost one allocation for text plus the sorted array. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kallsyms.h"

struct nt_kallsyms {
	char *text;           /* the file, names NUL-terminated in place */
	struct nt_ksym *syms; /* sorted by addr, one per address */
	size_t n;
};

struct ranked {
	struct nt_ksym s;
	int rank;             /* which name to keep when several share an address */
	size_t seq;           /* line number, for ties */
};

static int read_file(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
	size_t cap = 1 << 20, n = 0;
	char *buf = malloc(cap + 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || !buf) {
		int e = fd < 0 ? -errno : -ENOMEM;

		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(-e));
		free(buf);
		if (fd >= 0)
			close(fd);
		return e;
	}
	ssize_t r;

	for (;;) {
		if (n == cap) {
			char *nb = realloc(buf, cap * 2 + 1);

			if (!nb) {
				r = -1;
				errno = ENOMEM;
				goto fail;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
fail:
	r = -errno;
	snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
	free(buf);
	close(fd);
	return (int)r;
}

/* Prefer global names, then local, then the 32-bit syscall aliases
 * (__ia32_sys_x shares its address with __x64_sys_x), then the __pfx_
 * padding labels that kernels with function padding put before each
 * function. Ties keep file order. */
static int rank_of(char type, const char *name)
{
	if (!strncmp(name, "__pfx_", 6))
		return 3;
	if (!strncmp(name, "__ia32_", 7))
		return 2;
	return (type == 'T' || type == 'W') ? 0 : 1;
}

/* Parse one NUL-terminated line in place. Returns true for a text symbol. */
static bool parse_line(char *line, struct ranked *out)
{
	char *p, *name, *mod;
	char type;

	out->s.addr = strtoull(line, &p, 16);
	if (p == line || *p != ' ' || !p[1] || p[2] != ' ')
		return false;
	type = p[1];
	if (type != 't' && type != 'T' && type != 'w' && type != 'W')
		return false;
	name = p + 3;
	mod = strchr(name, '\t');
	out->s.module = NULL;
	if (mod) {
		*mod++ = '\0';
		if (*mod == '[') {
			char *close_br = strchr(mod, ']');

			if (close_br)
				*close_br = '\0';
			out->s.module = mod + 1;
		}
	}
	if (!*name)
		return false;
	out->s.name = name;
	out->rank = rank_of(type, name);
	return true;
}

static int cmp_ranked(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->s.addr != y->s.addr)
		return x->s.addr < y->s.addr ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank - y->rank;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Lines of TEXT, parsed into a sorted array of RANKED. */
static int parse_all(char *text, size_t len, struct ranked **out, size_t *nout,
		     bool *all_zero)
{
	size_t n = 0, cap = 1;
	struct ranked *v;

	for (size_t i = 0; i < len; i++)
		cap += text[i] == '\n';
	v = malloc(cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	*all_zero = true;
	for (char *line = text; line && *line;) {
		char *nl = strchr(line, '\n');

		if (nl)
			*nl = '\0';
		if (n < cap && parse_line(line, &v[n])) {
			v[n].seq = n;
			if (v[n].s.addr)
				*all_zero = false;
			n++;
		}
		line = nl ? nl + 1 : NULL;
	}
	qsort(v, n, sizeof(*v), cmp_ranked);
	*out = v;
	*nout = n;
	return 0;
}

int nt_kallsyms_load(const char *path, struct nt_kallsyms **out,
		     char *err, size_t errlen)
{
	struct nt_kallsyms *k;
	struct ranked *v;
	size_t len = 0, n, m = 0;
	bool all_zero;
	char *text = NULL;
	int r;

	*out = NULL;
	r = read_file(path, &text, &len, err, errlen);
	if (r)
		return r;
	r = parse_all(text, len, &v, &n, &all_zero);
	k = calloc(1, sizeof(*k));
	if (r || !k || !(k->syms = malloc((n ? n : 1) * sizeof(*k->syms)))) {
		snprintf(err, errlen, "%s: out of memory", path);
		if (!r)
			free(v);
		free(k);
		free(text);
		return -ENOMEM;
	}
	if (n && all_zero) {
		snprintf(err, errlen, "%s: all addresses read as 0 (kptr_restrict, or no CAP_SYSLOG)",
			 path);
		free(v);
		free(k->syms);
		free(k);
		free(text);
		return -EPERM;
	}
	for (size_t i = 0; i < n; i++)
		if (!m || k->syms[m - 1].addr != v[i].s.addr)
			k->syms[m++] = v[i].s;
	free(v);
	k->n = m;
	k->text = text;
	*out = k;
	return 0;
}

const struct nt_ksym *nt_kallsyms_find(const struct nt_kallsyms *k, uint64_t addr,
				       uint64_t *off)
{
	size_t lo = 0, hi = k->n;

	/* The last symbol with addr <= ADDR. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (k->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || addr - k->syms[lo - 1].addr >= NT_KSYM_MAX_OFF)
		return NULL;
	*off = addr - k->syms[lo - 1].addr;
	return &k->syms[lo - 1];
}

size_t nt_kallsyms_count(const struct nt_kallsyms *k)
{
	return k->n;
}

void nt_kallsyms_free(struct nt_kallsyms *k)
{
	if (!k)
		return;
	free(k->syms);
	free(k->text);
	free(k);
}
