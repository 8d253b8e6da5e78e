/* SPDX-License-Identifier: GPL-2.0 */
/* What a listening socket says of itself: its namespace's id, its key, its queues. */
#ifndef ACCEPTQ_SOCK_BPF_H
#define ACCEPTQ_SOCK_BPF_H

#include "common.bpf.h"

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

#endif /* ACCEPTQ_SOCK_BPF_H */
