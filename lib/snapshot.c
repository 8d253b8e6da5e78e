// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A snapshot: sample every listener, read the counters, mark estimates,
 * retire expired rows and gone namespaces, copy out.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "internal.h"
#include "acceptq.skel.h"

/* A row's cgroup: its path is looked up again when it changes. */
static void set_cgroup(struct row *r, __u64 id)
{
	if (!id || id == r->out.cgroup_id)
		return;
	r->out.cgroup_id = id;
	r->out.cgroup[0] = 0;
	r->cgroup_misses = 0;
}

/*
 * The row's owner from socket s: the process that called listen() on it
 * (the kernel side saw it), else for a socket older than acceptq one that
 * holds it (the last owner pass). Returns true if neither knows yet: the
 * row's owner is then unknown until an owner pass finds s->ino.
 */
static bool take_owner(struct acq *a, struct row *r, const struct acq_sample *s, int sfd)
{
	struct acq_sock sk;
	struct owner *o;

	r->owner_sk = s->sk;
	r->owner_ino = s->ino;
	if (bpf_map_lookup_elem(sfd, &s->sk, &sk) == 0 && sk.pid) {
		r->owner_now = true;
		r->out.pid = sk.pid;
		memcpy(r->out.comm, sk.comm, ACQ_COMM_LEN);
		/* where the socket's own cgroup cannot be read: the one of the task that called listen() */
		if (!r->out.cgroup_id)
			set_cgroup(r, sk.cgroup_id);
		return false;
	}
	if ((o = owner_of(&a->owners, s->ino))) {
		r->owner_now = true;
		r->out.pid = o->pid;
		memcpy(r->out.comm, o->comm, ACQ_COMM_LEN);
		return false;
	}
	r->out.pid = 0;
	memset(r->out.comm, 0, ACQ_COMM_LEN);
	return true;
}

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

static int apply_counts(struct acq *a, const struct acq_lkey *k, const struct acq_counts *c,
			__u64 boot_to_unix_ns)
{
	struct row *r = rows_find(&a->rows, k, true);

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
	r->out.first_overflow_ms = c->first_overflow_ns ? (c->first_overflow_ns + boot_to_unix_ns) / 1000000 : 0;
	r->out.last_overflow_ms = c->last_overflow_ns ? (c->last_overflow_ns + boot_to_unix_ns) / 1000000 : 0;
	/* a row with no socket sampled: its accepts come from these counters alone */
	if (!r->live) {
		r->arrivals_sampled = c->arrivals;
		r->closed_queued = c->closed_queued;
		r->closed_registered = c->closed_registered;
	}
	return 0;
}

#define BATCH 4096

static int read_counts(struct acq *a)
{
	int fd = bpf_map__fd(a->skel->maps.counts);
	__u64 off = now_ns(CLOCK_REALTIME) - now_ns(CLOCK_BOOTTIME);
	static struct acq_lkey keys[BATCH];
	static struct acq_counts vals[BATCH];
	__u32 in = 0, out = 0;
	bool first = true;
	int e;

	/* batched: one syscall per 4096 rows (tick time at 10,000 listeners) */
	for (;;) {
		__u32 n = BATCH;
		e = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys, vals, &n, NULL);
		int err = e ? -errno : 0;
		for (__u32 i = 0; i < n; i++)
			if ((e = apply_counts(a, &keys[i], &vals[i], off)))
				return e;
		if (err == -ENOENT)
			return 0; /* done */
		if (err == -EINVAL || err == -EOPNOTSUPP || err == -524 /* ENOTSUPP */)
			break;  /* no batch support: walk key by key */
		if (err)
			return err;
		in = out;
		first = false;
	}
	struct acq_lkey k, next, *prev = NULL;
	struct acq_counts c;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &c) == 0 && (e = apply_counts(a, &k, &c, off)))
			return e;
	}
	return 0;
}

/*
 * Observations the kernel did not run: a tracing program that fires again
 * on a CPU while it is already running there (a softirq over a process's
 * own drop) is skipped and counted in the program's recursion_misses. The
 * counter moves it saw are then credited at the next observation.
 */
static __u64 skipped_observations(struct acq *a)
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

/*
 * Map at least the first n samples of the kernel's array. A BPF array is
 * mapped with every page present, so the whole array (max_listeners
 * samples, 5.6 MB by default) would count in RSS from the start: map what
 * the samples fill, doubling, and move the mapping when they outgrow it.
 */
int map_samples(struct acq *a, __u32 n)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t full = ((size_t)bpf_map__max_entries(a->skel->maps.samples) * sizeof(struct acq_sample) +
		       page - 1) / page * page;
	size_t want = (size_t)n * sizeof(struct acq_sample), len = a->samples_map_len;
	void *m;

	if (a->samples_map && want <= len)
		return 0;
	if (!len)
		len = 16 * page;
	while (len < want)
		len *= 2;
	if (len > full)
		len = full;
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, bpf_map__fd(a->skel->maps.samples), 0);
	if (m == MAP_FAILED)
		return -errno;
	if (a->samples_map)
		munmap((void *)a->samples_map, a->samples_map_len);
	a->samples_map = m;
	a->samples_map_len = len;
	return 0;
}

