// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Network namespaces: found through /proc and /run/netns, then joined one by
 * one with setns() to read their counters and register older listeners.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "internal.h"
#include "acceptq.skel.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

static struct ns_entry *ns_find(struct ns_list *l, __u32 ino, bool create)
{
	for (size_t i = 0; i < l->len; i++)
		if (l->v[i].out.netns == ino)
			return &l->v[i];
	if (!create)
		return NULL;
	if (!array_room((void **)&l->v, &l->cap, l->len, sizeof(*l->v), 16))
		return NULL;
	struct ns_entry *e = &l->v[l->len++];
	memset(e, 0, sizeof(*e));
	e->out.netns = ino;
	e->out.somaxconn = e->out.max_syn_backlog = ACQ_UNKNOWN;
	e->out.syncookies = e->out.abort_on_overflow = ACQ_UNKNOWN;
	return e;
}

struct ns_entry *ns_by_cookie(struct ns_list *l, __u64 cookie)
{
	for (size_t i = 0; i < l->len; i++)
		if (l->v[i].out.cookie == cookie)
			return &l->v[i];
	return NULL;
}

/* A number from a file; ACQ_UNKNOWN if it cannot be read or is not one (0 would pass for a value). */
static __u32 read_sysctl(const char *path)
{
	char buf[32], *end;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	unsigned long v;

	if (fd < 0)
		return ACQ_UNKNOWN;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return ACQ_UNKNOWN;
	buf[n] = 0;
	errno = 0;
	v = strtoul(buf, &end, 10);
	if (end == buf || errno || v >= ACQ_UNKNOWN)
		return ACQ_UNKNOWN;
	return (__u32)v;
}

static void read_netstat(FILE *f, struct acq_netns *o)
{
	char names[8192], vals[8192];

	while (fgets(names, sizeof(names), f) && fgets(vals, sizeof(vals), f)) {
		if (strncmp(names, "TcpExt:", 7) != 0)
			continue;
		char *sn, *sv;
		char *n = strtok_r(names + 7, " \n", &sn);
		char *v = strtok_r(vals + 7, " \n", &sv);
		while (n && v) {
			__u64 x = strtoull(v, NULL, 10);
			if (!strcmp(n, "ListenOverflows"))
				o->listen_overflows = x;
			else if (!strcmp(n, "ListenDrops"))
				o->listen_drops = x;
			else if (!strcmp(n, "SyncookiesSent"))
				o->syncookies_sent = x;
			else if (!strcmp(n, "TCPReqQFullDrop"))
				o->reqqfull_drop = x;
			else if (!strcmp(n, "TCPReqQFullDoCookies"))
				o->reqqfull_cookies = x;
			n = strtok_r(NULL, " \n", &sn);
			v = strtok_r(NULL, " \n", &sv);
		}
	}
}

/* Run the TCP iterator over this thread's namespace: it registers what the registry lacks. */
/*
 * The id the kernel side knows the current namespace by (bpf/common.bpf.h
 * ns_id): its cookie, or where the kernel cannot say it (before 5.14) its
 * inode number with the top bit set. 0 if neither can be had.
 */
__u64 netns_id(__u32 inode)
{
	__u64 cookie = 0;
	socklen_t len = sizeof(cookie);
	int s;

	if (netns_cookie_missing())
		return inode ? inode | (1ULL << 63) : 0;
	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return 0;
	if (getsockopt(s, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len))
		cookie = 0;
	close(s);
	return cookie;
}

/* Before 5.14 there is no SO_NETNS_COOKIE (asked once). */
bool netns_cookie_missing(void)
{
	static int missing = -1;

	if (missing < 0) {
		__u64 cookie = 0;
		socklen_t len = sizeof(cookie);
		int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

		missing = s >= 0 && getsockopt(s, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) &&
			  errno == ENOPROTOOPT;
		if (s >= 0)
			close(s);
	}
	return missing;
}

/* 0, or -errno if the walk could not be made (then it is made again next tick). */
static int register_older_listeners(struct acq *a)
{
	char buf[4096];
	ssize_t n;
	int fd = bpf_iter_create(bpf_link__fd(a->skel->links.acq_iter_listen));

	if (fd < 0)
		return -errno;
	/* the walk happens as the iterator is read; it writes nothing */
	while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		;
	n = n < 0 ? -errno : 0;
	close(fd);
	return (int)n;
}

