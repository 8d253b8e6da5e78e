// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Which rows' counts are estimates. A pure decision over one snapshot's
 * inputs (the rows that moved, each namespace's unsure credits, the
 * observations the kernel skipped): test/c/estimates.c drives it with
 * recorded inputs.
 */
#define _GNU_SOURCE
#include <string.h>
#include "internal.h"

static struct ns_entry *ns_of(struct ns_entry *ns, size_t nns, __u64 cookie)
{
	for (size_t i = 0; i < nns; i++)
		if (ns[i].out.cookie == cookie)
			return &ns[i];
	return NULL;
}

/*
 * bpf/counters.bpf.h says how a credit can go to the wrong listener: a
 * packet handled with softirqs enabled (counted in acq_ns_counts.unsure),
 * or an observation the kernel skipped (recursion_misses, counted for the
 * whole host); the move is then credited at a later observation in the
 * namespace, possibly in the next interval. So any row that moved in a
 * namespace where either happened in this interval or the one before is an
 * estimate, even when it is the only one that moved: its move may be
 * another listener's whose own drop went unseen. Once an estimate, a row's
 * cumulative counts stay one.
 */
void mark_estimates(struct ns_entry *ns, size_t nns, struct row *rows, size_t nrows,
		    __u64 skipped, struct skip_history *h)
{
	__u64 skipped_moved = skipped - h->skipped;
	bool any_skipped = skipped_moved || h->skipped_moved_prev;

	h->skipped = skipped;
	h->skipped_moved_prev = skipped_moved;
	for (size_t i = 0; i < nns; i++)
		ns[i].moved_rows = 0;
	for (size_t i = 0; i < nrows; i++) {
		struct ns_entry *e;
		if (rows[i].moved && (e = ns_of(ns, nns, rows[i].out.netns_cookie)))
			e->moved_rows++;
	}
	for (size_t i = 0; i < nns; i++) {
		struct ns_entry *e = &ns[i];
		__u64 unsure_moved = e->unsure - e->unsure_prev;
		e->out.estimate = e->moved_rows && (unsure_moved || e->unsure_moved_prev || any_skipped);
		e->unsure_moved_prev = unsure_moved;
		e->unsure_prev = e->unsure;
	}
	for (size_t i = 0; i < nrows; i++) {
		struct ns_entry *e;
		if (rows[i].moved && (e = ns_of(ns, nns, rows[i].out.netns_cookie)) && e->out.estimate)
			rows[i].out.flags |= ACQ_ROW_ESTIMATE;
	}
}
