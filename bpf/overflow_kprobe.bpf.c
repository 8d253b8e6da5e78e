// SPDX-License-Identifier: GPL-2.0
/* The fentry probe set again, as kprobes, for kernels with kprobes but no fentry. */
#include "common.bpf.h"

SEC("kprobe/tcp_conn_request")
int BPF_KPROBE(acq_kprobe_conn_request, struct request_sock_ops *rsk_ops,
	       const struct tcp_request_sock_ops *af_ops, struct sock *sk, struct sk_buff *skb)
{
	on_conn_request(sk, skb);
	return 0;
}

SEC("kprobe/tcp_v4_syn_recv_sock")
int BPF_KPROBE(acq_kprobe_v4_syn_recv_sock, const struct sock *sk, struct sk_buff *skb)
{
	on_syn_recv_sock(sk, skb, 4);
	return 0;
}

SEC("kprobe/tcp_v6_syn_recv_sock")
int BPF_KPROBE(acq_kprobe_v6_syn_recv_sock, const struct sock *sk, struct sk_buff *skb)
{
	on_syn_recv_sock(sk, skb, 6);
	return 0;
}
