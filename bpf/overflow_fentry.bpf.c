// SPDX-License-Identifier: GPL-2.0
/*
 * Overflow counting where the kernel allows fentry (every distribution
 * kernel): an observation (counters.bpf.h) as each function that moves
 * the counters returns, credited to the listener it was given. Every
 * accept-queue overflow, SYN-queue drop and SYN cookie is counted inside
 * tcp_conn_request() (the SYN), tcp_check_req() (the final ACK) or
 * cookie_v4/v6_check() (the final ACK of a SYN cookie), each called with
 * the listener, in softirq context: nothing can run on this CPU between the
 * counter's move and the function's return. So the count is exact, and so
 * is the listener, down to the member of a SO_REUSEPORT group. (The
 * functions that move the ACK path's counter, tcp_v4/v6_syn_recv_sock(),
 * take more arguments than trampolines carry before 6.6.)
 */
#include "counters.bpf.h"

/* The listener sk just handled a packet: credit what the counters moved to its row. */
static __always_inline int listener_returned(const struct sock *sk, bool ack_path)
{
	const struct net *net = BPF_CORE_READ(sk, __sk_common.skc_net.net);
	__u64 id = ns_id(net), skp = (__u64)sk;
	struct acq_sock *s;
	struct acq_lkey k;
	struct acq_mib d;
	struct pkt p = {};

	if (!observe(net, id, &d, false))
		return 0;
	s = bpf_map_lookup_elem(&socks, &skp);
	if (!s) {
		attribute(NULL, id, ack_path, &d, sk, &p);
		return 0;
	}
	sock_rekey(sk, s);
	k = s->key;
	attribute(&k, id, ack_path, &d, sk, &p);
	return 0;
}

SEC("fexit/tcp_conn_request")
int BPF_PROG(acq_fexit_conn_request, struct request_sock_ops *rsk_ops,
	     const struct tcp_request_sock_ops *af_ops, struct sock *sk, struct sk_buff *skb, int ret)
{
	return listener_returned(sk, false);
}

SEC("fexit/tcp_check_req")
int BPF_PROG(acq_fexit_check_req, const struct sock *sk)
{
	return listener_returned(sk, true);
}

SEC("fexit/cookie_v4_check")
int BPF_PROG(acq_fexit_cookie_v4_check, const struct sock *sk)
{
	return listener_returned(sk, true);
}

SEC("fexit/cookie_v6_check")
int BPF_PROG(acq_fexit_cookie_v6_check, const struct sock *sk)
{
	return listener_returned(sk, true);
}

/*
 * The same where the kernel has kprobes but no fentry: the entry keeps the
 * listener per CPU and function, the return observes.
 */
enum { CALL_CONN_REQUEST, CALL_CHECK_REQ, CALL_COOKIE_V4, CALL_COOKIE_V6, CALLS };

ACQ_MAP(call_listener, BPF_MAP_TYPE_PERCPU_ARRAY, CALLS, __u32, __u64);

static __always_inline int call_enter(__u32 call, const struct sock *sk)
{
	__u64 *slot = bpf_map_lookup_elem(&call_listener, &call);

	if (slot)
		*slot = (__u64)sk;
	return 0;
}

static __always_inline int call_return(__u32 call, bool ack_path)
{
	__u64 *slot = bpf_map_lookup_elem(&call_listener, &call);
	const struct sock *sk;

	if (!slot || !*slot)
		return 0;
	sk = (const struct sock *)*slot;
	*slot = 0;
	return listener_returned(sk, ack_path);
}

SEC("kprobe/tcp_conn_request")
int BPF_KPROBE(acq_kprobe_conn_request, void *rsk_ops, void *af_ops, struct sock *sk)
{
	return call_enter(CALL_CONN_REQUEST, sk);
}

SEC("kretprobe/tcp_conn_request")
int BPF_KRETPROBE(acq_kprobe_ret_conn_request)
{
	return call_return(CALL_CONN_REQUEST, false);
}

SEC("kprobe/tcp_check_req")
int BPF_KPROBE(acq_kprobe_check_req, struct sock *sk)
{
	return call_enter(CALL_CHECK_REQ, sk);
}

SEC("kretprobe/tcp_check_req")
int BPF_KRETPROBE(acq_kprobe_ret_check_req)
{
	return call_return(CALL_CHECK_REQ, true);
}

SEC("kprobe/cookie_v4_check")
int BPF_KPROBE(acq_kprobe_cookie_v4_check, struct sock *sk)
{
	return call_enter(CALL_COOKIE_V4, sk);
}

SEC("kretprobe/cookie_v4_check")
int BPF_KRETPROBE(acq_kprobe_ret_cookie_v4_check)
{
	return call_return(CALL_COOKIE_V4, true);
}

SEC("kprobe/cookie_v6_check")
int BPF_KPROBE(acq_kprobe_cookie_v6_check, struct sock *sk)
{
	return call_enter(CALL_COOKIE_V6, sk);
}

SEC("kretprobe/cookie_v6_check")
int BPF_KRETPROBE(acq_kprobe_ret_cookie_v6_check)
{
	return call_return(CALL_COOKIE_V6, true);
}
