// SPDX-License-Identifier: GPL-2.0
/*
 * Overflow counting from tracepoints (exact on kernels that forbid fentry
 * and kprobes; every probe set uses it). See counters.bpf.h for the method.
 *
 * SYN path: tcp_conn_request() drops a SYN that finds the accept queue full
 * (or the SYN queue full, or answers it with a cookie), and
 * tcp_rcv_state_process() then frees it with consume_skb(), not kfree_skb().
 * So every SYN consumed from inside tcp_rcv_state_process is a SYN a
 * listener just handled: the observation point of the SYN path.
 *
 * ACK path: the final ACK that finds the queue full is freed with the drop
 * reason TCP_LISTEN_OVERFLOW and the listener as rx_sk; on the SYN-cookie
 * path cookie_v4_check()/cookie_v6_check() free it with a generic reason.
 * Any packet a registered listener drops is an observation point too, so a
 * counter move is never left for a later packet to pick up.
 */
#include "counters.bpf.h"

static __always_inline bool in_range(__u64 a, __u64 lo, __u64 hi)
{
	return lo && a >= lo && a < hi;
}

/* Row of the listener fentry/kprobe saw take this skb; false if none did. */
static __always_inline bool row_seen_at_entry(const struct sk_buff *skb, struct acq_lkey *k,
					      const struct sock **sk)
{
	__u32 zero = 0;
	struct conn_request_seen *seen = bpf_map_lookup_elem(&conn_request_sk, &zero);
	struct acq_sock *s;
	__u64 skp;

	if (!seen || seen->skb != (__u64)skb)
		return false;
	skp = seen->sk;
	seen->skb = 0;
	s = bpf_map_lookup_elem(&socks, &skp);
	if (!s)
		return false;
	sock_rekey((const struct sock *)skp, s);
	*k = s->key;
	*sk = (const struct sock *)skp;
	return true;
}

SEC("tp_btf/consume_skb")
int BPF_PROG(acq_tp_consume_skb, struct sk_buff *skb, void *location)
{
	const struct sock *sk = NULL;
	const struct net *net;
	struct acq_lkey k, ns;
	struct acq_mib d;
	struct pkt p;
	__u64 cookie;

	if (!in_range((__u64)location, rcv_state_start, rcv_state_end))
		return 0;
	if (parse_tcp(skb, &p) || (p.flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) != TCP_FLAG_SYN)
		return 0;
	net = skb_net(skb);
	cookie = net->net_cookie;
	if (!observe(net, cookie, &d))
		return 0;
	/* the counters moved (rarely): now the addresses */
	if (parse_ip(skb, &p)) {
		attribute(NULL, cookie, false, &d, NULL, &p);
		return 0;
	}
	if (!row_seen_at_entry(skb, &k, &sk)) {
		ns.netns = net->ns.inum;
		ns.netns_cookie = cookie;
		if (!group_for_rekeyed(&ns, p.family, p.daddr, p.dport, &k)) {
			attribute(NULL, cookie, false, &d, NULL, &p);
			return 0;
		}
	}
	attribute(&k, cookie, false, &d, sk, &p);
	return 0;
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(acq_tp_kfree_skb, struct sk_buff *skb, void *location,
	     enum skb_drop_reason reason, struct sock *rx_sk)
{
	__u64 skp = (__u64)rx_sk, loc = (__u64)location, cookie;
	bool overflow_site;
	const struct net *net;
	struct acq_sock *s;
	struct acq_mib d;
	struct pkt p;

	if (!rx_sk)
		return 0;
	overflow_site = reason == bpf_core_enum_value(enum skb_drop_reason,
						      SKB_DROP_REASON_TCP_LISTEN_OVERFLOW) ||
			in_range(loc, v4_cookie_start, v4_cookie_end) ||
			in_range(loc, v6_cookie_start, v6_cookie_end);
	s = bpf_map_lookup_elem(&socks, &skp);
	if (!s && !overflow_site)
		return 0; /* not a listener acceptq knows, nor a listener's drop */
	net = rx_sk->__sk_common.skc_net.net;
	cookie = net->net_cookie;
	if (!observe(net, cookie, &d))
		return 0;
	if (parse_skb(skb, &p))
		__builtin_memset(&p, 0, sizeof(p));
	if (s)
		sock_rekey(rx_sk, s);
	/* a SYN dropped here moved the counters of a SYN; anything else is an ACK */
	attribute(s ? &s->key : NULL, cookie,
		  (p.flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) != TCP_FLAG_SYN, &d, rx_sk, &p);
	return 0;
}
