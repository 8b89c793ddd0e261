/* chrome_trace: a writer of the Chrome trace event format (the JSON that
 * Perfetto and chrome://tracing open): {"traceEvents":[...]} with duration
 * ("X"), instant ("i"), flow ("s"/"f"), sample ("P") and metadata ("M")
 * events, and the "stackFrames" that sample events point at. Times are
 * CLOCK_MONOTONIC nanoseconds in, microseconds with three decimals out, so
 * that the file keeps nanosecond resolution on the clock every nodetap
 * record uses. A process or thread is named ("M" process_name and
 * thread_name) the first time one of its events is written. Strings pass
 * through escape.h (json.h's nt_json_write_string). */
#ifndef NODETAP_CHROME_TRACE_H
#define NODETAP_CHROME_TRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define NT_CT_MAX_NAMED 4096     /* threads named at most; more are counted */

struct nt_ct_thread {
	uint32_t pid, tid;
};

struct nt_ctrace {
	FILE *f;
	bool open;                /* inside an event object */
	bool any;                 /* an event was written: the next needs a comma */
	bool frames;              /* "stackFrames" is open (nt_ct_frames_begin) */
	bool any_frame;
	int nargs;                /* fields written into "args" so far, -1: none open */
	uint64_t events;
	struct nt_ct_thread *named;
	unsigned nnamed;
	uint64_t unnamed;         /* threads beyond NT_CT_MAX_NAMED */
	const char *tool;         /* otherData.tool: "nodetap trace" unless set */
	const char *other_extra;  /* more members of otherData, ours, written as
	                             they are (",\"key\":value..."), or NULL */
	/* Reads the name of a process (TID == 0) or thread; returns false when
	 * it cannot (the process is gone). Replaceable for tests. */
	bool (*read_name)(uint32_t pid, uint32_t tid, char *buf, size_t len);
};

/* Start the document on F. Returns 0 or -ENOMEM. */
int nt_ct_begin(struct nt_ctrace *t, FILE *f);
/* Close the array and the document, with OTHER_DATA's fields ("clock" and
 * what nodetap adds). Returns 0 or -EIO when writing failed. */
int nt_ct_end(struct nt_ctrace *t, uint64_t lost_events);
void nt_ct_free(struct nt_ctrace *t);

/* Name PID and TID if not done yet; COMM is the fallback for the thread's
 * name when /proc no longer has it. */
void nt_ct_name_thread(struct nt_ctrace *t, uint32_t pid, uint32_t tid,
		       const char *comm, size_t comm_len);

/* Name PID and TID if not done yet with the names given (raw bytes of the
 * traced side, at most PLEN and TLEN; escaped here), not /proc's: for a
 * writer whose processes may be gone by the time it writes. */
void nt_ct_name_as(struct nt_ctrace *t, uint32_t pid, uint32_t tid, const char *pname,
		   size_t plen, const char *tname, size_t tlen);

/* Start an event: {"ph":PH,"name":NAME,"cat":CAT,"pid":..,"tid":..,"ts":..
 * NAME is escaped. Add fields, then nt_ct_event_end. */
void nt_ct_event(struct nt_ctrace *t, const char *ph, const char *name, const char *cat,
		 uint32_t pid, uint32_t tid, uint64_t ts_ns);
void nt_ct_dur(struct nt_ctrace *t, uint64_t dur_ns);        /* "dur" (X) */
void nt_ct_field_str(struct nt_ctrace *t, const char *key, const char *v);  /* our literal */
void nt_ct_field_u64(struct nt_ctrace *t, const char *key, uint64_t v);
/* Fields of "args": KEY is ours, a string value is escaped (LEN bytes at
 * most). */
void nt_ct_arg_strn(struct nt_ctrace *t, const char *key, const char *v, size_t len);
void nt_ct_arg_u64(struct nt_ctrace *t, const char *key, uint64_t v);
void nt_ct_arg_i64(struct nt_ctrace *t, const char *key, int64_t v);
void nt_ct_event_end(struct nt_ctrace *t);

/* After the last event: close "traceEvents" and open "stackFrames", then
 * one nt_ct_frame per frame: ID (> 0) named NAME (escaped) in CATEGORY
 * (ours), called from PARENT (0: a root). Sample events point at a frame
 * with nt_ct_field_u64_str(t, "sf", id). */
void nt_ct_frames_begin(struct nt_ctrace *t);
void nt_ct_frame(struct nt_ctrace *t, uint64_t id, const char *name, const char *category,
		 uint64_t parent);
/* KEY: the decimal text of V, as a JSON string ("sf":"12"). */
void nt_ct_field_u64_str(struct nt_ctrace *t, const char *key, uint64_t v);

/* "12.345678": NS as microseconds with 3 decimals. */
void nt_ct_fmt_us(uint64_t ns, char *buf, size_t len);

#endif
