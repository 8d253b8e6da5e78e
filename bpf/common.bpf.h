/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Maps, knobs and the listener registry shared by every acceptq BPF program.
 * Maps are __weak so that each .bpf.c can include this header and the
 * static linker (bpftool gen object) keeps one instance of each.
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
 * at its first step towards closing. A plain hash, not an LRU, so that a
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

static __always_inline struct acq_counts *counts_of(const struct acq_lkey *k)
{
	struct acq_counts zero = {};

	return lookup_or_init(&counts, k, &zero);
}

#define NETNS_BY_INODE_BIT (1ULL << 63)

/* The id acq_lkey.netns_cookie, ns_counts and cpu_mib know a namespace by. */
static __always_inline __u64 ns_id(const struct net *net)
{
	if (netns_by_inode)
		return BPF_CORE_READ(net, ns.inum) | NETNS_BY_INODE_BIT;
	return BPF_CORE_READ(net, net_cookie);
}

/* Listener key of a socket; 0 on success. */
static __always_inline int key_from_sk(const struct sock *sk, struct acq_lkey *k)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	const struct net *net = BPF_CORE_READ(sk, __sk_common.skc_net.net);

	__builtin_memset(k, 0, sizeof(*k));
	k->netns = BPF_CORE_READ(net, ns.inum);
	k->netns_cookie = ns_id(net);
	k->port = BPF_CORE_READ(sk, __sk_common.skc_num);
	if (family == AF_INET) {
		__u32 a = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);

		k->family = 4;
		__builtin_memcpy(k->addr, &a, 4);
		return 0;
	}
	if (family == AF_INET6) {
		k->family = 6;
		BPF_CORE_READ_INTO(&k->addr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		return 0;
	}
	return -1;
}

static __always_inline __u32 sk_backlog(const struct sock *sk)
{
	return BPF_CORE_READ(sk, sk_ack_backlog);
}

static __always_inline __u32 sk_max_backlog(const struct sock *sk)
{
	return BPF_CORE_READ(sk, sk_max_ack_backlog);
}

static __always_inline __u32 sk_syn_backlog(const struct sock *sk)
{
	const struct inet_connection_sock *icsk = (const void *)sk;

	return BPF_CORE_READ(icsk, icsk_accept_queue.qlen.counter);
}

/* The child's ports, as one word (struct sock_common's skc_portpair). */
static __always_inline __u32 sk_portpair(const struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_portpair);
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

/* ---- the registry: listening sockets and the rows they make ---- */

/*
 * Loops over a group's slots are unrolled: before 6.x the verifier refuses a
 * loop whose body ends in a helper call ("back-edge"), as these do.
 *
 * A slot is claimed with a plain check and store, not compare-and-swap:
 * 5.10 refuses any program holding a BPF atomic it does not know, even in
 * code it never runs. Each socket starts at a slot of its own (from its
 * address), so two listen() calls on one key at the same instant rarely
 * meet; if they do, one socket is left out of the list (and of the peak
 * sum), never out of members or the counts.
 */
static __always_inline __u32 slot_start(__u64 skp)
{
	return (__u32)(skp >> 6) % ACQ_GROUP_MAX;
}

static __always_inline void group_add(const struct acq_lkey *k, __u64 skp)
{
	struct acq_group zero = {};
	struct acq_group *g = lookup_or_init(&groups, k, &zero);

	if (!g)
		return;
	__sync_fetch_and_add(&g->members, 1);
	/* a group larger than the list: counted in full, left out of the peak sum */
	/* a row's only socket takes slot 0, where group_scan() looks first */
	__u32 start = g->members <= 1 ? 0 : slot_start(skp);
	bool listed = false;
	_Pragma("unroll") for (int i = 0; i < ACQ_GROUP_MAX; i++) {
		__u64 *slot = &g->socks[(start + i) % ACQ_GROUP_MAX];

		if (!listed && !*slot) {
			*slot = skp;
			listed = true;
		}
	}
}

