// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Whose a listener is. inode -> owner, for listeners older than acceptq:
 * the processes holding the socket, found by one pass of acq_iter_owners
 * (bpf/owners.bpf.c) over every task's files, or through /proc/PID/fd where
 * the kernel refused that program. cgroup id -> path, for every row: the
 * cgroup v2 tree, walked when a row's cgroup is new (a cgroup's id is its
 * directory's inode number there).
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

/* ---- cgroup id -> path ---- */

#define CG_WALK_EVERY_NS 2000000000ULL  /* at most one walk of the tree per 2 s */
#define CG_MAX_MISSES 3         /* a cgroup removed since: stop looking for it */
#define CG_MAX_DEPTH 32

/* "\040" and the like in a mountinfo field, in place. */
static void unescape_octal(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = 0;
}

/*
 * Where the cgroup v2 hierarchy is mounted (/sys/fs/cgroup, or
 * /sys/fs/cgroup/unified beside v1 controllers) and which of its cgroups
 * is the mount's root ("/" unless a subtree is mounted). 0 if found.
 */
static int cgroup2_mount(char *mnt, size_t mntlen, char *root, size_t rootlen)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	int found = -1;

	while (f && found && getline(&line, &cap, f) > 0) {
		/* id parent major:minor root mountpoint options [optional...] - fstype source superoptions */
		char *sep = strstr(line, " - ");
		char r[4096], m[4096], fstype[64];
		if (!sep || sscanf(line, "%*s %*s %*s %4095s %4095s", r, m) != 2 || sscanf(sep + 3, "%63s", fstype) != 1)
			continue;
		if (strcmp(fstype, "cgroup2") != 0)
			continue;
		unescape_octal(r);
		unescape_octal(m);
		if (strlen(m) >= mntlen || strlen(r) >= rootlen)
			continue;
		strcpy(mnt, m);
		strcpy(root, strcmp(r, "/") == 0 ? "" : r);
		found = 0;
	}
	free(line);
	if (f)
		fclose(f);
	return found;
}

struct cg_want {
	__u64 id;
	char path[ACQ_CGROUP_LEN];
};

static int cmp_want(const void *a, const void *b)
{
	__u64 x = ((const struct cg_want *)a)->id, y = ((const struct cg_want *)b)->id;

	return x < y ? -1 : x > y;
}

/* The path into a row's field: a longer one keeps its last components, after ".../". */
static void put_path(char *out, const char *path)
{
	size_t n = strlen(path);

	if (n < ACQ_CGROUP_LEN) {
		memcpy(out, path, n + 1);
		return;
	}
	const char *tail = path + n - (ACQ_CGROUP_LEN - 5);
	const char *slash = strchr(tail, '/');
	snprintf(out, ACQ_CGROUP_LEN, "...%s", slash ? slash : tail - 1);
}

struct cg_walk {
	struct cg_want *want;
	size_t n, left;
	char path[4096];
};

static void cg_found(struct cg_walk *w, __u64 id)
{
	struct cg_want key = { .id = id }, *hit = bsearch(&key, w->want, w->n, sizeof(*w->want), cmp_want);

	if (hit && !hit->path[0]) {
		put_path(hit->path, w->path[0] ? w->path : "/");
		w->left--;
	}
}

/* Every directory under dirfd, depth first; w->path is dirfd's path. Closes dirfd. */
static void cg_walk_dir(struct cg_walk *w, int dirfd, int depth)
{
	DIR *d = fdopendir(dirfd);
	struct dirent *de;
	size_t len = strlen(w->path);

	if (!d) {
		close(dirfd);
		return;
	}
	while (w->left && (de = readdir(d))) {
		if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (len + 1 + strlen(de->d_name) >= sizeof(w->path))
			continue;
		snprintf(w->path + len, sizeof(w->path) - len, "/%s", de->d_name);
		/* kernfs gives each directory's inode number in readdir: no stat per cgroup */
		cg_found(w, de->d_ino);
		if (depth < CG_MAX_DEPTH) {
			int fd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
			if (fd >= 0)
				cg_walk_dir(w, fd, depth + 1);
		}
		w->path[len] = 0;
	}
	closedir(d);
}

/*
 * The path of every row whose cgroup is new: one walk of the cgroup v2
 * tree for all of them, at most every CG_WALK_EVERY_NS. A cgroup made since
 * is found by the next walk; one removed since (its sockets outlive it) is
 * given up after CG_MAX_MISSES walks.
 */
void resolve_cgroups(struct acq *a)
{
	__u64 now = now_ns(CLOCK_MONOTONIC);
	struct cg_walk w = {};
	char mnt[4096];
	size_t n = 0;

	if (a->cgroup_walk_ns && now - a->cgroup_walk_ns < CG_WALK_EVERY_NS)
		return;
	for (size_t i = 0; i < a->rows.len; i++) {
		struct row *r = &a->rows.v[i];
		n += r->out.cgroup_id && !r->out.cgroup[0] && r->cgroup_misses < CG_MAX_MISSES;
	}
	if (!n)
		return;
	a->cgroup_walk_ns = now;
	if (cgroup2_mount(mnt, sizeof(mnt), w.path, sizeof(w.path)))
		return; /* no cgroup v2: rows keep "" (and their cgroup_id) */
	w.want = calloc(n, sizeof(*w.want));
	if (!w.want)
		return;
	for (size_t i = 0; i < a->rows.len; i++) {
		struct row *r = &a->rows.v[i];
		if (r->out.cgroup_id && !r->out.cgroup[0] && r->cgroup_misses < CG_MAX_MISSES)
			w.want[w.n++].id = r->out.cgroup_id;
	}
	qsort(w.want, w.n, sizeof(*w.want), cmp_want);
	size_t u = 0;
	for (size_t i = 0; i < w.n; i++)
		if (!u || w.want[u - 1].id != w.want[i].id)
			w.want[u++] = w.want[i];
	w.n = w.left = u;
	int fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) == 0)
		cg_found(&w, st.st_ino);
	if (fd >= 0)
		cg_walk_dir(&w, fd, 0);
	for (size_t i = 0; i < a->rows.len; i++) {
		struct row *r = &a->rows.v[i];
		if (!r->out.cgroup_id || r->out.cgroup[0] || r->cgroup_misses >= CG_MAX_MISSES)
			continue;
		struct cg_want key = { .id = r->out.cgroup_id }, *hit = bsearch(&key, w.want, w.n, sizeof(*w.want), cmp_want);
		if (hit && hit->path[0])
			memcpy(r->out.cgroup, hit->path, ACQ_CGROUP_LEN);
		else
			r->cgroup_misses++;
	}
	free(w.want);
}