/*
 * The sample pass: the program run once (bpf_for_each_map_elem, 5.13+), or
 * the registry's iterator read through (before).
 */
static int sample_registry(struct acq *a)
{
	if (a->sample_iter) {
		char buf[4096];
		ssize_t n;
		int fd;

		a->skel->bss->samples_len = 0;
		if ((fd = bpf_iter_create(bpf_link__fd(a->sample_iter))) < 0)
			return -errno;
		while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
			;
		close(fd);
		return n < 0 ? -errno : 0;
	}
	LIBBPF_OPTS(bpf_test_run_opts, run);
	if (bpf_prog_test_run_opts(bpf_program__fd(a->skel->progs.acq_sample_all), &run))
		return -errno;
	return 0;
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
static void count_accepts(struct acq *a)
{
	for (size_t i = 0; i < a->rows.len; i++) {
		struct row *r = &a->rows.v[i];
		__s64 taken = (__s64)(r->arrivals_sampled + r->registered_backlog + r->closed_registered) -
			      (__s64)((__u64)r->out.backlog + r->closed_queued);
		if (taken > (__s64)r->out.accepts)
			r->out.accepts = (__u64)taken;
	}
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
	/* every registered listener of every namespace, in one pass over the registry, read in place */
	if ((e = sample_registry(a)))
		return e;
	__u32 nsamples = a->skel->bss->samples_len;
	if (nsamples > bpf_map__max_entries(a->skel->maps.samples))
		nsamples = bpf_map__max_entries(a->skel->maps.samples);
	if ((e = map_samples(a, nsamples)))
		return e;

	/* start every row from zero depth; samples add the live sockets */
	for (size_t i = 0; i < a->rows.len; i++) {
		struct row *r = &a->rows.v[i];
		r->live = false;
		r->moved = false;
		r->out.sockets = r->out.backlog = r->out.max_backlog = 0;
		r->out.syn_backlog = r->out.peak_backlog = 0;
		r->out.requested_backlog = r->out.oldest_wait_us = 0;
		r->out.requested_known = 0;
		r->out.wait_min_us = r->out.wait_max_us = 0;
		r->registered_backlog = 0;
		r->owner_now = false;
	}
	__u64 mono = now_ns(CLOCK_MONOTONIC);
	int sfd = bpf_map__fd(a->skel->maps.socks);
	__u32 *unknown = NULL;
	size_t nunknown = 0, unknown_cap = 0;
	for (__u32 i = 0; i < nsamples; i++) {
		const struct acq_sample *s = &a->samples_map[i];
		struct row *r = rows_find(&a->rows, &s->key, true);
		if (!r)
			return -ENOMEM;
		r->live = true;
		r->out.closed_ms = 0;
		r->out.sockets++;
		r->out.backlog += s->backlog;
		r->out.max_backlog += s->max_backlog;
		r->out.syn_backlog += s->syn_backlog;
		r->out.uid = s->uid;
		r->out.requested_backlog += s->requested_backlog;
		/* known if every socket's is: a partial sum is no figure */
		r->out.requested_known = (r->out.sockets == 1 || r->out.requested_known) && s->requested_seen;
		r->registered_backlog += s->registered_backlog;
		if (s->oldest_ns && s->oldest_ns < mono && (mono - s->oldest_ns) / 1000 > r->out.oldest_wait_us)
			r->out.oldest_wait_us = (mono - s->oldest_ns) / 1000 > 0xffffffffULL
						? 0xffffffff : (__u32)((mono - s->oldest_ns) / 1000);
		/* the row's counter, read beside this socket's depth (every member reads the same) */
		if (s->arrivals > r->arrivals_sampled)
			r->arrivals_sampled = s->arrivals;
		if (s->closed_queued > r->closed_queued)
			r->closed_queued = s->closed_queued;
		if (s->closed_registered > r->closed_registered)
			r->closed_registered = s->closed_registered;
		r->out.peak_backlog = r->out.backlog > r->out.peak_backlog ? r->out.backlog
									 : r->out.peak_backlog;
		/* the service is its first socket's (a SO_REUSEPORT group has one, as a rule) */
		if (r->out.sockets == 1)
			set_cgroup(r, s->cgroup_id);
		/* a group's lowest inode: the same socket every tick, whatever the order of the pass */
		if (r->out.sockets == 1 || (s->ino && s->ino < r->out.inode))
			r->out.inode = s->ino;
		if (r->out.pid && s->sk == r->owner_sk && s->ino == r->owner_ino)
			r->owner_now = true;
	}
	/* rows whose owner's socket is gone (or never known): the owner of a socket sampled now */
	for (__u32 i = 0; i < nsamples; i++) {
		const struct acq_sample *s = &a->samples_map[i];
		struct row *r = rows_find(&a->rows, &s->key, false);
		if (r && !r->owner_now && take_owner(a, r, s, sfd) && s->ino &&
		    array_room((void **)&unknown, &unknown_cap, nunknown, sizeof(*unknown), 64))
			unknown[nunknown++] = s->ino;
	}
	resolve_owners(a, unknown, nunknown);
	free(unknown);
	resolve_cgroups(a);

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
	a->stats.sockets = nsamples;
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
