/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libacceptq: the helper library between the BPF programs and a front end.
 *
 * ABI version 5 (3 added acq_listener.cgroup, 4 acq_open_opts.max_listeners,
 * 5 ACQ_UNKNOWN sysctls, a notice that follows each snapshot,
 * acq_open_opts.max_namespaces, acq_stats.lost_*, a 64-bit
 * acq_listener.requested_backlog with requested_known, acq_listener.inode). Every call that moves records moves many at once into
 * arrays the caller owns. The library never writes to stdout or stderr:
 * libbpf's log goes to a memory buffer (acq_read_log) or to a file.
 * Structs are laid out without implicit padding; acq_layout() reports
 * their sizes and field offsets so a binding can check its mirrors.
 */
#ifndef LIBACCEPTQ_H
#define LIBACCEPTQ_H

#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "acceptq.h"

#define ACQ_ABI_VERSION 5
#define ACQ_MAX_LISTENERS_LIMIT 1048576  /* the largest acq_open_opts.max_listeners */
#define ACQ_MAX_NAMESPACES_LIMIT 65536   /* the largest acq_open_opts.max_namespaces */
#define ACQ_CGROUP_LEN 256      /* acq_listener.cgroup, NUL included */
#define ACQ_UNKNOWN 0xffffffffu /* a __u32 value that could not be read (the sysctls of acq_netns) */

struct acq_open_opts {
	__u32 abi_version;      /* ACQ_ABI_VERSION */
	__u32 probe;            /* enum acq_probe */
	__u32 events_per_sec;   /* detail events per listener per second; 0 = none */
	__u32 ringbuf_kb;       /* detail-event ring buffer size; 0 = 256 */
	__u32 retain_closed_s;  /* keep closed rows this long; 0 = 120 */
	/*
	 * listening sockets and rows tracked at once, and connections timed
	 * in their accept queues; 0 = 65,536
	 */
	__u32 max_listeners;
	__u32 max_namespaces;   /* network namespaces with listeners tracked at once; 0 = 4,096 */
	__u32 _pad;
	const char *log_path;   /* libbpf log to this file; NULL = memory buffer */
};

/* One listener row: every socket of one netns/family/address/port. */
struct acq_listener {
	__u64 netns_cookie;     /* tells apart namespaces that reuse an inode number */
	__u32 netns;
	__u16 family;           /* 4 or 6 */
	__u16 port;
	__u8 addr[16];
	__u32 pid;              /* owner; 0 = unknown */
	__u32 sockets;          /* live sockets in the row (SO_REUSEPORT group) */
	__u32 backlog;          /* accept queue now (sum over sockets) */
	__u32 max_backlog;      /* listen() backlog (sum over sockets) */
	__u32 peak_backlog;     /* highest accept queue since the previous snapshot */
	__u32 syn_backlog;      /* SYN queue (half-open requests) now */
	__u64 overflows_syn;    /* cumulative since acceptq started */
	__u64 overflows_ack;
	__u64 syn_drops;
	__u64 cookies;
	__u64 first_overflow_ms;        /* Unix time in ms; 0 = never */
	__u64 last_overflow_ms;
	__u64 cgroup_id;        /* of its first socket's cgroup (v2); 0 = unknown */
	__u64 inode;            /* its socket's inode (ss -e "ino:"); a group's lowest; 0 = unknown */
	__u64 closed_ms;        /* when its last socket closed; 0 = open */
	__u32 uid;
	__u32 flags;            /* ACQ_ROW_* */
	char comm[ACQ_COMM_LEN];
	/* Why it overflows: the accept queue's traffic and waits. */
	/*
	 * listen() arguments, summed, each as the kernel reads it (an int taken
	 * as unsigned: a negative one is above any net.core.somaxconn); valid
	 * only if requested_known
	 */
	__u64 requested_backlog;
	__u32 oldest_wait_us;   /* age of the oldest connection waiting now (over its sockets); 0 = none */
	__u32 requested_known;  /* 1: every socket's listen() was seen (not one older than acceptq) */
	__u64 arrivals;         /* handshakes completed into the accept queue, cumulative */
	/*
	 * connections taken from it, cumulative: arrivals minus the queue's
	 * growth, minus those reset with a closing socket's queue
	 */
	__u64 accepts;
	__u64 waited;           /* accept() calls timed, cumulative (not through io_uring) */
	__u64 wait_sum_us;      /* their waits added up, cumulative */
	__u32 wait_min_us;      /* shortest and longest wait timed since the previous snapshot (0: none) */
	__u32 wait_max_us;
	__u32 wait_hist[ACQ_WAIT_BUCKETS];      /* cumulative; bucket i: [2^i, 2^(i+1)) µs, 0 µs in 0 */
	/*
	 * The cgroup (v2) its sockets were created in, as a path from the
	 * hierarchy's root ("/system.slice/nginx.service"); "" while unknown.
	 * A longer path keeps its end, after ".../".
	 */
	char cgroup[ACQ_CGROUP_LEN];
};

/*
 * Part of the row's counts is an estimate: its counts moved in an interval
 * when, in that interval or the one before, a packet of its namespace was
 * handled with softirqs enabled or the kernel skipped an observation, so a
 * counter move may have been credited to it that was another listener's
 * (even if no other row moved then). The namespace total is exact.
 */
