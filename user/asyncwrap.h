/* asyncwrap: what `nodetap callbacks` needs to know about one node binary,
 * read from the binary's own code and data instead of assumed per major:
 *
 *  - where AsyncWrap keeps provider_type_. node::AsyncWrap::MemoryInfoName()
 *    is `return provider_names[provider_type()];`: its code loads the field
 *    (movslq OFF(%rdi)) and indexes the node::provider_names table with it,
 *    which also gives the table's address. EmitTraceEventBefore() starts
 *    with a switch on the same field, bounded by the number of providers
 *    (cmpl $N-1, OFF(%rdi)). Both must decode and agree, else the offset is
 *    not proven and callbacks are classified by their native caller;
 *  - the provider names by number, read from node::provider_names (their
 *    order differs between majors: TCPWRAP is 36 on v20 and 40 on v22);
 *  - the functions nodetap probes, and facts about how they call each other
 *    (every MakeCallback(Local<Name>) overload must enter the
 *    Local<Function> one; a probed function must not call another). */
#ifndef NODETAP_ASYNCWRAP_H
#define NODETAP_ASYNCWRAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "elfsym.h"

/* The functions of the probe plan (see bpf/callbacks.bpf.c). */
enum nt_aw_func {
	NT_AW_MAKECALLBACK_FN = 0,  /* node::AsyncWrap::MakeCallback(Local<Function>, ...) */
	NT_AW_RUNTIMERS,            /* node::Environment::RunTimers */
	NT_AW_NODE_MAKECALLBACK,    /* node::MakeCallback(..., Local<Function>, ..., async_context) */
	NT_AW_INTERNAL_ISOLATE,     /* node::InternalMakeCallback(v8::Isolate*, ...) (v22+) */
	NT_AW_CHECK_IMMEDIATE,      /* node::Environment::CheckImmediate (not probed) */
	NT_AW_FUNCS,
};

extern const char *const nt_aw_func_pattern[NT_AW_FUNCS];

struct nt_aw_fn {
	bool found;
	uint64_t vaddr, size;
};

struct nt_aw_info {
	int provider_off;         /* proven offset of provider_type_, or 0 */
	char why[256];            /* why not proven (provider_off == 0) */
	uint64_t table;           /* node::provider_names (vaddr), when decoded */
	char **names;             /* provider names by number, or NULL */
	int nnames;
	struct nt_aw_fn fn[NT_AW_FUNCS];
	int name_overloads;       /* MakeCallback(Local<Name>) entry points */
	int name_unreached;       /* ... that do not call or jump into the
	                             Local<Function> overload */
	bool internal_reached;    /* InternalMakeCallback(Isolate*) is called by
	                             another probed function: probing it too
	                             would count those callbacks twice */
};

/* Read the facts from E (opened from PATH). Never fails as a whole: what
 * cannot be read is left unset, with the reason in why. Returns 0 or
 * -ENOMEM. */
int nt_aw_analyze(const char *path, const struct nt_elf *e, struct nt_aw_info *out);
void nt_aw_free(struct nt_aw_info *a);

/* The decoders, exposed for tests. CODE holds a function's first LEN bytes,
 * which start at vaddr START. */

/* MemoryInfoName(): `movslq OFF(%rdi),%rax` then `mov TABLE(,%rax,8),%rax`
 * (non-PIE) or `lea TABLE(%rip),%reg` and `mov (%reg,%rax,8),%rax` (PIE, the
 * lea before or after the movslq). Returns 0 with *off and *table, or -1. */
int nt_aw_decode_info_name(const uint8_t *code, size_t len, uint64_t start,
			   uint32_t *off, uint64_t *table);
/* EmitTraceEventBefore(): `cmpl $MAX, OFF(%rdi)` in its first instructions.
 * Returns 0 with *off and *max, or -1. */
int nt_aw_decode_trace_before(const uint8_t *code, size_t len, uint32_t *off, uint32_t *max);
/* Does CODE call or jump (rel32) to TARGET? */
bool nt_aw_code_reaches(const uint8_t *code, size_t len, uint64_t start, uint64_t target);
/* A provider name as node writes them: [A-Z0-9_], 1 to 63 bytes. */
bool nt_aw_valid_name(const char *s);

#endif
