#include <bpf/bpf.h>
#include <limits.h>
#include <string.h>
#include "escape.h"
#include "nodetap.h"
#include "stackfmt.h"

const char *nt_frame_kind_name(enum nt_frame_kind k)
{
	switch (k) {
	case NT_FRAME_NATIVE: return "native";
	case NT_FRAME_JS: return "js";
	case NT_FRAME_KERNEL: return "kernel";
	case NT_FRAME_UNNAMED: return "unnamed";
	default: return "unknown";
	}
}

bool nt_frame_is_app(const struct nt_frame *f)
{
	const char *file;

	if (f->kind != NT_FRAME_JS || !f->name)
		return false;
	/* "fn /srv/app.js:10:3" or "fn file:///srv/app.mjs:1:1" */
	file = strstr(f->name, " /");
	if (!file)
		file = strstr(f->name, " file://");
	return file && !strstr(file, "/node_modules/");
}

int nt_stack_read(int fd, int stack_id, unsigned long long *ips)
{
	int n = 0;

	if (stack_id < 0 || bpf_map_lookup_elem(fd, &stack_id, ips))
		return 0;
	while (n < NT_MAX_STACK_DEPTH && ips[n])
		n++;
	return n;
}

void nt_stack_print(FILE *f, struct nt_symbolizer *sym, int stacks_fd, pid_t pid,
		    int stack_id, const char *indent)
{
	__u64 ips[NT_MAX_STACK_DEPTH];
	int n = nt_stack_read(stacks_fd, stack_id, ips);

	if (!n) {
		fprintf(f, "%s[stack not recorded]\n", indent);
		return;
	}
	for (int i = 0; i < n; i++) {
		struct nt_frame fr;
		const char *mod;

		nt_symbolize_user(sym, pid, ips[i], &fr);
		fprintf(f, "%s%s", indent, nt_frame_is_app(&fr) ? "=> " : "   ");
		nt_fputs_escaped(f, fr.name, PATH_MAX);
		if (fr.kind == NT_FRAME_JS) {
			fputs(fr.js_optimized ? " [js*]\n" : " [js]\n", f);
			continue;
		}
		mod = fr.module ? strrchr(fr.module, '/') : NULL;
		mod = mod ? mod + 1 : (fr.module ? fr.module : "?");
		if (fr.kind == NT_FRAME_NATIVE) {
			fputs(" [", f);
			nt_fputs_escaped(f, mod, PATH_MAX);
			fputs("]\n", f);
		} else {
			fputc('\n', f);
		}
	}
}

void nt_stack_json(struct nt_json *j, struct nt_symbolizer *sym, int stacks_fd,
		   pid_t pid, int stack_id)
{
	__u64 ips[NT_MAX_STACK_DEPTH];
	int n = nt_stack_read(stacks_fd, stack_id, ips);

	nt_json_arr(j, "frames");
	for (int i = 0; i < n; i++) {
		struct nt_frame fr;
		char addr[24];

		nt_symbolize_user(sym, pid, ips[i], &fr);
		snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)ips[i]);
		nt_json_obj(j, NULL);
		nt_json_str(j, "addr", addr);
		nt_json_str(j, "kind", nt_frame_kind_name(fr.kind));
		nt_json_str(j, "name", fr.name ? fr.name : "[unknown]");
		if (fr.module)
			nt_json_str(j, "module", fr.module);
		if (fr.kind == NT_FRAME_JS) {
			nt_json_bool(j, "optimized", fr.js_optimized);
			nt_json_bool(j, "app", nt_frame_is_app(&fr));
		}
		nt_json_obj_end(j);
	}
	nt_json_arr_end(j);
}
