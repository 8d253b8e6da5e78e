// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The counters the kernel keeps per row, read in batches each tick; the
 * accepts worked out from them; the observations the kernel skipped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "internal.h"
#include "acceptq.skel.h"

struct counts_ctx {
	struct acq *a;
	__u64 boot_to_unix_ns;
};

static int apply_counts(const void *key, const void *value, void *ctx)
{
	const struct counts_ctx *x = ctx;
	const struct acq_counts *c = value;
	struct row *r = rows_find(&x->a->rows, key, true);

	if (!r)
		return -ENOMEM;
	r->moved = c->overflows_syn != r->out.overflows_syn || c->overflows_ack != r->out.overflows_ack ||
		   c->syn_drops != r->out.syn_drops || c->cookies != r->out.cookies;
	r->out.overflows_syn = c->overflows_syn;
	r->out.overflows_ack = c->overflows_ack;
	r->out.syn_drops = c->syn_drops;
	r->out.cookies = c->cookies;
	r->out.arrivals = c->arrivals;
	r->out.waited = c->waited;
	r->out.wait_sum_us = c->wait_sum_us;
	memcpy(r->out.wait_hist, c->wait_hist, sizeof(r->out.wait_hist));
	r->out.first_overflow_ms = c->first_overflow_ns ? (c->first_overflow_ns + x->boot_to_unix_ns) / 1000000 : 0;
	r->out.last_overflow_ms = c->last_overflow_ns ? (c->last_overflow_ns + x->boot_to_unix_ns) / 1000000 : 0;
	/* a row with no socket sampled: its accepts come from these counters alone */
	if (!r->live) {
		r->arrivals_sampled = c->arrivals;
		r->closed_queued = c->closed_queued;
		r->closed_registered = c->closed_registered;
	}
	return 0;
}

/* one syscall per 4096 rows (tick time at 10,000 listeners) */
#define BATCH 4096

int read_counts(struct acq *a)
{
	struct map_walk *w = &a->counts_walk;
	int e;
	struct counts_ctx x = { a, now_ns(CLOCK_REALTIME) - now_ns(CLOCK_BOOTTIME) };

	if ((e = map_walk_alloc(w, sizeof(struct acq_lkey), sizeof(struct acq_counts), BATCH)))
		return e;
	return map_walk(bpf_map__fd(a->skel->maps.counts), w, apply_counts, &x);
}

/*
 * Observations the kernel did not run: a tracing program that fires again
 * on a CPU while it is already running there (a softirq over a process's
 * own drop) is skipped and counted in the program's recursion_misses. The
 * counter moves it saw are then credited at the next observation.
 */
__u64 skipped_observations(struct acq *a)
{
	struct bpf_program *progs[] = { a->skel->progs.acq_tp_consume_skb, a->skel->progs.acq_tp_kfree_skb };
	__u64 n = 0;

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(progs[i]);
		if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len))
			n += info.recursion_misses;
	}
	return n;
}

/*
 * Accepts are not counted where they happen (io_uring passes no syscall):
 * every connection that arrived and is no longer queued was taken, unless
 * it was still queued when its socket closed (reset with the queue: the
 * kernel reads it at the close, registry.bpf.c). So a row's accepts are
 * its arrivals (counted since its sockets were registered) plus the queues
 * they had when registered, minus its live queues now and the closed
 * sockets' queues at close, all read in the same pass over the registry.
 * Counted from the start each time, a skew between the reads corrects
 * itself; the figure never goes back.
 */
void count_accepts(struct acq *a)
{
	for (size_t i = 0; i < a->rows.len; i++) {
		struct row *r = &a->rows.v[i];
		__s64 taken = (__s64)(r->arrivals_sampled + r->registered_backlog + r->closed_registered) -
			      (__s64)((__u64)r->out.backlog + r->closed_queued);
		if (taken > (__s64)r->out.accepts)
			r->out.accepts = (__u64)taken;
	}
}

