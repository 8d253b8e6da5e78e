// SPDX-License-Identifier: GPL-2.0
/*
 * Sampling: one pass over the TCP sockets of the caller's network namespace
 * writes the current queue depths of every listener to user space, and adds
 * listeners the registry has not seen (those older than acceptq itself).
 */
#include "common.bpf.h"

#define TCP_LISTEN_ 10

SEC("iter/tcp")
int acq_sample(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct seq_file *seq = ctx->meta->seq;
	struct acq_sample rec = {};
	struct tcp_sock *tp;
	struct sock *sk;

	if (!skc || skc->skc_state != TCP_LISTEN_)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp)
		return 0;
	sk = (struct sock *)tp;
	if (key_from_sk(sk, &rec.key))
		return 0;
	rec.sk = (__u64)sk;
	/*
	 * A listener the registry knows with its owner needs neither
	 * registering nor its inode (the owner search's input): a lookup is
	 * far cheaper than a refused insert, at every tick for every listener.
	 */
	struct acq_sock *known = bpf_map_lookup_elem(&socks, &rec.sk);
	if (!known)
		sock_register(sk, false);
	if (!known || !known->pid)
		rec.ino = BPF_CORE_READ(sk, sk_socket, file, f_inode, i_ino);
	rec.backlog = sk_backlog(sk);
	rec.max_backlog = sk_max_backlog(sk);
	rec.syn_backlog = sk_syn_backlog(sk);
	rec.uid = ctx->uid;
	bpf_seq_write(seq, &rec, sizeof(rec));
	return 0;
}
