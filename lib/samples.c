// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The sample pass: the kernel writes every registered listener's queues to
 * an array mapped here, and the rows are rebuilt from it each tick.
 */
#define _GNU_SOURCE
#include <errno.h>
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
 * Every row rebuilt from this tick's samples: depths, backlogs and waits
 * summed over its sockets, its cgroup, inode and owner (looked up only
 * where the owner's socket is gone). Returns the samples read, or -errno.
 */
int rows_from_samples(struct acq *a)
{
	int e;

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
	return (int)nsamples;
}
