// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * acceptq-bench-stats: turns on the kernel's BPF run-time statistics
 * (run_time_ns, run_cnt of every program) for as long as it runs, through
 * the fd bpf_enable_stats() returns: the kernel turns them off again when
 * the fd closes, however this process ends. Prints "on" once they are on,
 * then holds the fd until stdin closes, a signal, or MAX_SECONDS.
 *
 * With --floor it also attaches an empty tp_btf program to
 * inet_sock_set_state and prints "on <its program id>": what the
 * statistics give a program that does nothing (their own clock reads, on
 * this machine) is then measured under the same load as the real ones.
 */
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

#define PROG "acceptq-bench-stats"
#include "../lab/netlab.h"

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* An empty program on the tracepoint every connection passes most; its id, or -1. */
static int attach_floor(void)
{
	struct bpf_insn ret0[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	struct btf *vmlinux = btf__load_vmlinux_btf();
	int id = vmlinux ? btf__find_by_name_kind(vmlinux, "btf_trace_inet_sock_set_state", BTF_KIND_TYPEDEF) : -1;

	btf__free(vmlinux);
	if (id < 0)
		return -1;
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = BPF_TRACE_RAW_TP, .attach_btf_id = (__u32)id);
	int prog = bpf_prog_load(BPF_PROG_TYPE_TRACING, "acq_floor", "GPL", ret0, 2, &o);
	if (prog < 0 || bpf_raw_tracepoint_open(NULL, prog) < 0) /* the link lives as long as this process */
		return -1;
	if (bpf_obj_get_info_by_fd(prog, &info, &len))
		return -1;
	return (int)info.id;
}

int main(int argc, char **argv)
{
	bool floor = argc > 1 && !strcmp(argv[1], "--floor");
	if (floor) {
		argc--;
		argv++;
	}
	int max = argc > 1 ? atoi(argv[1]) : 900;

	if (max <= 0 || max > 3600)
		max = 900;
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	alarm(max + 5);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGHUP, on_signal);
	int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (fd < 0) {
		fprintf(stderr, "acceptq-bench-stats: bpf_enable_stats: %s\n", strerror(-fd > 0 ? -fd : errno));
		return 1;
	}
	if (floor) {
		int id = attach_floor();
		if (id < 0) {
			fprintf(stderr, "acceptq-bench-stats: cannot attach the empty program: %s\n", strerror(errno));
			return 1;
		}
		printf("on %d\n", id);
	} else {
		printf("on\n");
	}
	fflush(stdout);
	hold_until_told(max);
	close(fd);
	return 0;
}
