/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Inside libacceptq: the handle, the tables it keeps between snapshots, and
 * what one file of lib/ calls in another. None of it is exported (the
 * functions are hidden); libacceptq.h is the ABI.
 */
#ifndef ACQ_INTERNAL_H
#define ACQ_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <time.h>
#include "libacceptq.h"

struct acceptq_bpf;
struct ring_buffer;
struct bpf_link;

/* ---- rows kept between snapshots (owner, closed time): rows.c ---- */

struct row {
	struct acq_listener out;
	bool live;              /* a socket was seen in this snapshot */
	bool moved;             /* its counts moved since the previous snapshot */
	__u64 arrivals_sampled; /* the row's arrivals as read in this snapshot's pass */
	__u64 closed_queued;    /* and its closed sockets' queues at close, read with them */
	__u64 closed_registered;
	__u64 registered_backlog;       /* its live sockets' queues when registered, summed */
	__u8 cgroup_misses;     /* walks of the cgroup tree that did not find out.cgroup_id */
	/* the socket out.pid/comm were taken from: the owner stays while it is sampled */
	__u64 owner_sk;
	__u32 owner_ino;
	bool owner_now;         /* that socket was sampled in this snapshot */
};

struct row_table {
	struct row *v;          /* len rows, room for cap */
	size_t len, cap;
	__u32 *index;           /* index_cap slots: a row's place + 1, 0 = empty */
	size_t index_cap;
};

/* ---- network namespaces: netns.c ---- */

struct ns_entry {
	struct acq_netns out;
	char path[320];         /* /proc/PID/ns/net or /run/netns/NAME */
	bool seen;              /* found in this snapshot's scan */
	bool walked;            /* its TCP sockets were walked once, */
	__u64 walked_cookie;    /* in the namespace of this cookie */
	bool need_baseline;     /* it was there at open but could not be read then */
	__u64 unsure, unsure_prev;      /* acq_ns_counts.unsure now and at the previous snapshot */
	__u64 unsure_moved_prev;        /* how much it moved in the previous interval */
	__u32 moved_rows;       /* rows whose counts moved in this interval */
};

struct ns_list {
	struct ns_entry *v;
	size_t len, cap;
};

/* ---- inode -> owner, for listeners older than acceptq: owners.c ---- */

struct owner {
	__u32 ino, pid;
	char comm[ACQ_COMM_LEN];
};

/* What the last pass found, in inode order: the next tick gives it to the rows. */
struct owner_cache {
	struct owner *v;
	size_t len, cap;
	__u64 last_scan_ns;
	__u64 wanted_sig;       /* the inodes the last pass looked for, summed */
	__u64 every_ns;         /* the wait between passes for the same inodes */
};

/* ---- kernel symbols: ksyms.c ---- */

/*
 * Offsets of per-CPU variables in a CPU's per-CPU area, from the kernel's
 * BTF (.data..percpu). 0 if not there.
 */
struct percpu_var {
	const char *name;
	volatile const __u64 *offset;
};

/* Start and end of a kernel function, from /proc/kallsyms. */
struct ksym_range {
	const char *name;
	__u64 start, end;
};

/* ---- what a snapshot could not read: notice.c ---- */

struct tick_problems {
	unsigned namespaces;    /* namespaces it could not enter or read */
	char first[384];        /* the first of them: path, what failed, why */
	char scan[256];         /* listing the namespaces failed: what, why */
};

/* ---- estimates: estimates.c ---- */

struct skip_history {
	__u64 skipped;          /* observations the kernel skipped, at the last snapshot */
	__u64 skipped_moved_prev;       /* how many it skipped in the previous interval */
};

/* ---- the handle ---- */

/* mapwalk.c: every entry of a hash map; visit() sees each key and value (a
 * per-CPU map's value: a copy per possible CPU, each rounded up to 8 bytes);
 * a non-zero return stops the walk and is returned. keys and vals hold
 * batch entries (batch >= 2). */
struct map_walk {
	void *keys, *vals;
	__u32 key_size, value_size, batch;
};
typedef int (*map_visit)(const void *key, const void *value, void *ctx);
int map_walk(int fd, struct map_walk *w, map_visit visit, void *ctx);
/* Its batches, once (a walk that has them keeps them); -ENOMEM without memory. */
int map_walk_alloc(struct map_walk *w, __u32 key_size, __u32 value_size, __u32 batch);
void map_walk_free(struct map_walk *w);

