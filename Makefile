# Builds the BPF object and its skeleton, the helper library, the lab tool
# and the benchmark's load generator and statistics switch.
# `make` is incremental: a second run with nothing changed does nothing.
OUT := build
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= cc
ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/;s/ppc64le/powerpc/;s/s390x/s390/')
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUT)/%.bpf.o,$(BPF_SRCS))
BPF_HDRS := $(wildcard bpf/*.h)
LIB_SRCS := $(wildcard lib/*.c)
LIB_OBJS := $(patsubst lib/%.c,$(OUT)/lib/%.o,$(LIB_SRCS))
LIB_HDRS := $(wildcard lib/*.h) bpf/acceptq.h $(OUT)/acceptq.skel.h
CFLAGS := -O2 -g -Wall -Wextra -Wno-unused-parameter -fPIC

.PHONY: all clean
all: $(OUT)/libacceptq.so $(OUT)/acceptq-lab $(OUT)/acceptq-lab-static $(OUT)/acceptq-bench-load \
	$(OUT)/acceptq-bench-stats $(OUT)/test-estimates

$(OUT):
	mkdir -p $@

# The kernel's types come from the vmlinux.h kept in bpf/vmlinux/ per
# architecture (as bcc's libbpf-tools keeps them), not from the build host's
# kernel: the object is the same wherever it is built, and CO-RE relocates it
# to the running kernel's BTF at load time. Members and enum values that come
# and go between kernels are read through bpf_core_*_exists() checks.
# scripts/vmlinux regenerates a header from a kernel's BTF.
VMLINUX_H := bpf/vmlinux/$(ARCH)/vmlinux.h

$(OUT)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) $(VMLINUX_H) | $(OUT)
	$(CLANG) -g -O2 -Wall -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) \
	-Ibpf/vmlinux/$(ARCH) -Ibpf -c $< -o $@

$(OUT)/acceptq.bpf.o: $(BPF_OBJS)
	$(BPFTOOL) gen object $@.tmp $^ && mv $@.tmp $@

$(OUT)/acceptq.skel.h: $(OUT)/acceptq.bpf.o
	$(BPFTOOL) gen skeleton $< name acceptq_bpf > $@.tmp && mv $@.tmp $@

# The helper library: one object per lib/*.c, each rebuilt when a header it
# may include changes (lib/*.h, bpf/acceptq.h, the skeleton).
$(OUT)/lib:
	mkdir -p $@

$(OUT)/lib/%.o: lib/%.c $(LIB_HDRS) | $(OUT)/lib
	$(CC) $(CFLAGS) -I$(OUT) -Ibpf -Ilib -c $< -o $@

$(OUT)/libacceptq.so: $(LIB_OBJS)
	$(CC) $(CFLAGS) -shared $^ -o $@ -lbpf -lelf -lz -lpthread

# The release bundle's library (scripts/release): the same objects, finding
# the libbpf.so.1 shipped beside it ($ORIGIN) before the system's. libbpf is
# not linked in statically: Debian's libbpf.a is not position-independent.
$(OUT)/release:
	mkdir -p $@

$(OUT)/release/libacceptq.so: $(LIB_OBJS) | $(OUT)/release
	$(CC) $(CFLAGS) -shared $^ -o $@ -Wl,-rpath,'$$ORIGIN' -lbpf -lelf -lz -lpthread

$(OUT)/acceptq-lab: $(wildcard scripts/lab/*.c) $(wildcard scripts/lab/*.h) | $(OUT)
	$(CC) $(CFLAGS) $(filter %.c,$^) -o $@ -lpthread

# The same, linked statically: it stages overflows on the bare Debian roots of
# the install checks, whatever their C library (scripts/kernels.d/install).
$(OUT)/acceptq-lab-static: $(wildcard scripts/lab/*.c) $(wildcard scripts/lab/*.h) | $(OUT)
	$(CC) $(CFLAGS) -static $(filter %.c,$^) -o $@ -lpthread

$(OUT)/acceptq-bench-load: scripts/bench.d/load.c scripts/lab/netlab.h | $(OUT)
	$(CC) $(CFLAGS) $< -o $@ -lpthread

$(OUT)/acceptq-bench-stats: scripts/bench.d/stats.c scripts/lab/netlab.h | $(OUT)
	$(CC) $(CFLAGS) $< -o $@ -lbpf

# The unit test of the estimate rule (test/estimates.test.ts runs it): the
# library's own object, no kernel.
$(OUT)/test-estimates: test/c/estimates.c $(OUT)/lib/estimates.o $(LIB_HDRS) | $(OUT)
	$(CC) $(CFLAGS) -I$(OUT) -Ibpf -Ilib $< $(OUT)/lib/estimates.o -o $@

clean:
	rm -rf $(OUT)
