// SPDX-License-Identifier: GPL-2.0
/*
 * Where the kernel allows fentry: the listener tcp_conn_request() is given,
 * so a SYN is credited to the socket the kernel chose (the member of a
 * SO_REUSEPORT group, a listener on a device or found by a BPF sk_lookup)
 * rather than to the row its address leads to. Counting stays with the
 * tracepoint programs.
 */
#include "common.bpf.h"


static __always_inline void conn_request_entry(const struct sock *sk, const struct sk_buff *skb)
{
	__u32 zero = 0;
	struct conn_request_seen *seen = bpf_map_lookup_elem(&conn_request_sk, &zero);

	if (seen) {
		seen->skb = (__u64)skb;
		seen->sk = (__u64)sk;
	}
}

SEC("fentry/tcp_conn_request")
int BPF_PROG(acq_fentry_conn_request, struct request_sock_ops *rsk_ops,
	     const struct tcp_request_sock_ops *af_ops, struct sock *sk, struct sk_buff *skb)
{
	conn_request_entry(sk, skb);
	return 0;
}

SEC("kprobe/tcp_conn_request")
int BPF_KPROBE(acq_kprobe_conn_request, struct request_sock_ops *rsk_ops,
	       const struct tcp_request_sock_ops *af_ops, struct sock *sk, struct sk_buff *skb)
{
	conn_request_entry(sk, skb);
	return 0;
}
