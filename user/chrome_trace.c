/* chrome_trace: Chrome trace event JSON (see chrome_trace.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "chrome_trace.h"
#include "json.h"

void nt_ct_fmt_us(uint64_t ns, char *buf, size_t len)
{
	snprintf(buf, len, "%llu.%03llu", (unsigned long long)(ns / 1000),
		 (unsigned long long)(ns % 1000));
}

/* /proc/PID/comm or /proc/PID/task/TID/comm, without its newline. */
static bool proc_name(uint32_t pid, uint32_t tid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	if (tid)
		snprintf(path, sizeof(path), "/proc/%u/task/%u/comm", pid, tid);
	else
		snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return false;
	if (buf[n - 1] == '\n')
		n--;
	buf[n] = 0;
	return n > 0;
}

int nt_ct_begin(struct nt_ctrace *t, FILE *f)
{
	memset(t, 0, sizeof(*t));
	t->f = f;
	t->nargs = -1;
	t->read_name = proc_name;
	t->named = calloc(NT_CT_MAX_NAMED, sizeof(*t->named));
	if (!t->named)
		return -ENOMEM;
	fputs("{\"traceEvents\":[\n", f);
	return 0;
}

void nt_ct_free(struct nt_ctrace *t)
{
	free(t->named);
	t->named = NULL;
}

void nt_ct_event(struct nt_ctrace *t, const char *ph, const char *name, const char *cat,
		 uint32_t pid, uint32_t tid, uint64_t ts_ns)
{
	char ts[32];

	nt_ct_fmt_us(ts_ns, ts, sizeof(ts));
	fprintf(t->f, "%s{\"ph\":\"%s\",\"name\":", t->any ? ",\n" : "", ph);
	nt_json_write_string(t->f, name, strlen(name));
	fprintf(t->f, ",\"cat\":\"%s\",\"pid\":%u,\"tid\":%u,\"ts\":%s", cat, pid, tid, ts);
	t->any = true;
	t->open = true;
	t->nargs = -1;
	t->events++;
}

void nt_ct_dur(struct nt_ctrace *t, uint64_t dur_ns)
{
	char d[32];

	nt_ct_fmt_us(dur_ns, d, sizeof(d));
	fprintf(t->f, ",\"dur\":%s", d);
}

void nt_ct_field_str(struct nt_ctrace *t, const char *key, const char *v)
{
	fprintf(t->f, ",\"%s\":", key);
	nt_json_write_string(t->f, v, strlen(v));
}

void nt_ct_field_u64(struct nt_ctrace *t, const char *key, uint64_t v)
{
	fprintf(t->f, ",\"%s\":%llu", key, (unsigned long long)v);
}

void nt_ct_field_u64_str(struct nt_ctrace *t, const char *key, uint64_t v)
{
	fprintf(t->f, ",\"%s\":\"%llu\"", key, (unsigned long long)v);
}

static void arg_key(struct nt_ctrace *t, const char *key)
{
	fprintf(t->f, "%s\"%s\":", t->nargs < 0 ? ",\"args\":{" : ",", key);
	t->nargs = t->nargs < 0 ? 1 : t->nargs + 1;
}

void nt_ct_arg_strn(struct nt_ctrace *t, const char *key, const char *v, size_t len)
{
	arg_key(t, key);
	nt_json_write_string(t->f, v, len);
}

void nt_ct_arg_u64(struct nt_ctrace *t, const char *key, uint64_t v)
{
	arg_key(t, key);
	fprintf(t->f, "%llu", (unsigned long long)v);
}

void nt_ct_arg_i64(struct nt_ctrace *t, const char *key, int64_t v)
{
	arg_key(t, key);
	fprintf(t->f, "%lld", (long long)v);
}

void nt_ct_event_end(struct nt_ctrace *t)
{
	fputs(t->nargs >= 0 ? "}}" : "}", t->f);
	t->open = false;
	t->nargs = -1;
}

static bool seen(struct nt_ctrace *t, uint32_t pid, uint32_t tid)
{
	for (unsigned i = 0; i < t->nnamed; i++)
		if (t->named[i].pid == pid && t->named[i].tid == tid)
			return true;
	return false;
}

static void metadata(struct nt_ctrace *t, const char *what, uint32_t pid, uint32_t tid,
		     const char *name, size_t len)
{
	nt_ct_event(t, "M", what, "__metadata", pid, tid, 0);
	nt_ct_arg_strn(t, "name", name, len);
	nt_ct_event_end(t);
}

/* Names PID's process (its row, tid 0 in our list) if not done yet, then
 * TID; with /proc's names when READ, else (or when /proc has none) the
 * names given. */
static void name_pair(struct nt_ctrace *t, uint32_t pid, uint32_t tid, bool read,
		      const char *pname, size_t plen, const char *tname, size_t tlen)
{
	char name[64];

	if (seen(t, pid, tid))
		return;
	if (t->nnamed >= NT_CT_MAX_NAMED) {
		t->unnamed++;
		return;
	}
	if (!seen(t, pid, 0)) {
		if (read && t->read_name(pid, 0, name, sizeof(name)))
			metadata(t, "process_name", pid, pid, name, sizeof(name));
		else
			metadata(t, "process_name", pid, pid, pname, plen);
		t->named[t->nnamed++] = (struct nt_ct_thread){ pid, 0 };
		if (t->nnamed >= NT_CT_MAX_NAMED)
			return;
	}
	if (read && t->read_name(pid, tid, name, sizeof(name)))
		metadata(t, "thread_name", pid, tid, name, sizeof(name));
	else
		metadata(t, "thread_name", pid, tid, tname, tlen);
	t->named[t->nnamed++] = (struct nt_ct_thread){ pid, tid };
}

void nt_ct_name_thread(struct nt_ctrace *t, uint32_t pid, uint32_t tid,
		       const char *comm, size_t comm_len)
{
	name_pair(t, pid, tid, true, comm, comm_len, comm, comm_len);
}

void nt_ct_name_as(struct nt_ctrace *t, uint32_t pid, uint32_t tid, const char *pname,
		   size_t plen, const char *tname, size_t tlen)
{
	name_pair(t, pid, tid, false, pname, plen, tname, tlen);
}

void nt_ct_frames_begin(struct nt_ctrace *t)
{
	fputs("\n],\"stackFrames\":{", t->f);
	t->frames = true;
}

void nt_ct_frame(struct nt_ctrace *t, uint64_t id, const char *name, const char *category,
		 uint64_t parent)
{
	fprintf(t->f, "%s\n\"%llu\":{\"name\":", t->any_frame ? "," : "", (unsigned long long)id);
	nt_json_write_string(t->f, name, strlen(name));
	fprintf(t->f, ",\"category\":\"%s\"", category);
	if (parent)
		fprintf(t->f, ",\"parent\":\"%llu\"", (unsigned long long)parent);
	fputc('}', t->f);
	t->any_frame = true;
}

int nt_ct_end(struct nt_ctrace *t, uint64_t lost_events)
{
	fputs(t->frames ? "}," : "\n],", t->f);
	fprintf(t->f, "\"displayTimeUnit\":\"ms\",\"otherData\":{\"clock\":\"CLOCK_MONOTONIC\","
		"\"tool\":\"%s\",\"events\":%llu,\"lost_events\":%llu,"
		"\"threads_not_named\":%llu%s}}\n", t->tool ? t->tool : "nodetap trace",
		(unsigned long long)t->events,
		(unsigned long long)lost_events, (unsigned long long)t->unnamed,
		t->other_extra ? t->other_extra : "");
	fflush(t->f);
	return ferror(t->f) ? -EIO : 0;
}
