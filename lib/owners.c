// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * inode -> owner, for listeners older than acceptq: the processes holding
 * the socket, found through /proc/PID/fd.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "internal.h"

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

struct owner *owner_of(struct owner_cache *c, __u32 ino)
{
	for (size_t i = 0; i < c->len; i++)
		if (c->v[i].ino == ino)
			return &c->v[i];
	return NULL;
}

/* Find the processes holding the given socket inodes (at most every 2 s). */
void resolve_owners(struct acq *a, const __u32 *inos, size_t n)
{
	struct owner_cache *c = &a->owners;
	__u64 now = now_ns(CLOCK_MONOTONIC);
	DIR *d, *fdd;
	struct dirent *de, *fe;
	char path[600], link[64];

	if (!n || now - c->last_scan_ns < 2000000000ULL)
		return;
	c->last_scan_ns = now;
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
			__u32 ino = (__u32)strtoul(link + 8, NULL, 10);
			bool wanted = false;
			for (size_t i = 0; i < n && !wanted; i++)
				wanted = inos[i] == ino;
			if (!wanted || owner_of(c, ino))
				continue;
			if (c->len == c->cap) {
				size_t ncap = c->cap ? c->cap * 2 : 64;
				struct owner *nv = realloc(c->v, ncap * sizeof(*nv));
				if (!nv)
					break;
				c->v = nv;
				c->cap = ncap;
			}
			struct owner *o = &c->v[c->len++];
			o->ino = ino;
			o->pid = (__u32)atoi(de->d_name);
			read_comm(o->pid, o->comm);
		}
		if (fdd)
			closedir(fdd);
	}
	if (d)
		closedir(d);
}
