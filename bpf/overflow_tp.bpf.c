// SPDX-License-Identifier: GPL-2.0
/*
 * Overflow counting from tracepoints only (exact on kernels that forbid
 * fentry and kprobes).
 *
 * SYN path: tcp_conn_request() drops a SYN that finds the accept queue full,
 * and tcp_rcv_state_process() then frees it with consume_skb(), not
 * kfree_skb(). So: every SYN consumed from inside tcp_rcv_state_process is a
 * SYN a listener just handled; the listener's queues tell what happened.
 *
 * ACK path: the final ACK that finds the queue full is freed with the drop
 * reason TCP_LISTEN_OVERFLOW and the listener as rx_sk. On the SYN-cookie
 * path, cookie_v4_check()/cookie_v6_check() drop it with a generic reason
 * (NO_SOCKET), so a pure ACK dropped there at a full listener counts too.
 */
#include "common.bpf.h"

static __always_inline bool in_range(__u64 a, __u64 lo, __u64 hi)
{
	return lo && a >= lo && a < hi;
}

/* In a group with full and non-full sockets: did a full one just drop? */
static long find_dropper(__u32 i, struct group_scan *c)
{
	const struct sock *sk;
	struct acq_sock *s;
	__u64 skp;

	if (i >= ACQ_GROUP_MAX)
		return 1;
	skp = c->g->socks[i];
	sk = (const void *)skp;
	if (!sk || !acceptq_full(sk))
		return 0;
	s = bpf_map_lookup_elem(&socks, &skp);
	if (!s)
		return 0;
	__u32 drops = BPF_CORE_READ(sk, sk_drops.counter);
	if (drops == s->last_drops)
		return 0;
	s->last_drops = drops;
	c->pick = sk;
	c->mixed_overflow = true;
	return 1;
}

SEC("tp_btf/consume_skb")
int BPF_PROG(acq_tp_consume_skb, struct sk_buff *skb, void *location)
{
	struct acq_lkey k, ns = {};
	struct acq_group *g;
	struct pkt p;

	if (!in_range((__u64)location, rcv_state_start, rcv_state_end))
		return 0;
	if (parse_skb(skb, &p) || (p.flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) != TCP_FLAG_SYN)
		return 0;
	skb_netns(skb, &ns);
	g = group_for(&ns, p.family, p.daddr, p.dport, &k);
	if (!g)
		return 0;

	/*
	 * Which socket of the row took the SYN? With one socket (the common
	 * case) there is no doubt. In a SO_REUSEPORT group whose sockets are
	 * all full or all not, the answer is the same either way. In a mixed
	 * group, a full socket whose drop counter moved since we last looked
	 * is the one that dropped it.
	 */
	struct group_scan scan;
	bool overflow;

	group_scan(g, &scan);
	if (!scan.pick)
		return 0;
	overflow = scan.full && scan.full == scan.members;
	if (scan.full && !overflow) {
		bpf_loop(ACQ_GROUP_MAX, find_dropper, &scan, 0);
		overflow = scan.mixed_overflow;
	}
	const struct sock *pick = scan.pick;

	/*
	 * The SYN queue is read after the fact: an admitted SYN added one
	 * request, a refused one did not, so "over the limit now" is "was full".
	 */
	bool synq_full = sk_syn_backlog(pick) > sk_max_backlog(pick);

	classify_syn(&k, pick, overflow, synq_full, &p);
	return 0;
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(acq_tp_kfree_skb, struct sk_buff *skb, void *location,
	     enum skb_drop_reason reason, struct sock *rx_sk)
{
	__u64 skp = (__u64)rx_sk;
	struct acq_sock *s;
	struct pkt p;

	if (!rx_sk)
		return 0;
	s = bpf_map_lookup_elem(&socks, &skp);
	if (!s)
		return 0;
	if (parse_skb(skb, &p) ||
	    (p.flags & (TCP_FLAG_SYN | TCP_FLAG_ACK | TCP_FLAG_RST)) != TCP_FLAG_ACK)
		return 0;
	if (reason != bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_TCP_LISTEN_OVERFLOW)) {
		/* the SYN-cookie ACK path drops in cookie_v*_check with a generic reason */
		__u64 loc = (__u64)location;

		if (!(in_range(loc, v4_cookie_start, v4_cookie_end) ||
		      in_range(loc, v6_cookie_start, v6_cookie_end)) ||
		    !acceptq_full(rx_sk))
			return 0;
	}
	record(&s->key, ACQ_PATH_ACK, rx_sk, p.saddr, p.family, p.sport);
	return 0;
}
