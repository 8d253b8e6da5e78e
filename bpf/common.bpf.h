/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Maps, knobs and helpers shared by every acceptq BPF program.
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
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IPPROTO_TCP_ 6

#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define TCP_FLAG_ACK 0x10

/* Knobs set by the helper library before load. */
extern const volatile __u32 events_per_sec;     /* per listener; 0 = no events */
/* Code ranges from /proc/kallsyms, to recognise where an skb is freed. */
extern const volatile __u64 rcv_state_start, rcv_state_end;   /* tcp_rcv_state_process */
extern const volatile __u64 v4_cookie_start, v4_cookie_end;   /* cookie_v4_check */
extern const volatile __u64 v6_cookie_start, v6_cookie_end;   /* cookie_v6_check */

/* Written by user space through the mmap'ed .bss: current peak generation. */
extern __u32 peak_gen;
/* Counters read by user space. */
extern __u64 lost_events;       /* ring buffer full */
extern __u64 suppressed_events; /* over the per-listener event rate */
extern __u64 map_full;          /* a socket or row could not be tracked */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ACQ_MAX_SOCKS);
	__type(key, __u64);
	__type(value, struct acq_sock);
} socks SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ACQ_MAX_KEYS);
	__type(key, struct acq_lkey);
	__type(value, struct acq_group);
} groups SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ACQ_MAX_KEYS);
	__type(key, struct acq_lkey);
	__type(value, struct acq_counts);
} counts SEC(".maps") __weak;

/* Overflows attributed per namespace (cookie): read beside the kernel's own counter. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u64);
} ns_overflows SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps") __weak;

/* Listener key of a socket; 0 on success. */
static __always_inline int key_from_sk(const struct sock *sk, struct acq_lkey *k)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	const struct net *net = BPF_CORE_READ(sk, __sk_common.skc_net.net);

	__builtin_memset(k, 0, sizeof(*k));
	k->netns = BPF_CORE_READ(net, ns.inum);
	k->netns_cookie = BPF_CORE_READ(net, net_cookie);
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

/* The kernel admits backlog + 1: full means sk_ack_backlog > sk_max_ack_backlog. */
static __always_inline bool acceptq_full(const struct sock *sk)
{
	return sk_backlog(sk) > sk_max_backlog(sk);
}

static __always_inline struct acq_counts *counts_of(const struct acq_lkey *k)
{
	struct acq_counts *c = bpf_map_lookup_elem(&counts, k);

	if (c)
		return c;
	struct acq_counts zero = {};
	bpf_map_update_elem(&counts, k, &zero, BPF_NOEXIST); /* may race: fine */
	c = bpf_map_lookup_elem(&counts, k);
	if (!c)
		__sync_fetch_and_add(&map_full, 1);
	return c;
}

static __always_inline void peak_update(struct acq_counts *c, __u32 depth)
{
	__u32 gen = peak_gen;

	if (c->peak_gen != gen) {
		c->peak_gen = gen;
		c->peak_backlog = depth;
	} else if (depth > c->peak_backlog) {
		c->peak_backlog = depth;
	}
}

static __always_inline void group_add(const struct acq_lkey *k, __u64 skp)
{
	struct acq_group *g = bpf_map_lookup_elem(&groups, k);

	if (!g) {
		struct acq_group zero = {};

		bpf_map_update_elem(&groups, k, &zero, BPF_NOEXIST);
		g = bpf_map_lookup_elem(&groups, k);
		if (!g) {
			__sync_fetch_and_add(&map_full, 1);
			return;
		}
	}
	for (int i = 0; i < ACQ_GROUP_MAX; i++) {
		if (g->socks[i] == skp)
			return;
		if (__sync_val_compare_and_swap(&g->socks[i], 0, skp) == 0)
			return;
	}
	__sync_fetch_and_add(&map_full, 1);
}

static __always_inline void group_del(const struct acq_lkey *k, __u64 skp)
{
	struct acq_group *g = bpf_map_lookup_elem(&groups, k);

	if (!g)
		return;
	for (int i = 0; i < ACQ_GROUP_MAX; i++)
		__sync_val_compare_and_swap(&g->socks[i], skp, 0);
}

/* Track a listening socket; owner is the current task when called from listen(). */
static __always_inline void sock_register(const struct sock *sk, bool from_listen)
{
	struct acq_sock s = {};
	__u64 skp = (__u64)sk;

	if (key_from_sk(sk, &s.key))
		return;
	if (from_listen) {
		s.pid = bpf_get_current_pid_tgid() >> 32;
		s.cgroup_id = bpf_get_current_cgroup_id();
		bpf_get_current_comm(s.comm, sizeof(s.comm));
	}
	s.ino = BPF_CORE_READ(sk, sk_socket, file, f_inode, i_ino);
	if (bpf_map_update_elem(&socks, &skp, &s, from_listen ? BPF_ANY : BPF_NOEXIST))
		return; /* already known (iterator pass) or map full */
	group_add(&s.key, skp);
	counts_of(&s.key);
}