struct acq {
	struct acceptq_bpf *skel;
	struct ring_buffer *rb;
	enum acq_probe probe;
	__u32 retain_closed_s;
	struct row_table rows;
	struct ns_list ns;
	struct owner_cache owners;
	struct acq_stats stats;
	char notice[1024];      /* what this run cannot see, and why: fixed at open */
	struct tick_problems problems;  /* what the last snapshot could not read */
	char notice_now[1800];  /* both, as acq_notice() gives them */
	bool baselining;        /* the walk right after attaching */
	bool rewalk;            /* walk every namespace's listeners again (the registry was full) */
	__u64 map_full_seen;    /* map_full when the namespaces were last walked */
	struct skip_history skips;      /* observations the kernel skipped (recursion) */
	__u64 cgroup_walk_ns;   /* when the cgroup tree was last walked (CLOCK_MONOTONIC) */
	__u64 trim_ns;          /* when malloc's free pages were last handed back (CLOCK_MONOTONIC) */
	/* per-snapshot scratch */
	struct bpf_link *sample_iter;   /* the registry's iterator, where it samples (before 5.13) */
	const struct acq_sample *samples_map; /* the kernel's array, mapped read-only */
	size_t samples_map_len;        /* bytes of it mapped: grown to what the samples fill */
	struct map_walk counts_walk;   /* the counts' and the bounds' batches, allocated at the first tick */
	struct map_walk bounds_walk;
	/* drain target */
	struct acq_event *drain_out;
	__u32 drain_max, drain_n;
};

/* ---- small helpers ---- */

static inline __u64 now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * Room for one more element in a growable array *v of *cap elements, len
 * used: doubled (from first) when full. false without memory (*v intact).
 */
static inline bool array_room(void **v, size_t *cap, size_t len, size_t elem, size_t first)
{
	size_t ncap;
	void *nv;

	if (len < *cap)
		return true;
	ncap = *cap ? *cap * 2 : first;
	if (!(nv = realloc(*v, ncap * elem)))
		return false;
	*v = nv;
	*cap = ncap;
	return true;
}

#pragma GCC visibility push(hidden)

/* log.c */
int log_to(const char *path);
size_t log_mark(void);
void log_since(size_t mark, char *buf, size_t len);
void refused_program(size_t mark, char *prog, char *why, size_t whylen);
int fail(int *code, char *err, size_t errlen, int c, const char *fmt, ...);

/* rows.c */
struct row *rows_find(struct row_table *t, const struct acq_lkey *k, bool create);
void rows_prune(struct row_table *t, bool (*drop)(struct row *, void *), void *ctx);
void rows_free(struct row_table *t);

/* netns.c */
struct ns_entry *ns_by_cookie(struct ns_list *l, __u64 cookie);
void scan_namespaces(struct acq *a);
void *ns_worker(void *arg);
__u64 netns_id(__u32 inode);
bool netns_cookie_missing(void);

/* owners.c, cgroups.c */
struct owner *owner_of(struct owner_cache *c, __u32 ino);
void resolve_owners(struct acq *a, const __u32 *inos, size_t n);
void resolve_cgroups(struct acq *a);

/* ksyms.c */
struct btf;
void percpu_offsets(const struct btf *btf, struct percpu_var *vars, size_t n);
int kallsyms_ranges(struct ksym_range *r, size_t n);
bool listed(const char *list, const char *name);
__u64 btf_member_offset(const struct btf *btf, const char *type, const char *member);
long long btf_enum_value(const struct btf *btf, const char *name);
int btf_func_args(const struct btf *btf, const char *fn);
/* BPF helpers of the running kernel that decide which programs load */
struct kernel_has {
	bool for_each_map_elem;         /* 5.13 */
	bool sock_from_file;            /* 5.11 */
	bool kfree_skb_rx_sk;           /* 6.11: the kfree_skb tracepoint names the socket */
};
struct kernel_has kernel_features(const struct btf *btf);

/* notice.c */
void tick_problems_reset(struct tick_problems *p);
void ns_problem(struct tick_problems *p, const char *path, const char *what, int err);
void scan_problem(struct tick_problems *p, const char *what, int err);
void compose_notice(struct acq *a);

/* estimates.c */
void mark_estimates(struct ns_entry *ns, size_t nns, struct row *rows, size_t nrows,
		    __u64 skipped, struct skip_history *h);

/* samples.c */
int map_samples(struct acq *a, __u32 n);
int rows_from_samples(struct acq *a);

/* counts.c */
int read_counts(struct acq *a);
__u64 skipped_observations(struct acq *a);
void count_accepts(struct acq *a);

/* bounds.c: merge every CPU's bounds of generation gen into the rows (bounds.c). */
int read_bounds(struct acq *a, __u32 gen);

/* load.c */
extern const char *probe_names[];
int try_probe_set(struct acq *a, const struct acq_open_opts *o, enum acq_probe set,
		  char *err, size_t errlen);

#pragma GCC visibility pop

#endif /* ACQ_INTERNAL_H */
