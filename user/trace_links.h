/* trace_links: the arrows of `nodetap trace` from a lookup or a connect to
 * the callback into JavaScript that handled it. Both ends carry node's
 * AsyncWrap address (the uv_req_t's data pointer at the lookup or connect;
 * MakeCallback's `this` at the callback). In trace's one ring buffer the
 * source comes first (its record is made before the callback returns), but
 * either end waits here for the other, in a small table by (pid, wrap)
 * where the newest takes the slot. node reuses a wrap's address for the
 * next request as soon as the callback returned, so a callback matches a
 * source only if it started at or after it. */
#ifndef NODETAP_TRACE_LINKS_H
#define NODETAP_TRACE_LINKS_H

#include <stdbool.h>
#include <stdint.h>

#define NT_TL_SLOTS 4096   /* a power of two */

/* One end of an arrow. */
struct nt_tl_end {
	uint64_t key;           /* 0: an empty slot */
	uint64_t wrap;
	uint64_t start_ns;      /* of the lookup, connect or callback */
	uint64_t at_ns;         /* where the arrow's end binds (inside the slice) */
	uint32_t pid, tid;
	int what;               /* the caller's tag of a source (lookup, connect) */
};

struct nt_tlinks {
	struct nt_tl_end src[NT_TL_SLOTS];   /* sources waiting for their callback */
	struct nt_tl_end cb[NT_TL_SLOTS];    /* callbacks waiting for their source */
};

/* A lookup or connect E (key ignored) was written. Returns true with the
 * callback in *CB when it arrived already; else E waits. */
bool nt_tl_source(struct nt_tlinks *l, const struct nt_tl_end *e, struct nt_tl_end *cb);
/* A callback E was written. Returns true with its source in *SRC when that
 * arrived already; else E waits. */
bool nt_tl_callback(struct nt_tlinks *l, const struct nt_tl_end *e, struct nt_tl_end *src);

#endif