static __always_inline void sock_unregister(const struct sock *sk)
{
	__u64 skp = (__u64)sk;
	struct acq_sock *s = bpf_map_lookup_elem(&socks, &skp);

	if (!s)
		return; /* a child cloned from a listener, not the listener */
	group_del(&s->key, skp);
	bpf_map_delete_elem(&socks, &skp);
}

/* Count one event on a row and, within the rate limit, send its details. */
static __always_inline void record(const struct acq_lkey *k, __u8 path,
				   const struct sock *sk, const __u8 *raddr,
				   __u8 rfamily, __u16 rport)
{
	struct acq_counts *c = counts_of(k);
	__u64 now = bpf_ktime_get_boot_ns();

	if (!c)
		return;
	switch (path) {
	case ACQ_PATH_SYN:
		__sync_fetch_and_add(&c->overflows_syn, 1);
		break;
	case ACQ_PATH_ACK:
		__sync_fetch_and_add(&c->overflows_ack, 1);
		break;
	case ACQ_PATH_SYN_DROP:
		__sync_fetch_and_add(&c->syn_drops, 1);
		break;
	default:
		__sync_fetch_and_add(&c->cookies, 1);
		break;
	}
	__u32 depth = sk_backlog(sk);
	peak_update(c, depth);
	if (path == ACQ_PATH_SYN || path == ACQ_PATH_ACK) {
		__u64 *n = bpf_map_lookup_elem(&ns_overflows, &k->netns_cookie);
		if (!n) {
			__u64 zero = 0;
			bpf_map_update_elem(&ns_overflows, &k->netns_cookie, &zero, BPF_NOEXIST);
			n = bpf_map_lookup_elem(&ns_overflows, &k->netns_cookie);
		}
		if (n)
			__sync_fetch_and_add(n, 1);
		if (!c->first_overflow_ns)
			c->first_overflow_ns = now;
		c->last_overflow_ns = now;
	}

	if (!events_per_sec)
		return;
	if (now - c->window_start_ns > 1000000000ULL) {
		c->window_start_ns = now;
		c->window_events = 0;
	}
	if (c->window_events >= events_per_sec) {
		__sync_fetch_and_add(&suppressed_events, 1);
		return;
	}
	c->window_events++;
	struct acq_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&lost_events, 1);
		return;
	}
	e->ts_ns = now;
	e->key = *k;
	__builtin_memcpy(e->raddr, raddr, 16);
	e->rport = rport;
	e->path = path;
	e->rfamily = rfamily;
	e->backlog = depth;
	e->max_backlog = sk_max_backlog(sk);
	e->syn_backlog = sk_syn_backlog(sk);
	bpf_ringbuf_submit(e, 0);
}

/* Addresses and ports of a TCP packet, read from the skb's headers. */
struct pkt {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u8 family;
	__u8 flags;
};

static __always_inline int parse_skb(const struct sk_buff *skb, struct pkt *p)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	__u16 th = BPF_CORE_READ(skb, transport_header);
	__u8 ver = 0;
	struct tcphdr tcp;

	__builtin_memset(p, 0, sizeof(*p));
	if (bpf_probe_read_kernel(&ver, 1, head + nh))
		return -1;
	ver >>= 4;
	if (ver == 4) {
		struct iphdr ip;

		if (bpf_probe_read_kernel(&ip, sizeof(ip), head + nh) || ip.protocol != IPPROTO_TCP_)
			return -1;
		p->family = 4;
		__builtin_memcpy(p->saddr, &ip.saddr, 4);
		__builtin_memcpy(p->daddr, &ip.daddr, 4);
	} else if (ver == 6) {
		struct ipv6hdr ip6;

		if (bpf_probe_read_kernel(&ip6, sizeof(ip6), head + nh))
			return -1;
		p->family = 6;
		__builtin_memcpy(p->saddr, &ip6.saddr, 16);
		__builtin_memcpy(p->daddr, &ip6.daddr, 16);
	} else {
		return -1;
	}
	if (bpf_probe_read_kernel(&tcp, sizeof(tcp), head + th))
		return -1;
	p->sport = __builtin_bswap16(tcp.source);
	p->dport = __builtin_bswap16(tcp.dest);
	p->flags = ((__u8 *)&tcp)[13];
	return 0;
}

/*
 * Network namespace a received skb belongs to. TCP reuses skb->dev's space
 * by the time a listener sees the packet, so go through the input route.
 */