static __always_inline void group_del(const struct acq_lkey *k, __u64 skp)
{
	struct acq_group *g = bpf_map_lookup_elem(&groups, k);

	if (!g)
		return;
	__sync_fetch_and_add(&g->members, -1);
	_Pragma("unroll") for (int i = 0; i < ACQ_GROUP_MAX; i++)
		if (g->socks[i] == skp)
			g->socks[i] = 0;
}

/*
 * A socket that called listen() without bind() is given its port only
 * after the LISTEN transition: it is registered under port 0 and moved to
 * its real key (rekeyed) once the port is known. Rows are made for real
 * keys only.
 */
static __always_inline void row_join(const struct acq_lkey *k, __u64 skp)
{
	group_add(k, skp);
	if (k->port)
		counts_of(k);
}

/* Track a listening socket; owner is the current task when called from listen(). */
static __always_inline void sock_register(const struct sock *sk, bool from_listen)
{
	struct acq_sock s = {};
	__u64 skp = (__u64)sk;

	if (key_from_sk(sk, &s.key))
		return;
	struct acq_sock *old = bpf_map_lookup_elem(&socks, &skp);
	if (old) {
		if (!from_listen)
			return; /* already known: listen() registered it first */
		/* the memory of a socket whose close went unseen: start afresh */
		group_del(&old->key, skp);
		bpf_map_delete_elem(&socks, &skp);
	}
	if (from_listen) {
		s.pid = bpf_get_current_pid_tgid() >> 32;
		s.cgroup_id = bpf_get_current_cgroup_id();
		bpf_get_current_comm(s.comm, sizeof(s.comm));
	}
	s.ino = BPF_CORE_READ(sk, sk_socket, file, f_inode, i_ino);
	s.registered_backlog = from_listen ? 0 : sk_backlog(sk);
	if (bpf_map_update_elem(&socks, &skp, &s, BPF_NOEXIST)) {
		if (!bpf_map_lookup_elem(&socks, &skp))
			__sync_fetch_and_add(&map_full, 1);
		return;
	}
	row_join(&s.key, skp);
}

/*
 * A listener leaves LISTEN before the kernel empties its queue
 * (inet_csk_listen_stop runs after the state change), so the connections
 * still queued are read here: they are reset, not accepted.
 */
static __always_inline void sock_unregister(const struct sock *sk)
{
	__u64 skp = (__u64)sk;
	struct acq_sock *s = bpf_map_lookup_elem(&socks, &skp);
	struct acq_counts *c;

	if (!s)
		return; /* a child cloned from a listener, not the listener */
	if (s->key.port && (c = bpf_map_lookup_elem(&counts, &s->key))) {
		__sync_fetch_and_add(&c->closed_queued, sk_backlog(sk));
		__sync_fetch_and_add(&c->closed_registered, s->registered_backlog);
	}
	group_del(&s->key, skp);
	bpf_map_delete_elem(&socks, &skp);
}

_Static_assert(sizeof(struct acq_lkey) == 32, "sock_rekey compares keys as 4 words");

/* Move a registered socket to the key it has now (its port came after listen()). */
static __always_inline void sock_rekey(const struct sock *sk, struct acq_sock *s)
{
	struct acq_lkey now;

	if (key_from_sk(sk, &now) || !now.port)
		return;
	struct acq_lkey old = s->key; /* on the stack: a map iterator's value cannot key a lookup */
	const __u64 *a = (const void *)&now, *b = (const void *)&old;
	if (a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3])
		return;
	group_del(&old, (__u64)sk);
	s->key = now;
	row_join(&now, (__u64)sk);
}

/*
 * The row a packet to (netns, daddr, dport) is delivered to, the way the
 * kernel's listener lookup prefers: exact address over wildcard, IPv4
 * sockets over dual-stack IPv6 ones.
 */
