/* cmdsetup: steps of a subcommand's start that are the same whatever its
 * skeleton: loading the object, following COMMAND's forks, opening the ring
 * buffer. Each takes libbpf's own types (a skeleton's ->skeleton, a map, a
 * program), as the skeleton types differ per subcommand, and says what
 * failed as "nodetap CMD: ..." itself. */
#ifndef NODETAP_CMDSETUP_H
#define NODETAP_CMDSETUP_H

#include <bpf/libbpf.h>
#include "options.h"
#include "session.h"

/* Load the object of SKEL (a generated skeleton's ->skeleton, as its
 * __load() does). Returns 0, or NT_EXIT_RUNTIME after saying that loading
 * failed and how to see the verifier's log. */
int nt_load_skeleton(const struct nt_opts *o, struct bpf_object_skeleton *skel);

/* Attach FORK_PROG (the object's nt_fork) so that the children of traced
 * processes are traced too; *LINK gets its link. For the modes that mark
 * node processes themselves; with -p or COMMAND nt_setup_filter does this.
 * Returns 0, or NT_EXIT_RUNTIME after saying why. */
int nt_follow_forks(const struct nt_opts *o, struct bpf_program *fork_prog,
		    struct bpf_link **link);

/* The ring buffer of map EVENTS, read by FN with CTX, as the one the
 * session S polls (s->rb, freed by the caller with ring_buffer__free).
 * Returns 0, or NT_EXIT_RUNTIME after saying why. */
int nt_session_open_events(struct nt_session *s, struct bpf_map *events,
			   ring_buffer_sample_fn fn, void *ctx);

#endif
