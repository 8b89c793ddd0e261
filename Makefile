# nodetap build: bpf/*.bpf.c -> build/*.bpf.o -> build/*.skel.h -> ./nodetap
#
#   make            build ./nodetap (installs missing build packages first)
#   make run        build, then trace the bundled example app (examples/)
#   make test       build, then run the whole test suite (tests/run)
#   make bench      cost benchmarks (bench/run)
#   make vmlinux    regenerate vmlinux/x86/vmlinux.h from this kernel's BTF
#   make fuzz       libFuzzer harnesses of the parsers (tests/fuzz) in build/fuzz/
#   make SANITIZE=1 [all|unit]  ASan+UBSan build in build-san/ (build-san/nodetap,
#                   build-san/unit-tests); ./nodetap and build/ stay as they are
#   make clean

CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
OUT      := build
ARCH     := x86
NODETAP  := nodetap
# SANITIZE=1: everything goes to build-san/, the binary too, so that a
# sanitized build never replaces the normal one (docs/reliability.md).
ifeq ($(SANITIZE),1)
OUT      := build-san
NODETAP  := $(OUT)/nodetap
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all
endif

# Warnings are errors on both sides.
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
            -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes -fno-omit-frame-pointer \
            -Iinclude -I$(OUT) -Iuser
CFLAGS   += $(SAN_FLAGS)
LDLIBS   := -lbpf -lelf -lz -liberty -lmicrohttpd -lpthread
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
            -Iinclude -Ivmlinux/$(ARCH) -Ibpf

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(OUT)/%.bpf.o,$(BPF_SRCS))
SKELS     := $(patsubst bpf/%.bpf.c,$(OUT)/%.skel.h,$(BPF_SRCS))
USER_SRCS := $(wildcard user/*.c)
USER_OBJS := $(patsubst user/%.c,$(OUT)/user/%.o,$(USER_SRCS))
# Everything but main.o, so that unit tests link the real modules.
LIB_OBJS  := $(filter-out $(OUT)/user/main.o,$(USER_OBJS))
UNIT_SRCS := $(wildcard tests/unit/*.c)
HEADERS   := $(wildcard include/*.h user/*.h bpf/*.h)

.PHONY: all deps deps-test run test unit bench vmlinux clean fuzz
# Keep the BPF objects and skeletons: make would delete them as intermediates
# and rebuild everything next time.
.SECONDARY: $(BPF_OBJS) $(SKELS)
all: deps $(NODETAP)

deps:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test

$(NODETAP): $(USER_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(OUT)/%.bpf.o: bpf/%.bpf.c $(HEADERS) vmlinux/$(ARCH)/vmlinux.h | $(OUT)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/%.skel.h: $(OUT)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

# User objects include skeletons; build them all first.
$(OUT)/user/%.o: user/%.c $(HEADERS) $(SKELS) | $(OUT)
	@mkdir -p $(OUT)/user
	$(CC) $(CFLAGS) -c $< -o $@

$(OUT):
	@mkdir -p $(OUT)

$(OUT)/unit-tests: $(UNIT_SRCS) $(LIB_OBJS) tests/unit/check.h
	$(CC) $(CFLAGS) -Itests/unit -o $@ $(UNIT_SRCS) $(LIB_OBJS) $(LDLIBS)

unit: deps $(OUT)/unit-tests

# The demo needs node too: deps-test installs it where it is missing.
run: deps deps-test nodetap
	./examples/run-demo.sh $(ARGS)

test: deps deps-test nodetap $(OUT)/unit-tests
	tests/run

bench: all
	bench/run

# libFuzzer harnesses, clang only, with ASan+UBSan: tests/fuzz/fuzz_NAME.c
# links the modules in FUZZ_MODS_NAME, compiled again with coverage and the
# sanitizers. tests/integration/fuzz_short.sh runs them; docs/reliability.md.
FUZZ_CC     ?= clang
FUZZ_CFLAGS  = $(CFLAGS) -O1 -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_LDLIBS := -lelf -lz -liberty -lmicrohttpd -lpthread
FUZZ_SRCS   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES  := $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRCS))
FUZZ_BINS   := $(patsubst %,$(OUT)/fuzz/fuzz_%,$(FUZZ_NAMES))
FUZZ_MODS_escape    := escape
FUZZ_MODS_json      := json escape
FUZZ_MODS_textparse := textparse
FUZZ_MODS_procmaps  := procmaps textparse
FUZZ_MODS_perfmap   := perfmap procmaps textparse
FUZZ_MODS_kallsyms  := kallsyms
FUZZ_MODS_elfsym    := elfsym uvlocate
FUZZ_MODS_uvlocate  := uvlocate elfsym
FUZZ_MODS_uvloop    := uvloop elfsym procmaps textparse
FUZZ_MODS_promtext  := promtext escape
FUZZ_MODS_monconf   := monconf escape options httpserve promtext

fuzz: deps-test $(FUZZ_BINS)

$(OUT)/fuzz/obj/%.o: user/%.c $(HEADERS)
	@mkdir -p $(OUT)/fuzz/obj
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

# The harness itself without coverage: only the modules steer the fuzzer.
$(OUT)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Itests/fuzz -c $< -o $@.o
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $@.o $(filter %.o,$^) $(FUZZ_LDLIBS)

$(foreach n,$(FUZZ_NAMES),$(eval $(OUT)/fuzz/fuzz_$(n): \
	$(patsubst %,$(OUT)/fuzz/obj/%.o,$(FUZZ_MODS_$(n)))))

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/$(ARCH)/vmlinux.h

clean:
	rm -rf $(OUT) $(NODETAP)
