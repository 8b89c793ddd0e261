/* stackfmt: read a stack from a BPF stack map, name its frames and print them
 * as text or JSON. Shared by every subcommand that records stacks. */
#ifndef NODETAP_STACKFMT_H
#define NODETAP_STACKFMT_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include "json.h"
#include "symbolize.h"

/* Print the frames of user stack STACK_ID of PID, innermost first, one per
 * line after INDENT, the application's own frames marked "=>". A stack id
 * < 0 prints why it is missing. */
void nt_stack_print(FILE *f, struct nt_symbolizer *sym, int stacks_fd, pid_t pid,
		    int stack_id, const char *indent);
/* JSON: "frames":[{"addr":..,"kind":..,"name":..,"module":..}...] */
void nt_stack_json(struct nt_json *j, struct nt_symbolizer *sym, int stacks_fd,
		   pid_t pid, int stack_id);
/* The frames of STACK_ID in stack map FD into IPS (NT_MAX_STACK_DEPTH of
 * them), innermost first; returns their number, 0 when the stack is gone. */
int nt_stack_read(int fd, int stack_id, unsigned long long *ips);
const char *nt_frame_kind_name(enum nt_frame_kind k);
/* The application's own code: a JavaScript frame in a file that is neither
 * node's (node:...) nor a dependency's (.../node_modules/...). */
bool nt_frame_is_app(const struct nt_frame *f);

#endif
