// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Whose a listener is. inode -> owner, for listeners older than acceptq:
 * the processes holding the socket, found by one pass of acq_iter_owners
 * (bpf/owners.bpf.c) over every task's files, or through /proc/PID/fd where
 * the kernel refused that program. (A row's cgroup path: cgroups.c.)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "internal.h"
#include "acceptq.skel.h"

static void read_comm(__u32 pid, char *comm)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	FILE *f = fopen(path, "r");
	memset(comm, 0, ACQ_COMM_LEN);
	if (!f)
		return;
	if (fgets(comm, ACQ_COMM_LEN, f))
		comm[strcspn(comm, "\n")] = 0;
	fclose(f);
}

static int cmp_ino(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/* The owner the last pass found for ino, or NULL. The cache is sorted by inode. */
struct owner *owner_of(struct owner_cache *c, __u32 ino)
{
	return c->len ? bsearch(&ino, c->v, c->len, sizeof(*c->v), cmp_ino) : NULL;
}

/*
 * One pass's search: the inodes looked for, sorted and unique, and the
 * owner found for each so far (pid 0: none yet).
 */
struct search {
	__u32 *inos;
	struct owner *found;
	size_t n;
};

static int search_start(struct search *q, const __u32 *inos, size_t n)
{
	size_t u = 0;

	q->inos = malloc(n * sizeof(*q->inos));
	q->found = calloc(n, sizeof(*q->found));
	if (!q->inos || !q->found) {
		free(q->inos);
		free(q->found);
		return -ENOMEM;
	}
	memcpy(q->inos, inos, n * sizeof(*inos));
	qsort(q->inos, n, sizeof(*q->inos), cmp_ino);
	for (size_t i = 0; i < n; i++)
		if (!u || q->inos[u - 1] != q->inos[i])
			q->inos[u++] = q->inos[i];
	q->n = u;
	return 0;
}

/* The owner slot of ino if it is looked for, else NULL. */
static struct owner *search_slot(struct search *q, __u32 ino)
{
	__u32 *at = bsearch(&ino, q->inos, q->n, sizeof(*q->inos), cmp_ino);

	return at ? &q->found[at - q->inos] : NULL;
}

/* The pass's finds become the cache (in inode order), in place of the last pass's. */
static void search_end(struct owner_cache *c, struct search *q)
{
	c->len = 0;
	for (size_t i = 0; i < q->n; i++) {
		if (!q->found[i].pid || !array_room((void **)&c->v, &c->cap, c->len, sizeof(*c->v), 64))
			continue;
		c->v[c->len] = q->found[i];
		c->v[c->len++].ino = q->inos[i];
	}
	free(q->inos);
	free(q->found);
}

/*
 * The /proc way: the first process /proc lists holding the socket is its
 * owner. /proc lists processes in ascending pid order: the lowest pid.
 */
static void owners_from_proc(struct search *q)
{
	DIR *d, *fdd;
	struct dirent *de, *fe;
	char path[600], link[64];

	d = opendir("/proc");
	while (d && (de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", de->d_name);
		fdd = opendir(path);
		while (fdd && (fe = readdir(fdd))) {
			snprintf(path, sizeof(path), "/proc/%s/fd/%s", de->d_name, fe->d_name);
			ssize_t l = readlink(path, link, sizeof(link) - 1);
			if (l <= 8 || strncmp(link, "socket:[", 8) != 0)
				continue;
			link[l] = 0;
			struct owner *o = search_slot(q, (__u32)strtoul(link + 8, NULL, 10));
			if (!o || o->pid)
				continue;
			o->pid = (__u32)atoi(de->d_name);
			read_comm(o->pid, o->comm);
		}
		if (fdd)
			closedir(fdd);
	}
	if (d)
		closedir(d);
}

/*
 * The iterator way: one read of acq_iter_owners, a record per fd holding a
 * registered socket whose owner is unknown. Of several processes holding
 * one socket the lowest pid is kept, the one the /proc scan would find
 * first. 0, or a negative errno (the caller then scans /proc afresh).
 */
static int owners_from_iter(struct acq *a, struct search *q)
{
	char buf[128 * sizeof(struct acq_owner_rec)];
	int fd = bpf_iter_create(bpf_link__fd(a->skel->links.acq_iter_owners));
	size_t have = 0;
	ssize_t got;
	int e = 0;

	if (fd < 0)
		return -errno;
	for (;;) {
		got = read(fd, buf + have, sizeof(buf) - have);
		/* EAGAIN: a million files without a record in one read; the next goes on */
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got <= 0) {
			e = got < 0 ? -errno : 0;
			break;
		}
		have += (size_t)got;
		size_t whole = have / sizeof(struct acq_owner_rec);
		for (size_t i = 0; i < whole; i++) {
			struct acq_owner_rec r;
			memcpy(&r, buf + i * sizeof(r), sizeof(r));
			struct owner *o = search_slot(q, r.ino);
			if (!o || (o->pid && o->pid <= r.pid))
				continue; /* not looked for, or a lower pid holds it too */
			o->pid = r.pid;
			memcpy(o->comm, r.comm, ACQ_COMM_LEN);
			o->comm[ACQ_COMM_LEN - 1] = 0;
		}
		/* a record cut by the end of a read: its rest comes with the next */
		have -= whole * sizeof(struct acq_owner_rec);
		memmove(buf, buf + whole * sizeof(struct acq_owner_rec), have);
	}
	close(fd);
	if (e) /* a pass cut short may hold a higher pid: /proc decides */
		memset(q->found, 0, q->n * sizeof(*q->found));
	return e;
}

#define OWNERS_EVERY_NS 2000000000ULL     /* at most one pass per 2 s */
#define OWNERS_BACKOFF_MAX_NS 64000000000ULL

/*
 * Find the processes holding the given socket inodes (at most every 2 s):
 * through the iterator where it is attached, else (refused, or its read
 * failed) through /proc. A socket no visible process holds (one passed to
 * another namespace's process, or held only in flight) is looked for
 * again after twice the wait each time, up to 64 s, as long as the inodes
 * looked for stay the same: a pass walks every fd of the host.
 */
void resolve_owners(struct acq *a, const __u32 *inos, size_t n)
{
	struct owner_cache *c = &a->owners;
	__u64 now = now_ns(CLOCK_MONOTONIC), sig = n;

	if (!n)
		return;
	for (size_t i = 0; i < n; i++)
		sig += (inos[i] + 1) * 0x9e3779b97f4a7c15ULL; /* the same whatever their order */
	if (sig != c->wanted_sig) {
		c->wanted_sig = sig;
		c->every_ns = OWNERS_EVERY_NS;
	}
	if (now - c->last_scan_ns < c->every_ns)
		return;
	c->last_scan_ns = now;
	c->every_ns = c->every_ns * 2 < OWNERS_BACKOFF_MAX_NS ? c->every_ns * 2 : OWNERS_BACKOFF_MAX_NS;
	struct search q;
	if (search_start(&q, inos, n))
		return;
	if (!a->skel->links.acq_iter_owners || owners_from_iter(a, &q))
		owners_from_proc(&q);
	search_end(c, &q);
}