/* Inside one namespace (this thread has joined it): listeners, then counters. */
static void walk_current_ns(struct acq *a, struct ns_entry *e)
{
	__u64 cookie = netns_id(e->out.netns);
	int err;

	/* without its id nothing read here can be matched with what the kernel side credited */
	if (!cookie) {
		ns_problem(&a->problems, e->path, "SO_NETNS_COOKIE", errno ? errno : EIO);
		return;
	}
	/*
	 * A namespace seen for the first time: register the listeners older
	 * than acceptq (the TCP iterator adds those the registry lacks), so
	 * that what follows is counted against a complete registry. From then
	 * on listen() and close() keep the registry current by themselves,
	 * unless the registry was full: then every namespace is walked again
	 * (at the tick after, once the sample pass has pruned what it could).
	 */
	if (!e->walked || cookie != e->walked_cookie || a->rewalk) {
		if ((err = register_older_listeners(a))) {
			ns_problem(&a->problems, e->path, "walking its listeners", -err);
		} else {
			e->walked = true;
			e->walked_cookie = cookie;
		}
	}

	/* net sysctls are the namespace of the thread that opens them: this one's */
	e->out.somaxconn = read_sysctl("/proc/sys/net/core/somaxconn");
	e->out.max_syn_backlog = read_sysctl("/proc/sys/net/ipv4/tcp_max_syn_backlog");
	e->out.syncookies = read_sysctl("/proc/sys/net/ipv4/tcp_syncookies");
	e->out.abort_on_overflow = read_sysctl("/proc/sys/net/ipv4/tcp_abort_on_overflow");

	/* the kernel's counters and what acceptq attributed here, back to back */
	FILE *f = fopen("/proc/thread-self/net/netstat", "re");
	if (!f) {
		ns_problem(&a->problems, e->path, "reading its TcpExt counters", errno);
		return;
	}
	read_netstat(f, &e->out);
	fclose(f);
	struct acq_ns_counts nc = {};
	bpf_map_lookup_elem(bpf_map__fd(a->skel->maps.ns_counts), &cookie, &nc);
	e->out.attributed = nc.overflows;
	e->out.attributed_syn_drops = nc.syn_drops;
	e->out.attributed_cookies = nc.cookies;
	e->out.unmatched = nc.unmatched;
	e->unsure = nc.unsure;

	if (a->baselining || e->need_baseline) {
		/* right after attaching (or the first read of a namespace there then): the zero point of every delta */
		e->need_baseline = false;
		e->out.start_attributed = nc.overflows;
		e->out.start_attributed_syn_drops = nc.syn_drops;
		e->out.start_attributed_cookies = nc.cookies;
		e->out.start_unmatched = nc.unmatched;
		e->out.start_listen_overflows = e->out.listen_overflows;
		e->out.start_listen_drops = e->out.listen_drops;
		e->out.start_syncookies_sent = e->out.syncookies_sent;
		e->out.start_reqqfull_drop = e->out.reqqfull_drop;
	} else if (e->out.cookie && cookie != e->out.cookie) {
		/* the inode number was reused by a new namespace: it started at zero */
		e->out.start_attributed = e->out.start_listen_overflows = e->out.start_listen_drops = 0;
		e->out.start_syncookies_sent = e->out.start_reqqfull_drop = 0;
		e->out.start_attributed_syn_drops = e->out.start_attributed_cookies = 0;
		e->out.start_unmatched = 0;
		e->unsure_prev = e->unsure_moved_prev = 0;
	}
	e->out.cookie = cookie;
}

void *ns_worker(void *arg)
{
	struct acq *a = arg;

	/* setns() here changes only this thread's namespace, not the caller's */
	for (size_t i = 0; i < a->ns.len; i++) {
		struct ns_entry *e = &a->ns.v[i];
		if (!e->seen)
			continue;
		/* a namespace that cannot be entered keeps its last figures and is tried again next tick */
		int fd = open(e->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			ns_problem(&a->problems, e->path, "open", errno);
			continue;
		}
		if (setns(fd, CLONE_NEWNET) == 0)
			walk_current_ns(a, e);
		else
			ns_problem(&a->problems, e->path, "setns", errno);
		close(fd);
	}
	return NULL;
}

static __u32 ns_inode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (__u32)st.st_ino : 0;
}

/* Every network namespace with a process in it, and the bind-mounted ones. */
void scan_namespaces(struct acq *a)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	char path[64];

	/* without the list, every namespace would look gone: keep the last one */
	if (!d) {
		scan_problem(&a->problems, "/proc", errno);
		return;
	}
	for (size_t i = 0; i < a->ns.len; i++) {
		a->ns.v[i].seen = false;
		a->ns.v[i].out.pid = 0;
	}
	while (d && (de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%.20s/ns/net", de->d_name);
		__u32 ino = ns_inode_of(path);
		if (!ino)
			continue;
		struct ns_entry *e = ns_find(&a->ns, ino, true);
		if (!e || e->seen)
			continue;
		e->seen = true;
		e->need_baseline |= a->baselining;
		e->out.pid = (__u32)atoi(de->d_name);
		snprintf(e->path, sizeof(e->path), "%s", path);
	}
	closedir(d);
	d = opendir("/run/netns");
	if (!d && errno != ENOENT)
		scan_problem(&a->problems, "/run/netns", errno);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/run/netns/%.40s", de->d_name);
		__u32 ino = ns_inode_of(path);
		struct ns_entry *e = ino ? ns_find(&a->ns, ino, true) : NULL;
		if (!e || e->seen)
			continue;
		e->seen = true;
		e->need_baseline |= a->baselining;
		snprintf(e->path, sizeof(e->path), "%s", path);
	}
	if (d)
		closedir(d);
	for (size_t i = 0; i < a->ns.len; i++)
		a->ns.v[i].out.gone = !a->ns.v[i].seen;
}
