/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Types shared by the BPF programs (bpf/) and the helper library (lib/).
 * Kernel side includes vmlinux.h first; user side includes <linux/types.h>.
 * Every struct here is laid out without implicit padding so that both sides
 * (and the ref-struct-di mirrors of the ABI structs) agree byte for byte.
 */
#ifndef ACCEPTQ_H
#define ACCEPTQ_H

#define ACQ_COMM_LEN 16
#define ACQ_GROUP_MAX 32        /* members of a SO_REUSEPORT group whose queues the peak sums */
#define ACQ_MAX_SOCKS 65536     /* listening sockets tracked at once */
#define ACQ_MAX_KEYS 65536      /* listener rows (open and recently closed) */
#define ACQ_MAX_NAMESPACES 4096 /* network namespaces with listeners, by default */
#define ACQ_WAIT_BUCKETS 24     /* log2 buckets of accept-queue wait, in µs: [2^i, 2^(i+1)) */

/* Detail-event paths, also used as array indexes of counters. */
enum acq_path {
	ACQ_PATH_SYN = 1,       /* SYN dropped: accept queue full */
	ACQ_PATH_ACK = 2,       /* final ACK dropped: accept queue full */
	ACQ_PATH_SYN_DROP = 3,  /* SYN dropped: SYN queue full, no cookies */
	ACQ_PATH_COOKIE = 4,    /* SYN answered with a cookie: SYN queue full */
};

/* Probe sets. */
enum acq_probe {
	ACQ_PROBE_AUTO = 0,
	ACQ_PROBE_TRACEPOINT = 1,
	ACQ_PROBE_FENTRY = 2,
	ACQ_PROBE_KPROBE = 3,
};

/* A listener row: sockets bound to the same namespace, family, address, port. */
struct acq_lkey {
	__u64 netns_cookie;     /* unique for the boot: inode numbers get reused */
	__u32 netns;            /* network namespace inode number */
	__u16 family;           /* 4 or 6 */
	__u16 port;             /* host byte order */
	__u8 addr[16];          /* IPv4 in the first 4 bytes */
};

/* Per-row counters, kept by the kernel side for as long as the row lives. */
struct acq_counts {
	__u64 overflows_syn;
	__u64 overflows_ack;
	__u64 syn_drops;
	__u64 cookies;
	__u64 first_overflow_ns;        /* bpf_ktime_get_boot_ns() */
	__u64 last_overflow_ns;
	__u64 window_start_ns;          /* detail-event rate limit window */
	__u32 window_events;
	__u32 _pad;
	__u64 arrivals;                 /* handshakes completed into the accept queue */
	/*
	 * Of the row's sockets that closed: the connections still queued at
	 * close (reset with the listener's queue, never accepted), and the
	 * queue each had when it was registered (acq_sock.registered_backlog).
	 */
	__u64 closed_queued;
	__u64 closed_registered;
	__u64 waited;                   /* accept() calls timed (wait_hist's total) */
	__u64 wait_sum_us;
	__u32 wait_hist[ACQ_WAIT_BUCKETS];
};

/*
 * A row's bounds in the current interval, one copy per CPU (a per-CPU map,
 * key: the row's acq_lkey): a minimum or maximum kept in one shared copy is
 * a read-modify-write two CPUs can interleave, and BPF on 5.10 has no
 * compare-and-swap. User space merges the CPUs' copies. The generation is
 * peak_gen; each bound of the generation before is kept until read.
 */
struct acq_bounds {
	__u32 peak_gen;
	__u32 peak_backlog;             /* peak accept-queue depth in generation peak_gen */
	__u32 peak_prev_gen;
	__u32 peak_prev_backlog;
	__u32 wait_gen;
	__u32 wait_min_us;              /* in generation wait_gen */
	__u32 wait_max_us;
	__u32 wait_prev_gen;
	__u32 wait_prev_min_us;
	__u32 wait_prev_max_us;
};