static __always_inline struct acq_group *group_for(const struct acq_lkey *ns, __u8 family,
						   const __u8 *daddr, __u16 dport,
						   struct acq_lkey *k)
{
	struct acq_group *g;

	__builtin_memset(k, 0, sizeof(*k));
	k->netns = ns->netns;
	k->netns_cookie = ns->netns_cookie;
	k->port = dport;
	if (family == 4) {
		k->family = 4;
		__builtin_memcpy(k->addr, daddr, 4);
		if ((g = bpf_map_lookup_elem(&groups, k)))
			return g;
		/* dual-stack socket bound to ::ffff:a.b.c.d */
		k->family = 6;
		__builtin_memset(k->addr, 0, 16);
		k->addr[10] = 0xff;
		k->addr[11] = 0xff;
		__builtin_memcpy(&k->addr[12], daddr, 4);
		if ((g = bpf_map_lookup_elem(&groups, k)))
			return g;
		k->family = 4;
		__builtin_memset(k->addr, 0, 16);
		if ((g = bpf_map_lookup_elem(&groups, k)))
			return g;
		k->family = 6;
		return bpf_map_lookup_elem(&groups, k);
	}
	k->family = 6;
	__builtin_memcpy(k->addr, daddr, 16);
	if ((g = bpf_map_lookup_elem(&groups, k)))
		return g;
	__builtin_memset(k->addr, 0, 16);
	return bpf_map_lookup_elem(&groups, k);
}

/*
 * The row of a passive child's listener (the child a BTF pointer), in one
 * lookup: the child shares its listener's bind bucket (icsk_bind2_hash),
 * which holds the address the listener bound, wildcard or not, so the
 * listener's own key is at hand. Where that misses (a kernel without the
 * bucket, a port given after listen() and not yet rekeyed), the row the
 * child's address leads to.
 */
static __always_inline struct acq_group *group_of_child(const struct sock *child, struct acq_lkey *k)
{
	struct acq_lkey c;
	struct acq_group *g;

	if (key_from_sk(child, &c))
		return NULL;
	if (bpf_core_field_exists(struct inet_connection_sock, icsk_bind2_hash) &&
	    bpf_core_field_exists(struct inet_bind2_bucket, addr_type)) {
		/* the verifier knows the argument as a struct sock: say it is TCP's */
		const struct tcp_sock *tp = bpf_skc_to_tcp_sock((void *)child);
		const struct inet_bind2_bucket *tb2 = tp ? tp->inet_conn.icsk_bind2_hash : NULL;

		if (tb2) {
			*k = c;
			/* an AF_INET socket's address is the v4-mapped one's last word */
			if (c.family == 4)
				__builtin_memcpy(k->addr, &tb2->v6_rcv_saddr.in6_u.u6_addr32[3], 4);
			else
				__builtin_memcpy(k->addr, tb2->v6_rcv_saddr.in6_u.u6_addr8, 16);
			if ((g = bpf_map_lookup_elem(&groups, k)))
				return g;
		}
	}
	return group_for(&c, c.family, c.addr, c.port, k);
}

/* Sum of the listed members' accept queues, and one member to describe the row by. */
struct group_scan {
	const struct acq_group *g;
	const struct sock *pick;
	__u32 backlog;
};

static __always_inline void group_scan(const struct acq_group *g, struct group_scan *c)
{
	__builtin_memset(c, 0, sizeof(*c));
	c->g = g;
	/* the common row is one socket in slot 0: look no further */
	if (g->members <= 1 && g->socks[0]) {
		c->pick = (const void *)g->socks[0];
		c->backlog = sk_backlog(c->pick);
		return;
	}
	_Pragma("unroll") for (int i = 0; i < ACQ_GROUP_MAX; i++) {
		const struct sock *sk = (const void *)g->socks[i];

		if (sk) {
			c->backlog += sk_backlog(sk);
			if (!c->pick)
				c->pick = sk;
		}
	}
}

#endif /* ACCEPTQ_COMMON_BPF_H */
