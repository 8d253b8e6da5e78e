// SPDX-License-Identifier: GPL-2.0
/*
 * Overflow counting at function entry (fentry): the listener is an argument,
 * so SO_REUSEPORT members are told apart exactly and the SYN-cookie ACK path
 * needs no inference. Used where the kernel allows fentry.
 */
#include "common.bpf.h"

SEC("fentry/tcp_conn_request")
int BPF_PROG(acq_fentry_conn_request, struct request_sock_ops *rsk_ops,
	     const struct tcp_request_sock_ops *af_ops, struct sock *sk, struct sk_buff *skb)
{
	on_conn_request(sk, skb);
	return 0;
}

SEC("fentry/tcp_v4_syn_recv_sock")
int BPF_PROG(acq_fentry_v4_syn_recv_sock, const struct sock *sk, struct sk_buff *skb)
{
	on_syn_recv_sock(sk, skb, 4);
	return 0;
}

SEC("fentry/tcp_v6_syn_recv_sock")
int BPF_PROG(acq_fentry_v6_syn_recv_sock, const struct sock *sk, struct sk_buff *skb)
{
	on_syn_recv_sock(sk, skb, 6);
	return 0;
}