/* Per listening socket (key: the kernel's struct sock pointer). */
struct acq_sock {
	struct acq_lkey key;
	__u64 cgroup_id;
	__u32 pid;              /* 0 = existed before acceptq started */
	__u32 ino;              /* socket inode: the row shows it; the owner of an old socket is found by it */
	__u32 requested_backlog;/* the listen() argument, as the kernel reads it (unsigned) */
	__u32 registered_backlog;/* accept-queue depth when registered (0 from listen()) */
	char comm[ACQ_COMM_LEN];
	/* fixed for the socket's life: read at its first sample, not every tick */
	__u64 sk_cgroup;        /* the cgroup the socket was created in (0: none) */
	__u32 uid;              /* its sk_uid */
	__u32 sampled;          /* 1 once the two above were read */
	__u32 requested_seen;   /* 1 once a listen() call's argument was read */
	__u32 _pad;
};

/* A connection in an accept queue (key: the child's struct sock pointer). */
struct acq_queued {
	__u64 ts_ns;            /* bpf_ktime_get_ns() when its handshake completed */
	struct acq_lkey key;    /* its listener's row */
	__u32 portpair;         /* the child's ports, so a reused pointer is not mistaken for it */
	__u32 _pad;
};

/*
 * Per network namespace (key: its cookie): what acceptq attributed there,
 * read by user space right after the kernel's own counters of the namespace.
 */
struct acq_ns_counts {
	__u64 overflows;        /* attributed to a listener row */
	__u64 syn_drops;
	__u64 cookies;
	__u64 unmatched;        /* counter moves seen at a socket acceptq could not name */
	__u64 unsure;           /* observations made with softirqs enabled: another packet could run in between */
};

/*
 * The kernel's per-CPU TcpExt counters of one namespace as last seen on
 * this CPU (a per-CPU map, key: namespace cookie). The difference at the
 * next observation on the same CPU is what the packet just handled did.
 */
struct acq_mib {
	__u64 listen_overflows;
	__u64 reqqfull_drop;
	__u64 syncookies_sent;
};

/* The key of cpu_mib: a namespace's counters as one CPU last saw them (user space prunes them). */
struct cpu_mib_key {
	__u64 ns;       /* the namespace's id (cookie, or inode with bit 63 set) */
	__u32 cpu;
	__u32 _pad;
};

/*
 * Sockets of one row (key: the row's acq_lkey). Its presence is how a packet's
 * address finds its row; members counts every socket, however many, and the
 * first ACQ_GROUP_MAX are listed for the peak.
 */
struct acq_group {
	__u64 socks[ACQ_GROUP_MAX];
	__u32 members;
	__u32 _pad;
};

/* A detail event sent through the ring buffer. */
struct acq_event {
	__u64 ts_ns;            /* bpf_ktime_get_boot_ns() */
	struct acq_lkey key;
	__u8 raddr[16];         /* remote address, IPv4 in the first 4 bytes */
	__u16 rport;
	__u8 path;              /* enum acq_path */
	__u8 rfamily;           /* 4 or 6 */
	__u32 backlog;
	__u32 max_backlog;
	__u32 syn_backlog;
};

/* What the owners iterator (owners.bpf.c) writes per fd holding an old listener. */
struct acq_owner_rec {
	__u32 pid;      /* the process (thread group) holding the fd */
	__u32 ino;      /* the socket's inode, as acq_sock.ino and the sample's */
	char comm[ACQ_COMM_LEN];        /* its main thread's, as /proc/PID/comm reads */
};

/* What the sampling iterator writes for each listening socket it walks. */
struct acq_sample {
	__u64 sk;
	struct acq_lkey key;
	__u32 backlog;
	__u32 max_backlog;
	__u32 syn_backlog;
	__u32 ino;              /* the socket's inode (tells a new socket from one that reused the address) */
	__u32 uid;
	__u32 requested_backlog;
	__u32 registered_backlog;
	__u32 requested_seen;
	__u64 oldest_ns;        /* handshake time of the head of the accept queue; 0 = empty */
	__u64 arrivals;         /* the row's arrivals, read in the same pass as the depth */
	__u64 closed_queued;    /* and its closed sockets' (acq_counts), read with them */
	__u64 closed_registered;
	__u64 cgroup_id;        /* the cgroup (v2) the socket was created in; 0 = unknown */
};

#endif /* ACCEPTQ_H */
