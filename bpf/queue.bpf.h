/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A connection's time in its listener's accept queue: an arrival (the
 * queue grows: arrivals, the peak, the start of the wait) and an accept
 * (the wait ends: its histogram, sum, minimum and maximum). Shared by the
 * hooks that see them: the socket's state changes and the syscall
 * tracepoints (registry.bpf.c, accept_wait.bpf.c), or, where fentry
 * loads, the kernel functions that queue and dequeue the child
 * (listen_fentry.bpf.c).
 */
#ifndef ACCEPTQ_QUEUE_BPF_H
#define ACCEPTQ_QUEUE_BPF_H

#include "counters.bpf.h"

/*
 * A passive child sk sits in its listener's accept queue: count the
 * arrival, sample the peak, and time the child until it is accepted.
 */
static __always_inline void arrival(const struct sock *sk)
{
	struct acq_queued q = { .ts_ns = bpf_ktime_get_ns() };
	struct group_scan scan;
	struct acq_group *g;
	struct acq_counts *c;
	struct acq_bounds *b;
	__u64 skp = (__u64)sk;

	g = group_of_child(sk, &q.key);
	if (!g)
		return;
	c = bpf_map_lookup_elem(&counts, &q.key);
	if (!c) {
		/* a row without counters (none made for it: map_full) misses this one */
		__sync_fetch_and_add(&lost_arrivals, 1);
		return;
	}
	__sync_fetch_and_add(&c->arrivals, 1);
	group_scan(g, &scan);
	if ((b = bounds_of(&q.key)))
		peak_update(b, scan.backlog);
	q.portpair = sk_portpair(sk);
	if (bpf_map_update_elem(&queued, &skp, &q, BPF_ANY))
		__sync_fetch_and_add(&lost_waits, 1);
}

/* floor(log2(us)), capped at the last bucket (0 for 0): five steps, not a loop over the buckets */
static __always_inline __u32 log2_bucket(__u64 us)
{
	__u32 b = 0;

	if (us >> 32)
		return ACQ_WAIT_BUCKETS - 1;
	if (us >> 16) { us >>= 16; b += 16; }
	if (us >> 8) { us >>= 8; b += 8; }
	if (us >> 4) { us >>= 4; b += 4; }
	if (us >> 2) { us >>= 2; b += 2; }
	if (us >> 1)
		b += 1;
	return b < ACQ_WAIT_BUCKETS ? b : ACQ_WAIT_BUCKETS - 1;
}

/* The application took child from the accept queue: its wait, if it was timed. */
static __always_inline int accepted(const struct sock *child)
{
	struct acq_queued *q;
	struct acq_counts *c;
	__u64 skp = (__u64)child, us;
	__u32 gen = peak_gen;

	if (!child)
		return 0;
	q = bpf_map_lookup_elem(&queued, &skp);
	if (!q)
		return 0;
	if (q->portpair != sk_portpair(child)) {
		bpf_map_delete_elem(&queued, &skp);
		return 0; /* another connection at a reused address: not this one's time */
	}
	us = (bpf_ktime_get_ns() - q->ts_ns) / 1000;
	c = bpf_map_lookup_elem(&counts, &q->key);
	if (c) {
		__sync_fetch_and_add(&c->waited, 1);
		__sync_fetch_and_add(&c->wait_sum_us, us);
		__u32 b = log2_bucket(us);
		if (b < ACQ_WAIT_BUCKETS)
			__sync_fetch_and_add(&c->wait_hist[b], 1);
	}
	/* the bounds: this CPU's copy (common.bpf.h's peak_update says why) */
	struct acq_lkey key = q->key;
	struct acq_bounds *bd = c ? bounds_of(&key) : NULL;
	if (bd) {
		__u32 us32 = us > 0xffffffffULL ? 0xffffffff : (__u32)us;
		if (bd->wait_gen != gen) {
			/* the snapshot that started gen may not have read the last one yet */
			bd->wait_prev_gen = bd->wait_gen;
			bd->wait_prev_min_us = bd->wait_min_us;
			bd->wait_prev_max_us = bd->wait_max_us;
			bd->wait_gen = gen;
			bd->wait_min_us = bd->wait_max_us = us32;
		} else {
			if (us32 < bd->wait_min_us)
				bd->wait_min_us = us32;
			if (us32 > bd->wait_max_us)
				bd->wait_max_us = us32;
		}
	}
	bpf_map_delete_elem(&queued, &skp);
	return 0;
}

#endif /* ACCEPTQ_QUEUE_BPF_H */
