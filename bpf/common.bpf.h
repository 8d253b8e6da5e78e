/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Maps, knobs and global counters shared by every acceptq BPF program, and
 * the lookups of a row's counters and bounds. Maps are __weak so that each
 * .bpf.c can include this header and the static linker (bpftool gen
 * object) keeps one instance of each. Reading a socket: sock.bpf.h; the
 * registry of listeners: registry.bpf.h.
 */
#ifndef ACCEPTQ_COMMON_BPF_H
#define ACCEPTQ_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "acceptq.h"

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP_ 6

#define TCP_ESTABLISHED_ 1
#define TCP_SYN_RECV_ 3
#define TCP_FIN_WAIT1_ 4
#define TCP_CLOSE_ 7
#define TCP_CLOSE_WAIT_ 8
#define TCP_LAST_ACK_ 9
#define TCP_LISTEN_ 10

#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define TCP_FLAG_ACK 0x10

/*
 * Does the running kernel have this BPF helper? A CO-RE constant, so the
 * verifier never walks the branch a kernel cannot run (libbpf-tools' way).
 */
#define KERNEL_HAS_HELPER(name) bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_##name)

/* Knobs set by the helper library before load. */
extern const volatile __u32 events_per_sec;     /* per listener; 0 = no events */
/*
 * Name namespaces by inode number instead of cookie: before 5.12 a
 * namespace's cookie is made only when first asked for, and user space
 * can ask for it only from 5.14 (SO_NETNS_COOKIE).
 */
extern const volatile __u8 netns_by_inode;
/* Code ranges from /proc/kallsyms, to recognise where an skb is freed. */
extern const volatile __u64 rcv_state_start, rcv_state_end;   /* tcp_rcv_state_process */
extern const volatile __u64 v4_cookie_start, v4_cookie_end;   /* cookie_v4_check */
extern const volatile __u64 v6_cookie_start, v6_cookie_end;   /* cookie_v6_check */

/* Written by user space through the mmap'ed .bss: current peak generation. */
extern __u32 peak_gen;
/* Counters read by user space. */
extern __u64 lost_events;       /* ring buffer full */
extern __u64 suppressed_events; /* over the per-listener event rate */
extern __u64 map_full;          /* a socket, row or namespace could not be tracked */
extern __u64 lost_arrivals;     /* arrivals at a row whose counters were missing */
extern __u64 lost_waits;        /* connections not timed: the queued map was full */
extern __u64 lost_listens;      /* listen() calls whose backlog went unread: listen_calls was full */

/*
 * A map every program shares (one instance after static linking).
 * user space sizes them at load (lib/load.c): socks, groups, counts,
 * bounds, queued and listen_calls from acq_open_opts.max_listeners,
 * ns_counts and cpu_mib from max_namespaces.
 */
#define ACQ_MAP_FLAGS(_name, _type, _max, _key, _value, _flags) \
	struct { \
		__uint(type, _type); \
		__uint(max_entries, _max); \
		__uint(map_flags, _flags); \
		__type(key, _key); \
		__type(value, _value); \
	} _name SEC(".maps") __weak
#define ACQ_MAP(_name, _type, _max, _key, _value) ACQ_MAP_FLAGS(_name, _type, _max, _key, _value, 0)

/* The registry: every listening socket acceptq knows (key: its struct sock address). */
ACQ_MAP(socks, BPF_MAP_TYPE_HASH, ACQ_MAX_SOCKS, __u64, struct acq_sock);

/* Rows: the sockets bound to each listener key (a SO_REUSEPORT group has several). */
ACQ_MAP(groups, BPF_MAP_TYPE_HASH, ACQ_MAX_KEYS, struct acq_lkey, struct acq_group);

/* Rows: their counters, for as long as the row lives. */
ACQ_MAP(counts, BPF_MAP_TYPE_HASH, ACQ_MAX_KEYS, struct acq_lkey, struct acq_counts);

/*
 * Rows: their interval bounds, per CPU. Allocated at first use: a row
 * costs a copy per CPU, and most rows never see a connection.
 */
ACQ_MAP_FLAGS(bounds, BPF_MAP_TYPE_PERCPU_HASH, ACQ_MAX_KEYS, struct acq_lkey, struct acq_bounds,
	      BPF_F_NO_PREALLOC);

/* Per namespace (cookie): what was attributed there; pruned by user space when it is gone. */
ACQ_MAP(ns_counts, BPF_MAP_TYPE_HASH, ACQ_MAX_NAMESPACES, __u64, struct acq_ns_counts);

/* Per namespace and CPU: its TcpExt counters as last seen on that CPU. */
ACQ_MAP(cpu_mib, BPF_MAP_TYPE_HASH, ACQ_MAX_NAMESPACES, struct cpu_mib_key, struct acq_mib);

/*
 * Connections in accept queues, with the time their handshake completed.
 * An entry goes at accept(), or when its connection closes or is shut
 * down: one accepted where no syscall tracepoint sees it (io_uring) goes
 * at its first step towards closing. With listen_hooks.bpf.c's hooks
 * every accept is seen; the connections left in a stopping listener's
 * queue go with it. A plain hash, not an LRU, so that a
 * full map refuses a new entry (counted: lost_waits) rather than
 * silently evicting a connection still waiting.
 */
ACQ_MAP(queued, BPF_MAP_TYPE_HASH, ACQ_MAX_KEYS, __u64, struct acq_queued);

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps") __weak;

/* The entry for key, created zeroed if missing; NULL (and map_full counted) if there is no room. */
static __always_inline void *lookup_or_init(void *map, const void *key, const void *zero)
{
	void *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	bpf_map_update_elem(map, key, zero, BPF_NOEXIST); /* may race another CPU: fine */
	v = bpf_map_lookup_elem(map, key);
	if (!v)
		__sync_fetch_and_add(&map_full, 1);
	return v;
}

/* First counters of a row, of a namespace: zeroes kept in .rodata, not built on a program's 512-byte stack */
static const struct acq_counts counts_zero;
static const struct acq_ns_counts ns_counts_zero;

static __always_inline struct acq_counts *counts_of(const struct acq_lkey *k)
{
	return lookup_or_init(&counts, k, &counts_zero);
}

static __always_inline struct acq_bounds *bounds_of(const struct acq_lkey *k)
{
	struct acq_bounds zero = {};

	return lookup_or_init(&bounds, k, &zero);
}

/* This CPU's copy: no other CPU writes it, so the compare and the store cannot be split. */
static __always_inline void peak_update(struct acq_bounds *b, __u32 depth)
{
	__u32 gen = peak_gen;

	if (b->peak_gen != gen) {
		/* the snapshot that started gen may not have read the last one yet */
		b->peak_prev_gen = b->peak_gen;
		b->peak_prev_backlog = b->peak_backlog;
		b->peak_gen = gen;
		b->peak_backlog = depth;
	} else if (depth > b->peak_backlog) {
		b->peak_backlog = depth;
	}
}

#endif /* ACCEPTQ_COMMON_BPF_H */
