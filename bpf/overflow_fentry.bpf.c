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
#include "queue.bpf.h"

/*
 * The listener sk just handled a packet: credit what the counters moved to
 * its row. A namespace whose counters this CPU has not seen is seeded here
 * (seed), or else left to the caller (seed_ns_of: credit_listener() returns
 * OBSERVED_UNSEEDED), so that mib_seed()'s frame can be the second of a
 * program's chain of calls rather than the third: BPF's 512 bytes of stack
 * are for the whole chain, and clang 19 lays out this frame larger than
 * clang 14 does.
 */
static __always_inline int credit_listener(const struct sock *sk, bool ack_path, bool seed)
{
	const struct net *net = BPF_CORE_READ(sk, __sk_common.skc_net.net);
	__u64 id = ns_id(net), skp = (__u64)sk;
	struct acq_sock *s;
	struct acq_lkey k;
	struct acq_mib d;
	struct pkt p = {};
	int r;

	if (seed)
		r = observe(net, id, &d, false) ? OBSERVED_MOVED : OBSERVED_NOTHING;
	else
		r = observe_here(net, id, &d, false);
	if (r != OBSERVED_MOVED)
		return r;
	s = bpf_map_lookup_elem(&socks, &skp);
	if (!s) {
		attribute(NULL, id, ack_path, &d, sk, &p);
		return r;
	}
	sock_rekey(sk, s);
	k = s->key;
	attribute(&k, id, ack_path, &d, sk, &p);
	return r;
}

static __always_inline int listener_returned(const struct sock *sk, bool ack_path)
{
	credit_listener(sk, ack_path, true);
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

/*
 * The same, and the child it returns is an arrival: it is in the listener's
 * queue (inet_csk_complete_hashdance() returns only a queued child), and
 * still locked, so no accept() can finish with it before this ends. A Fast
 * Open child, queued at its SYN, is given to the function itself at its
 * final ACK, in SYN_RECV, and returned: its arrival is counted then, as
 * the state-change way counts it (tcp_try_fastopen(), which makes it, runs
 * for every SYN: a program run more a connection). A listener given a bad
 * ACK is returned too: not an arrival (nor the listener cookie_v4/v6_check()
 * return for an ACK that is no cookie's). The return value follows the
 * arguments, whose number changed: lib/load.c loads the variant this
 * kernel's BTF has (5 arguments in 5.10 to 6.12, 6 with drop_reason in
 * later ones, 6.18 among them).
 */
static __noinline int check_req_observe(const struct sock *sk)
{
	return credit_listener(sk, true, false);
}

static __noinline int seed_ns_of(const struct sock *sk)
{
	const struct net *net = BPF_CORE_READ(sk, __sk_common.skc_net.net);

	return mib_seed(net, ns_id(net));
}

static __noinline int check_req_arrival(const struct sock *child)
{
	arrival(child);
	return 0;
}

/* Two calls, each its own stack frame: inlined together they need more than BPF's 512 bytes (mib_seed's too, when needed, from here) */
static __always_inline int check_req_returned(const struct sock *sk, const struct sock *child)
{
	if (check_req_observe(sk) == OBSERVED_UNSEEDED)
		seed_ns_of(sk);
	if (child && (child != sk || BPF_CORE_READ(child, __sk_common.skc_state) == TCP_SYN_RECV_))
		check_req_arrival(child);
	return 0;
}

/* The same for a SYN cookie's final ACK: the child it returns was queued by tcp_get_cookie_sock() */
SEC("fexit/cookie_v4_check")
int BPF_PROG(acq_fexit_cookie_v4_child, const struct sock *sk, struct sk_buff *skb, const struct sock *child)
{
	return check_req_returned(sk, child);
}

SEC("fexit/cookie_v6_check")
int BPF_PROG(acq_fexit_cookie_v6_child, const struct sock *sk, struct sk_buff *skb, const struct sock *child)
{
	return check_req_returned(sk, child);
}

SEC("fexit/tcp_check_req")
int BPF_PROG(acq_fexit_check_req5, const struct sock *sk, struct sk_buff *skb, struct request_sock *req,
	     bool fastopen, bool *req_stolen, const struct sock *child)
{
	return check_req_returned(sk, child);
}

SEC("fexit/tcp_check_req")
int BPF_PROG(acq_fexit_check_req6, const struct sock *sk, struct sk_buff *skb, struct request_sock *req,
	     bool fastopen, bool *req_stolen, void *drop_reason, const struct sock *child)
{
	return check_req_returned(sk, child);
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

/* The listener the entry of call kept on this CPU, taken; NULL if none. */
static __always_inline const struct sock *call_taken(__u32 call)
{
	__u64 *slot = bpf_map_lookup_elem(&call_listener, &call);
	const struct sock *sk;

	if (!slot || !*slot)
		return NULL;
	sk = (const struct sock *)*slot;
	*slot = 0;
	return sk;
}

static __always_inline int call_return(__u32 call, bool ack_path)
{
	const struct sock *sk = call_taken(call);

	return sk ? listener_returned(sk, ack_path) : 0;
}

/* A kprobe and a kretprobe on fn, sharing the per-CPU slot call. */
#define KPROBE_PAIR(fn, call, ack_path)						\
	SEC("kprobe/" #fn)							\
	int BPF_KPROBE(acq_kprobe_##fn, void *arg0, void *arg1, struct sock *arg2) \
	{									\
		/* the listener is tcp_conn_request()'s third argument, the others' first */ \
		return call_enter(call, call == CALL_CONN_REQUEST ? arg2 : arg0); \
	}									\
	SEC("kretprobe/" #fn)							\
	int BPF_KRETPROBE(acq_kprobe_ret_##fn)					\
	{									\
		return call_return(call, ack_path);				\
	}

KPROBE_PAIR(tcp_conn_request, CALL_CONN_REQUEST, false)
KPROBE_PAIR(tcp_check_req, CALL_CHECK_REQ, true)
KPROBE_PAIR(cookie_v4_check, CALL_COOKIE_V4, true)
KPROBE_PAIR(cookie_v6_check, CALL_COOKIE_V6, true)

/* tcp_check_req's return with the child it returns, as acq_fexit_check_req5/6 (lib/load.c picks one way) */
SEC("kretprobe/tcp_check_req")
int BPF_KRETPROBE(acq_kprobe_ret_check_req_child, const struct sock *child)
{
	const struct sock *sk = call_taken(CALL_CHECK_REQ);

	return sk ? check_req_returned(sk, child) : 0;
}

SEC("kretprobe/cookie_v4_check")
int BPF_KRETPROBE(acq_kprobe_ret_cookie_v4_child, const struct sock *child)
{
	const struct sock *sk = call_taken(CALL_COOKIE_V4);

	return sk ? check_req_returned(sk, child) : 0;
}

SEC("kretprobe/cookie_v6_check")
int BPF_KRETPROBE(acq_kprobe_ret_cookie_v6_child, const struct sock *child)
{
	const struct sock *sk = call_taken(CALL_COOKIE_V6);

	return sk ? check_req_returned(sk, child) : 0;
}