static __always_inline void skb_netns(const struct sk_buff *skb, struct acq_lkey *k)
{
	unsigned long refdst = BPF_CORE_READ(skb, _skb_refdst);
	const struct dst_entry *dst = (const void *)(refdst & ~1UL);
	const struct net *net = 0;

	if (dst)
		net = BPF_CORE_READ(dst, dev, nd_net.net);
	if (!net)
		net = BPF_CORE_READ(skb, dev, nd_net.net);
	k->netns = BPF_CORE_READ(net, ns.inum);
	k->netns_cookie = BPF_CORE_READ(net, net_cookie);
}

/*
 * SYN-path classification, shared by every probe set. Called with the
 * listener that received the SYN and whether its queues were full when the
 * kernel decided (tcp_conn_request order: SYN queue first, then accept queue).
 */
static __always_inline void classify_syn(const struct acq_lkey *k, const struct sock *sk,
					 bool acceptq_was_full, bool synq_was_full,
					 const struct pkt *p)
{
	const struct net *net = BPF_CORE_READ(sk, __sk_common.skc_net.net);
	__u8 syncookies = BPF_CORE_READ(net, ipv4.sysctl_tcp_syncookies);
	bool want_cookie = false;

	if (syncookies == 2 || synq_was_full) {
		if (!syncookies) {
			record(k, ACQ_PATH_SYN_DROP, sk, p->saddr, p->family, p->sport);
			return;
		}
		want_cookie = true;
	}
	if (acceptq_was_full) {
		record(k, ACQ_PATH_SYN, sk, p->saddr, p->family, p->sport);
		return;
	}
	if (want_cookie)
		record(k, ACQ_PATH_COOKIE, sk, p->saddr, p->family, p->sport);
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
 * Loops over a group's sockets run through bpf_loop(): an unrolled loop
 * with per-socket branches makes the verifier walk every combination.
 */
struct group_scan {
	const struct acq_group *g;
	const struct sock *pick;        /* first full socket, else first socket */
	__u32 members, full, backlog;
	bool mixed_overflow;            /* set by the drop-counter pass */
};

static long scan_member(__u32 i, struct group_scan *c)
{
	const struct sock *sk;

	if (i >= ACQ_GROUP_MAX)
		return 1;
	sk = (const void *)c->g->socks[i];
	if (!sk)
		return 0;
	c->members++;
	c->backlog += sk_backlog(sk);
	if (acceptq_full(sk)) {
		if (!c->full)
			c->pick = sk;
		c->full++;
	} else if (!c->pick) {
		c->pick = sk;
	}
	return 0;
}

static __always_inline void group_scan(const struct acq_group *g, struct group_scan *c)
{
	__u64 rest = 0;

	__builtin_memset(c, 0, sizeof(*c));
	c->g = g;
	/*
	 * The common row is one socket in slot 0: look at it alone. bpf_loop()
	 * costs an indirect call per slot, most of this program's time at
	 * every SYN when it ran over all of them.
	 */
#pragma unroll
	for (int i = 1; i < ACQ_GROUP_MAX; i++)
		rest |= g->socks[i];
	if (!rest) {
		scan_member(0, c);
		return;
	}
	bpf_loop(ACQ_GROUP_MAX, scan_member, c, 0);
}

/* Function-entry probes (fentry or kprobe) see the listener itself. */
static __always_inline void on_conn_request(const struct sock *sk, const struct sk_buff *skb)
{
	__u64 skp = (__u64)sk;
	struct acq_sock *s = bpf_map_lookup_elem(&socks, &skp);
	struct acq_lkey k;
	struct pkt p;

	if (s)
		k = s->key;
	else if (key_from_sk(sk, &k))
		return;
	if (parse_skb(skb, &p))
		return;
	/* at entry, the queues are as tcp_conn_request() is about to see them */
	classify_syn(&k, sk, acceptq_full(sk), sk_syn_backlog(sk) > sk_max_backlog(sk), &p);
}

static __always_inline void on_syn_recv_sock(const struct sock *sk, const struct sk_buff *skb,
					     __u8 family)
{
	__u64 skp = (__u64)sk;
	struct acq_sock *s;
	struct acq_lkey k;
	struct pkt p;

	if (!acceptq_full(sk))
		return;
	if (parse_skb(skb, &p) || p.family != family)
		return; /* tcp_v6_syn_recv_sock hands IPv4 to tcp_v4_syn_recv_sock */
	s = bpf_map_lookup_elem(&socks, &skp);
	if (s)
		k = s->key;
	else if (key_from_sk(sk, &k))
		return;
	record(&k, ACQ_PATH_ACK, sk, p.saddr, p.family, p.sport);
}

#endif /* ACCEPTQ_COMMON_BPF_H */