#define ACQ_ROW_ESTIMATE 1

/* A network namespace and the kernel's own counters for it (TcpExt). */
struct acq_netns {
	__u32 netns;
	__u32 pid;              /* a process in it, 0 if none (bind-mounted) */
	__u64 cookie;           /* SO_NETNS_COOKIE: matches acq_listener.netns_cookie */
	__u64 listen_overflows;
	__u64 listen_drops;
	__u64 syncookies_sent;
	__u64 reqqfull_drop;
	__u64 reqqfull_cookies;
	__u64 attributed;       /* overflows acceptq attributed here, read right after the above */
	__u64 attributed_syn_drops;     /* SYN-queue drops attributed here */
	__u64 attributed_cookies;       /* SYN cookies attributed here */
	__u64 unmatched;        /* counter moves at sockets acceptq could not name */
	/*
	 * The zero point of the deltas: the counters read right after attaching
	 * (0 for a namespace made later), and how many overflows acceptq had
	 * attributed in this namespace at that moment (read microseconds later).
	 */
	__u64 start_attributed;
	__u64 start_listen_overflows;
	__u64 start_listen_drops;
	__u64 start_syncookies_sent;
	__u64 start_reqqfull_drop;
	__u64 start_attributed_syn_drops;
	__u64 start_attributed_cookies;
	__u64 start_unmatched;
	__u32 gone;             /* 1 if no longer found (no process in it, no file in /run/netns): values are the last read */
	__u32 estimate;         /* 1 if its rows' split was an estimate in the last interval */
	/* its sysctls, read from inside it at the last snapshot that entered it; ACQ_UNKNOWN if unreadable */
	__u32 somaxconn;        /* net.core.somaxconn: listen() backlogs are cut to it */
	__u32 max_syn_backlog;  /* net.ipv4.tcp_max_syn_backlog */
	__u32 syncookies;       /* net.ipv4.tcp_syncookies */
	__u32 abort_on_overflow;/* net.ipv4.tcp_abort_on_overflow */
};

struct acq_stats {
	__u64 lost_events;      /* ring buffer was full */
	__u64 suppressed_events;/* over the per-listener rate */
	__u64 map_full;         /* sockets, rows or namespaces the maps had no room for */
	__u64 lost_arrivals;    /* handshakes completed at a row without counters (arrivals, accepts miss them) */
	__u64 lost_waits;       /* connections not timed in the accept queue (the waits miss them) */
	__u64 lost_listens;     /* listen() calls whose backlog went unread (requested_backlog unknown) */
	__u64 snapshot_ns;      /* time the last snapshot took */
	__u32 probe;            /* enum acq_probe in use */
	__u32 rows;             /* rows in the last snapshot */
	__u32 namespaces;       /* namespaces in the last snapshot */
	__u32 sockets;          /* listening sockets tracked */
};

/* A struct or field name with its size and offset, for binding checks. */
struct acq_layout {
	char name[48];
	__u32 size;
	__u32 offset;
};

__u32 acq_abi_version(void);

/* Load and attach. NULL on failure with *code = -errno and a message in err. */
void *acq_open(const struct acq_open_opts *opts, int *code, char *err, size_t errlen);

/*
 * Refresh: walk every network namespace, read queue depths and counters,
 * and copy up to max_rows rows and max_ns namespaces. Returns the number
 * of rows copied or -errno; stats->rows and stats->namespaces give the full
 * counts so a caller with short arrays can grow them and call acq_copy().
 */
int acq_snapshot(void *h, struct acq_listener *rows, __u32 max_rows,
		 struct acq_netns *ns, __u32 max_ns, struct acq_stats *stats);

/* Copy the last snapshot again. Returns rows copied. */
int acq_copy(void *h, struct acq_listener *rows, __u32 max_rows,
	     struct acq_netns *ns, __u32 max_ns);

/* Move up to max detail events (oldest first). Returns the number moved or -errno. */
int acq_drain(void *h, struct acq_event *out, __u32 max);

/* Name of the probe set in use ("tracepoint", "fentry", "kprobe"). */
const char *acq_probe_name(void *h);

/*
 * What this run cannot see ("" if nothing): what the kernel refused at open
 * (an optional program), then what the last snapshot could not read (a
 * namespace it could not enter: its figures are the last read, and it is
 * tried again at the next snapshot). Read it after every acq_snapshot();
 * the string stays valid until the next one.
 */
const char *acq_notice(void *h);

/*
 * After attaching: move the whole process to uid/gid (an unprivileged user),
 * which clears every thread's capabilities, and keep only those in keep (a
 * bit mask of CAP_* numbers) on the calling thread and the threads it starts
 * later (the namespace walker). Call from the thread that calls
 * acq_snapshot(). Returns 0 or -errno.
 */
int acq_drop_caps(__u64 keep, __u32 uid, __u32 gid, char *err, size_t errlen);

/* Copy libbpf's buffered log (NUL-terminated); returns its length. */
int acq_read_log(char *buf, size_t len);

/* Report struct sizes and field offsets; returns the number of entries. */
int acq_layout(struct acq_layout *out, __u32 max);

/* Detach every link and free every map. Safe with NULL. */
void acq_close(void *h);

#endif /* LIBACCEPTQ_H */
