// SPDX-License-Identifier: GPL-2.0
/*
 * The registry of listening sockets: who listens where, and since when.
 * listen() and close() are seen through inet_sock_set_state (the
 * tracepoint set's way; the fentry and kprobe sets see them at
 * listen_hooks.bpf.c's hooks, where those load); sockets that were
 * listening before acceptq started are added by the TCP iterator
 * (sample.bpf.c).
 */
#include "queue.bpf.h"

/* A rehearsal (ACCEPTQ_VERIFIER_TRAP=1): acq_set_state reads through a null pointer, for the verifier to refuse. */
const volatile __u8 verifier_trap = 0;

/*
 * Each TCP socket passes here about ten times in its life; acceptq needs
 * four of those transitions, told apart by the arguments alone before any
 * memory is read: a completed handshake (SYN_RECV -> ESTABLISHED), listen()
 * (-> LISTEN), a listener's close (LISTEN -> CLOSE) and the close of a
 * connection that may still be queued (ESTABLISHED or CLOSE_WAIT -> CLOSE:
 * an unaccepted child can be in no other state). The first step of a
 * close by the application (ESTABLISHED -> FIN_WAIT1, CLOSE_WAIT ->
 * LAST_ACK) proves the connection was accepted: its timing entry goes
 * there if accept() left it (io_uring). Other steps are left at once.
 */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(acq_set_state, const struct sock *sk, const int oldstate, const int newstate)
{
	if (verifier_trap)
		return *(volatile int *)(long)oldstate;

	if (oldstate == TCP_SYN_RECV_ && newstate == TCP_ESTABLISHED_) {
		if (sk->sk_protocol == IPPROTO_TCP_)
			arrival(sk);
		return 0;
	}
	if (newstate == TCP_CLOSE_) {
		__u64 skp = (__u64)sk;

		if (oldstate == TCP_ESTABLISHED_ || oldstate == TCP_CLOSE_WAIT_)
			bpf_map_delete_elem(&queued, &skp); /* closed before it was accepted (or never timed) */
		else if (oldstate == TCP_LISTEN_)
			sock_unregister(sk);
		return 0;
	}
	if ((oldstate == TCP_ESTABLISHED_ && newstate == TCP_FIN_WAIT1_) ||
	    (oldstate == TCP_CLOSE_WAIT_ && newstate == TCP_LAST_ACK_)) {
		__u64 skp = (__u64)sk;

		bpf_map_delete_elem(&queued, &skp);
		return 0;
	}
	if (newstate == TCP_LISTEN_ && sk->sk_protocol == IPPROTO_TCP_) {
		/* listen() runs in the owner's context: pid and comm come free */
		const struct net *net = BPF_CORE_READ(sk, __sk_common.skc_net.net);

		mib_seed(net, ns_id(net));
		sock_register(sk, true);
	}
	/* children cloned from a listener leave LISTEN for SYN_RECV: not ours */
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
