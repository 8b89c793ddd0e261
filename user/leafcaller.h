/* leafcaller: the caller that a frame-pointer stack walk skips.
 *
 * A sampled stack names each frame by the return address its callee saved
 * below the frame pointer. When the sample lands in a function that has not
 * set up its own frame (V8's builtins, called from JavaScript, often never
 * do), the return address into its caller is at the top of the stack and
 * not in the chain: the walk goes from the builtin straight to the caller's
 * caller, and the JavaScript function that was running is lost (its time is
 * credited to whoever called it). The sampler also takes the word at the
 * stack pointer; this module decides whether it is that lost return address.
 */
#ifndef NODETAP_LEAFCALLER_H
#define NODETAP_LEAFCALLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "symbolize.h"

/* Do the LEN bytes at CODE (those right before a return address) end with
 * an x86-64 call instruction: `call rel32`, or `call r/m64` in any of its
 * forms (register, memory with or without SIB, disp8/disp32, RIP-relative,
 * with a REX prefix)? */
bool nt_ends_with_call(const uint8_t *code, size_t len);

/* If TOP_WORD, the word at PID's user stack pointer at a sample, is a return
 * address into a JavaScript function (named by the perf map) right after a
 * call instruction, and is not NEXT_ADDR (the walk's own next frame), name
 * that function in *OUT and return true: it is the frame the walk skipped.
 * Reads the call instruction from PID's memory; false when it cannot. */
bool nt_leaf_caller(struct nt_symbolizer *s, pid_t pid, uint64_t top_word, uint64_t next_addr,
		    struct nt_frame *out);

#endif
