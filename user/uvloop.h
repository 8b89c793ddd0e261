/* uvloop: find libuv event loops (uv_loop_t) in running processes, and read
 * what nodetap loop needs from them, without placing any probe.
 *
 * The main loop is libuv's static default_loop_struct: its address comes
 * from that local symbol in .symtab, or, in a stripped libuv (Debian's
 * libuv.so.1), from the code of the exported uv_default_loop, which hands
 * it to uv_loop_init. Where uv_loop_t keeps its clock comes from the code of
 * uv_now (`mov OFF(%rdi),%rax; ret`), and its iteration counter (libuv >=
 * 1.45, node >= 20) from the code of uv_metrics_info. The loop of another
 * thread (a worker_threads Worker keeps its uv_loop_t on its thread's stack)
 * is found on that stack while the thread waits in epoll_wait: the epoll fd
 * in its system call is the loop's backend_fd, and an initialized loop
 * points back at itself. Every address found is checked against the
 * process's memory before it is used. */
#ifndef NODETAP_UVLOOP_H
#define NODETAP_UVLOOP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- reading code (pure: unit-tested on byte strings) -------------------- */

/* uv_now's code: `mov disp(%rdi),%rax; ret` (after an optional endbr64).
 * Returns 0 and the displacement (offsetof(uv_loop_t, time)), or -1. */
int nt_uv_scan_now(const uint8_t *code, size_t len, uint32_t *time_off);

/* uv_metrics_info's code: `mov disp(%rdi),%rdx` (loop->internal_fields),
 * then the first 8 bytes of uv_metrics_t (loop_count) copied to (%rsi):
 * `movdqu d(%rdx),%xmm0; movups %xmm0,(%rsi)` or `mov d(%rdx),%rax; mov
 * %rax,(%rsi)`. Returns 0 with both offsets, or -1. */
int nt_uv_scan_metrics_info(const uint8_t *code, size_t len, uint32_t *fields_off,
			    uint32_t *count_off);

/* uv_metrics_idle_time's code: `mov disp(%rdi),%rbx` (loop->internal_fields),
 * then, after the lock, `mov d(%rbx),%reg` (loop_metrics.provider_idle_time:
 * the idle time summed so far, ns) and `mov d(%rbx),%rbx` (provider_entry_time:
 * when the waiting poll under way began, or 0; tested next with `test
 * %rbx,%rbx`). Returns 0 with the three offsets, or -1. */
int nt_uv_scan_metrics_idle_time(const uint8_t *code, size_t len, uint32_t *fields_off,
				 uint32_t *entry_off, uint32_t *idle_off);

/* uv_default_loop's code (START: its vaddr): the one data address it loads
 * as an immediate (`mov $imm32,%r32`, non-PIE) or with `lea rel32(%rip),%r64`
 * (PIE) for which IN_DATA says yes (a writable, non-executable segment):
 * &default_loop_struct. Returns it, or 0 when there is not exactly one. */
uint64_t nt_uv_scan_default_loop(const uint8_t *code, size_t len, uint64_t start,
				 bool (*in_data)(uint64_t vaddr, void *arg), void *arg);

/* ---- reading process memory -------------------------------------------------- */

/* Is MEM (at least UV_LOOP_MIN_SIZE bytes, copied from ADDR) an initialized
 * uv_loop_t whose clock at TIME_OFF is no later than NOW_MS? Returns 0,
 * -EAGAIN when it is still all zeros (uv_loop_init has not run yet), or
 * -EINVAL when it is something else. */
int nt_uv_check_loop(const uint8_t *mem, size_t len, uint64_t addr, uint32_t time_off,
		     uint64_t now_ms);

/* Scan MEM (a copy of stack memory from BASE upwards) for a uv_loop_t whose
 * backend_fd is EPFD and that passes nt_uv_check_loop. Returns its address
 * (the lowest), or 0. */
uint64_t nt_uv_scan_stack(const uint8_t *mem, size_t len, uint64_t base, int epfd,
			  uint32_t time_off, uint64_t now_ms);

/* Parse /proc/PID/task/TID/syscall: "NR ARG1 .. ARG6 SP PC" while blocked in a
 * system call. Returns 0 with the number, the first argument and the stack
 * pointer, or -1 ("running", or a thread that is not in a system call). */
int nt_uv_parse_syscall(const char *text, long *nr, uint64_t *arg1, uint64_t *sp);

/* epoll_wait, epoll_pwait, epoll_pwait2 on x86_64. */
bool nt_uv_is_epoll_wait(long nr);

/* LEN bytes at ADDR in PID (process_vm_readv). Returns 0 or -errno (-EFAULT
 * for a partial read, -ESRCH for a process that is gone). */
int nt_uv_read_mem(pid_t pid, uint64_t addr, void *buf, size_t len);

/* ---- loops of a process ------------------------------------------------------- */

/* What one file (node, or a libuv.so) tells about its loops. */
struct nt_uv_layout {
	bool libuv;            /* uv_now found: libuv is in this file */
	uint32_t time_off;     /* offsetof(uv_loop_t, time) */
	uint64_t default_loop; /* vaddr of default_loop_struct, or 0 */
	const char *how;       /* "symbol default_loop_struct", "code of uv_default_loop" */
	bool metrics;          /* the iteration counter can be read */
	uint32_t fields_off, count_off;
	bool idle_metrics;     /* where a waiting poll's start, and idle time,
	                          are noted */
	uint32_t idle_fields_off, entry_off, idle_off;
	char why[256];         /* what is missing, when something is */
};

/* The main loop of a process, where to read its clock and its counter. */
struct nt_uv_main {
	uint64_t loop;         /* address of the default loop in the process */
	uint32_t time_off;
	bool metrics;
	uint32_t fields_off, count_off;
	bool idle_metrics;
	uint32_t idle_fields_off, entry_off, idle_off;
	const char *how;
	char file[512];        /* the file libuv is in, as the process sees it */
	char exe[PATH_MAX];    /* the executable looked at (it may exec since) */
};

struct nt_uv_cache;        /* layouts by file (device, inode) */
struct nt_uv_cache *nt_uv_cache_new(void);
void nt_uv_cache_free(struct nt_uv_cache *c);

/* Locate PID's main loop: libuv in its executable or in a libuv*.so it maps,
 * the default loop's address with the load bias applied, checked in the
 * process's memory. Returns 0; -EAGAIN if the loop is not initialized yet,
 * or the process is between an exec and the mapping of its new program (try
 * again later); -ENOENT when the process has no libuv (not a libuv
 * program); another -errno when libuv is there but the loop cannot be found
 * or read. WHY says what happened in each case. */
int nt_uv_find_main(struct nt_uv_cache *c, pid_t pid, struct nt_uv_main *out,
		    char *why, size_t whylen);

/* The loop's iteration counter (uv_metrics_t.loop_count), or -errno. */
int nt_uv_read_count(pid_t pid, uint64_t loop, uint32_t fields_off, uint32_t count_off,
		     uint64_t *count);

/* Look for the loop of thread TID of PID, if it waits in epoll_wait now.
 * Returns 0 with its address; -EAGAIN if the thread is not waiting in
 * epoll_wait now (running, or waiting on something else); -ENOENT if it is,
 * but no loop with that backend fd is on its stack, or if it waits on
 * KNOWN_EPFD (a fd the caller already looked for: pass -1 for none). *epfd
 * says which fd it waits on. -ESRCH: the thread is gone. */
int nt_uv_find_thread_loop(pid_t pid, pid_t tid, uint32_t time_off, int known_epfd,
			   uint64_t *loop, int *epfd);

#endif
