// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cgroup id -> path, for every row (its service comes from it): the cgroup
 * v2 tree, walked when a row's cgroup is new (a cgroup's id is its
 * directory's inode number there), at most once per 2 s.
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
#include "internal.h"

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
