// SPDX-License-Identifier: GPL-2.0
/*
 * The registry and the accept queue's figures where fentry or kprobes
 * load, from hooks that fire only for listeners and their children
 * (registry.bpf.c's inet_sock_set_state fires for every state change of
 * every TCP socket, about ten a connection, and the syscall tracepoints
 * slow every syscall of every task):
 *
 *   listen()         return of inet_listen: the socket registers, with the
 *                    backlog asked for (the same two arguments since 4.x)
 *   a listener stops entry of inet_csk_listen_stop: its queue still full
 *   an arrival       return of tcp_check_req with a child it queued, or
 *                    with a Fast Open child at its final ACK
 *                    (overflow_fentry.bpf.c)
 *   an accept        fexit inet_accept, kretprobe inet_csk_accept:
 *                    accept(), accept4(), io_uring's and the kernel's own
 *
 * lib/load.c loads these in place of registry.bpf.c's and
 * accept_wait.bpf.c's programs when all of them load and attach, else
 * the set keeps those (and says so in the notice).
 */
#include "queue.bpf.h"

/* Children timed at most while a stopping listener's queue is walked (more: their entries go when reused) */
#define STOP_WALK_MAX 1024

/*
 * listen() returned 0: the socket listens (from this call or an earlier
 * one: a second listen() only changes the backlog). Runs in the owner's
 * context, so pid and comm come free; the port is known by now.
 */
static __always_inline int listened(const struct sock *sk, int backlog)
{
	struct acq_sock *s;
	__u64 skp = (__u64)sk;

	if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP_ ||
	    BPF_CORE_READ(sk, __sk_common.skc_state) != TCP_LISTEN_)
		return 0;
	s = bpf_map_lookup_elem(&socks, &skp);
	if (!s) {
		const struct net *net = BPF_CORE_READ(sk, __sk_common.skc_net.net);

		mib_seed(net, ns_id(net));
		sock_register(sk, true);
		if (!(s = bpf_map_lookup_elem(&socks, &skp)))
			return 0;
	}
	/* kept as the kernel reads it: an int compared unsigned with somaxconn */
	s->requested_backlog = (__u32)backlog;
	s->requested_seen = 1;
	return 0;
}

SEC("fexit/inet_listen")
int BPF_PROG(acq_fexit_inet_listen, struct socket *sock, int backlog, int ret)
{
	return ret ? 0 : listened(sock->sk, backlog);
}

/* The kprobe set's: the call's arguments kept by thread from entry to return (listen() may sleep). */
struct inet_listen_call {
	__u64 sock;
	__s32 backlog;
	__u32 _pad;
};

/* Sized by user space: as many calls at once as listeners tracked. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ACQ_MAX_SOCKS);
	__type(key, __u64);
	__type(value, struct inet_listen_call);
} inet_listen_calls SEC(".maps");

SEC("kprobe/inet_listen")
int BPF_KPROBE(acq_kprobe_inet_listen, struct socket *sock, int backlog)
{
	__u64 tid = bpf_get_current_pid_tgid();
	struct inet_listen_call call = { .sock = (__u64)sock, .backlog = backlog };

	if (bpf_map_update_elem(&inet_listen_calls, &tid, &call, BPF_ANY))
		__sync_fetch_and_add(&lost_listens, 1);
	return 0;
}

SEC("kretprobe/inet_listen")
int BPF_KRETPROBE(acq_kprobe_ret_inet_listen, int ret)
{
	__u64 tid = bpf_get_current_pid_tgid();
	struct inet_listen_call *call = bpf_map_lookup_elem(&inet_listen_calls, &tid);

	if (!call)
		return 0;
	if (!ret) {
		const struct socket *sock = (const void *)call->sock; /* outside the CO-RE read: not a kernel type */

		listened(BPF_CORE_READ(sock, sk), call->backlog);
	}
	bpf_map_delete_elem(&inet_listen_calls, &tid);
	return 0;
}

/*
 * A listener stops (close(), shutdown()): before the kernel resets the
 * connections still queued, which are counted as reset, not accepted, and
 * whose timing entries go with them.
 */
static __always_inline int listen_stops(const struct sock *sk)
{
	const struct inet_connection_sock *icsk = (const void *)sk;
	struct request_sock *req;
	__u64 child;

	sock_unregister(sk);
	req = BPF_CORE_READ(icsk, icsk_accept_queue.rskq_accept_head);
	for (int i = 0; i < STOP_WALK_MAX && req; i++) {
		child = (__u64)BPF_CORE_READ(req, sk);
		bpf_map_delete_elem(&queued, &child);
		req = BPF_CORE_READ(req, dl_next);
	}
	return 0;
}

SEC("fentry/inet_csk_listen_stop")
int BPF_PROG(acq_fentry_listen_stop, struct sock *sk)
{
	return listen_stops(sk);
}

SEC("kprobe/inet_csk_listen_stop")
int BPF_KPROBE(acq_kprobe_listen_stop, struct sock *sk)
{
	return listen_stops(sk);
}

/*
 * The application took a connection (accept(), accept4(), io_uring,
 * kernel_accept()): newsock holds it. inet_accept() locked the child, so
 * the softirq that queued it (and timed it) is done with it. Only the first
 * two arguments are read: the same in every version (6.10 changed the rest).
 */
SEC("fexit/inet_accept")
int BPF_PROG(acq_fexit_inet_accept, struct socket *sock, struct socket *newsock)
{
	return accepted(newsock->sk);
}

/*
 * The kprobe set's: the child inet_csk_accept() returns (one probe, where
 * inet_accept() would need two for its argument). It returns before the
 * child is locked: a connection taken in the instant between its queueing
 * and tcp_check_req()'s return is not timed (its entry goes when the
 * address is reused).
 */
SEC("kretprobe/inet_csk_accept")
int BPF_KRETPROBE(acq_kprobe_ret_inet_csk_accept, const struct sock *child)
{
	return accepted(child);
}

char LICENSE[] SEC("license") = "GPL";
