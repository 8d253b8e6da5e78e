// SPDX-License-Identifier: GPL-2.0
/*
 * Overflow counting from tracepoints: the tracepoint probe set, for
 * kernels that forbid fentry and kprobes. See counters.bpf.h for the method.
 *
 * SYN path: tcp_conn_request() drops a SYN that finds the accept queue full
 * (or the SYN queue full, or answers it with a cookie), and
 * tcp_rcv_state_process() then frees it with consume_skb(), not kfree_skb().
 * So a SYN consumed from inside tcp_rcv_state_process is a SYN a listener
 * just handled: the observation point of the SYN path. Before 6.3 the
 * tracepoint does not say where it was called from, and every consumed SYN
 * is an observation (one no listener handled moved nothing).
 *
 * ACK path: a final ACK that finds the queue full is freed with kfree_skb.
 * From 6.11 the tracepoint names the listener (rx_sk, acq_tp_kfree_skb);
 * before, the listener is the one the packet's address leads to, and every
 * dropped TCP packet is an observation (acq_tp_kfree_skb_by_addr: user
 * space loads the one the kernel's tracepoint fits). Either way a counter
 * move is never left for a later packet to pick up.
 *
 * consume_skb's location is read only where the running kernel has it (a
 * CO-RE check on its trace_event_raw_* record).
 */
#include "counters.bpf.h"

#define ETH_P_IP_BE 0x0008
#define ETH_P_IPV6_BE 0xdd86

static __always_inline bool in_range(__u64 a, __u64 lo, __u64 hi)
{
	return lo && a >= lo && a < hi;
}

/* A tracepoint argument the kernel may not have: read only after a CO-RE check said it does. */
static __always_inline __u64 tp_arg(unsigned long long *ctx, int i)
{
	return *(volatile __u64 *)&ctx[i];
}

/* The row a packet's destination leads to, and the credit; NULL key if none. */
static __always_inline void attribute_by_address(const struct net *net, __u64 id, bool ack_path,
						 const struct acq_mib *d, const struct sk_buff *skb,
						 struct pkt *p)
{
	struct acq_lkey ns = {}, k;

	if (parse_ip(skb, p)) {
		attribute(NULL, id, ack_path, d, NULL, p);
		return;
	}
	ns.netns = BPF_CORE_READ(net, ns.inum);
	ns.netns_cookie = id;
	attribute(group_for(&ns, p->family, p->daddr, p->dport, &k) ? &k : NULL, id, ack_path, d, NULL, p);
}

/*
 * An observation at a packet the kernel handled (an IP packet: the
 * tracepoints see every skb freed, of any protocol). false when its
 * namespace's counters did not move (most packets).
 */
static __always_inline bool observe_skb(const struct sk_buff *skb, const struct net **net, __u64 *id,
					struct acq_mib *d)
{
	__u16 proto = BPF_CORE_READ(skb, protocol);

	if (proto != ETH_P_IP_BE && proto != ETH_P_IPV6_BE)
		return false;
	*net = skb_net(skb);
	if (!*net)
		return false;
	*id = ns_id(*net);
	return observe(*net, *id, d, true);
}

SEC("tp_btf/consume_skb")
int acq_tp_consume_skb(unsigned long long *ctx)
{
	const struct sk_buff *skb = (const struct sk_buff *)ctx[0];
	const struct net *net;
	struct acq_mib d;
	struct pkt p;
	__u64 id;

	if (bpf_core_field_exists(struct trace_event_raw_consume_skb, location) &&
	    !in_range(tp_arg(ctx, 1), rcv_state_start, rcv_state_end))
		return 0;
	if (parse_tcp(skb, &p) || (p.flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) != TCP_FLAG_SYN)
		return 0;
	if (!observe_skb(skb, &net, &id, &d))
		return 0;
	/* the counters moved (rarely): now the addresses */
	attribute_by_address(net, id, false, &d, skb, &p);
	return 0;
}

/* A final ACK (or any packet) a listener dropped, named by the tracepoint (6.11+). */
SEC("tp_btf/kfree_skb")
int BPF_PROG(acq_tp_kfree_skb, struct sk_buff *skb, void *location, enum skb_drop_reason reason,
	     struct sock *rx_sk)
{
	__u64 skp = (__u64)rx_sk, loc = (__u64)location, id;
	bool overflow_site;
	const struct net *net;
	struct acq_sock *s;
	struct acq_mib d;
	struct pkt p;

	if (!rx_sk)
		return 0;
	overflow_site = in_range(loc, v4_cookie_start, v4_cookie_end) ||
			in_range(loc, v6_cookie_start, v6_cookie_end);
	if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_DROP_REASON_TCP_LISTEN_OVERFLOW))
		overflow_site = overflow_site ||
				reason == bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_TCP_LISTEN_OVERFLOW);
	s = bpf_map_lookup_elem(&socks, &skp);
	if (!s && !overflow_site)
		return 0; /* not a listener acceptq knows, nor a listener's drop */
	net = BPF_CORE_READ(rx_sk, __sk_common.skc_net.net);
	id = ns_id(net);
	if (!observe(net, id, &d, true))
		return 0;
	if (parse_skb(skb, &p))
		__builtin_memset(&p, 0, sizeof(p));
	/* a SYN dropped here moved the counters of a SYN; anything else is an ACK */
	bool ack_path = (p.flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) != TCP_FLAG_SYN;
	if (s) {
		struct acq_lkey k;

		sock_rekey(rx_sk, s);
		k = s->key;
		attribute(&k, id, ack_path, &d, rx_sk, &p);
		return 0;
	}
	attribute(NULL, id, ack_path, &d, rx_sk, &p);
	return 0;
}

/*
 * Before 6.11 the tracepoint names no socket: every dropped TCP packet is an
 * observation, credited to the row its destination leads to.
 */
SEC("tp_btf/kfree_skb")
int BPF_PROG(acq_tp_kfree_skb_by_addr, struct sk_buff *skb)
{
	const struct net *net;
	struct acq_mib d;
	struct pkt p;
	__u64 id;

	if (!observe_skb(skb, &net, &id, &d))
		return 0;
	if (parse_tcp(skb, &p))
		__builtin_memset(&p, 0, sizeof(p));
	attribute_by_address(net, id, (p.flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) != TCP_FLAG_SYN, &d, skb, &p);
	return 0;
}
