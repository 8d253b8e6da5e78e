// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A snapshot: sample every listener (samples.c), read the counters
 * (counts.c, bounds.c), mark estimates (estimates.c), retire expired rows
 * and gone namespaces, copy out.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "internal.h"
#include "acceptq.skel.h"

static bool drop_expired(struct row *r, void *ctx)
{
	struct acq *a = ctx;
	__u64 now_ms = now_ns(CLOCK_REALTIME) / 1000000ULL;

	if (r->live || !r->out.closed_ms)
		return false;
	if (now_ms - r->out.closed_ms < (__u64)a->retain_closed_s * 1000)
		return false;
	struct acq_lkey k;
	struct acq_group g;
	memcpy(&k, &r->out, sizeof(k));
	/* a socket that listened on the same key since this snapshot's sample keeps the row */
	if (bpf_map_lookup_elem(bpf_map__fd(a->skel->maps.groups), &k, &g) == 0 && g.members)
		return false;
	bpf_map_delete_elem(bpf_map__fd(a->skel->maps.counts), &k);
	bpf_map_delete_elem(bpf_map__fd(a->skel->maps.bounds), &k);
	bpf_map_delete_elem(bpf_map__fd(a->skel->maps.groups), &k);
	return true;
}

/*
 * A namespace no longer reachable and without rows: forget it, here and in
 * the kernel maps (its cookie is never used again).
 */
static void prune_namespaces(struct acq *a)
{
	size_t keep = 0;

	for (size_t i = 0; i < a->ns.len; i++) {
		struct ns_entry *e = &a->ns.v[i];
		bool has_rows = !e->out.gone;
		for (size_t j = 0; j < a->rows.len && !has_rows; j++)
			has_rows = a->rows.v[j].out.netns_cookie == e->out.cookie;
		if (e->out.gone && !has_rows) {
			if (e->out.cookie) {
				bpf_map_delete_elem(bpf_map__fd(a->skel->maps.ns_counts), &e->out.cookie);
				struct cpu_mib_key k = { .ns = e->out.cookie };
				for (k.cpu = 0; k.cpu < a->skel->rodata->nr_cpus; k.cpu++)
					bpf_map_delete_elem(bpf_map__fd(a->skel->maps.cpu_mib), &k);
			}
			continue;
		}
		a->ns.v[keep++] = *e;
	}
	a->ns.len = keep;
}

int acq_snapshot(void *h, struct acq_listener *rows, __u32 max_rows,
		 struct acq_netns *ns, __u32 max_ns, struct acq_stats *stats)
{
	struct acq *a = h;
	__u64 t0 = now_ns(CLOCK_MONOTONIC);
	pthread_t th;
	int e;

	if (!a)
		return -EINVAL;
	/* the interval's generation (peak depth, shortest and longest wait) */
	__u32 old_gen = a->skel->bss->peak_gen;

	/* a listener refused by a full registry: look for it again */
	__u64 map_full = a->skel->bss->map_full;
	a->rewalk = map_full != a->map_full_seen;
	a->map_full_seen = map_full;
	tick_problems_reset(&a->problems);
	scan_namespaces(a);
	if ((e = pthread_create(&th, NULL, ns_worker, a)))
		return -e;
	pthread_join(th, NULL);
	compose_notice(a);
	int nsamples = rows_from_samples(a);
	if (nsamples < 0)
		return nsamples;

	/*
	 * The next interval starts before the counters are read: a peak or a
	 * wait the kernel records from here on is the next interval's, and
	 * the ending one's bounds are kept aside for this read (acq_bounds).
	 */
	a->skel->bss->peak_gen = old_gen + 1;
	if ((e = read_counts(a)) || (e = read_bounds(a, old_gen)))
		return e;
	count_accepts(a);
	mark_estimates(a->ns.v, a->ns.len, a->rows.v, a->rows.len, skipped_observations(a), &a->skips);
	prune_namespaces(a);
	__u64 now_ms = now_ns(CLOCK_REALTIME) / 1000000ULL;
	for (size_t i = 0; i < a->rows.len; i++) {
		struct row *r = &a->rows.v[i];
		if (!r->live && !r->out.closed_ms)
			r->out.closed_ms = now_ms;
	}
	/* rebuilding the table costs a pass over every row: only when one expired */
	for (size_t i = 0; i < a->rows.len; i++) {
		struct row *r = &a->rows.v[i];
		if (!r->live && r->out.closed_ms &&
		    now_ms - r->out.closed_ms >= (__u64)a->retain_closed_s * 1000) {
			rows_prune(&a->rows, drop_expired, a);
			break;
		}
	}

	/*
	 * Every 10 s, the free pages of every malloc arena handed back: glibc
	 * keeps what was freed mapped, and unless MALLOC_ARENA_MAX=1 (as the
	 * launchers set it) gives threads arenas of their own (V8's and
	 * libuv's helpers, the namespace worker above). A trim costs well
	 * under 1 ms.
	 */
	if (now_ns(CLOCK_MONOTONIC) - a->trim_ns >= 10000000000ULL) {
		malloc_trim(0);
		a->trim_ns = now_ns(CLOCK_MONOTONIC);
	}

	a->stats.lost_events = a->skel->bss->lost_events;
	a->stats.suppressed_events = a->skel->bss->suppressed_events;
	a->stats.map_full = a->skel->bss->map_full;
	a->stats.lost_arrivals = a->skel->bss->lost_arrivals;
	a->stats.lost_waits = a->skel->bss->lost_waits;
	a->stats.lost_listens = a->skel->bss->lost_listens;
	a->stats.probe = a->probe;
	a->stats.rows = (__u32)a->rows.len;
	a->stats.sockets = (__u32)nsamples;
	a->stats.namespaces = (__u32)a->ns.len;
	a->stats.snapshot_ns = now_ns(CLOCK_MONOTONIC) - t0;
	if (stats)
		*stats = a->stats;
	return acq_copy(a, rows, max_rows, ns, max_ns);
}

int acq_copy(void *h, struct acq_listener *rows, __u32 max_rows,
	     struct acq_netns *ns, __u32 max_ns)
{
	struct acq *a = h;
	__u32 n = 0;

	if (!a)
		return -EINVAL;
	for (size_t i = 0; i < a->rows.len && n < max_rows; i++)
		rows[n++] = a->rows.v[i].out;
	for (size_t i = 0; i < a->ns.len && i < max_ns; i++)
		ns[i] = a->ns.v[i].out;
	return (int)n;
}
