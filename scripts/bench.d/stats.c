// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * acceptq-bench-stats: turns on the kernel's BPF run-time statistics
 * (run_time_ns, run_cnt of every program) for as long as it runs, through
 * the fd bpf_enable_stats() returns: the kernel turns them off again when
 * the fd closes, however this process ends. Prints "on" once they are on,
 * then holds the fd until stdin closes, a signal, or MAX_SECONDS.
 */
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
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

int main(int argc, char **argv)
{
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
	printf("on\n");
	fflush(stdout);
	hold_until_told(max);
	close(fd);
	return 0;
}
