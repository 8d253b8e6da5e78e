// SPDX-License-Identifier: GPL-2.0
/*
 * Sampling. Every tick, one pass over the registry (acq_sample_all) writes
 * the current queue depths of every known listener, in every namespace, to
 * an array user space reads in place. A pass over the TCP sockets of a
 * namespace (acq_iter_listen, iter/tcp) adds the listeners older than acceptq
 * to the registry: it runs once per namespace, since it walks the whole
 * established-socket hash table (a few ms) to reach the end.
 */
#include "counters.bpf.h"

/*
 * Once per namespace: every listener of the caller's namespace into the
 * registry (those older than acceptq; known ones are left as they are).
 * It writes nothing: acq_sample_all reads the queues.
 */
SEC("iter/tcp")
int acq_iter_listen(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct tcp_sock *tp;

	if (!skc || skc->skc_state != TCP_LISTEN_)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp)
		return 0;
	const struct net *net = BPF_CORE_READ(skc, skc_net.net);

	mib_seed(net, ns_id(net));
	sock_register((struct sock *)tp, false);
	return 0;
}

/* Every registered listener's sample, written by acq_sample_all. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, ACQ_MAX_SOCKS);
	__uint(map_flags, BPF_F_MMAPABLE); /* user space reads it in place */
	__type(key, __u32);
	__type(value, struct acq_sample);
} samples SEC(".maps");

__u32 samples_len = 0;

/*
 * When the connection at the head of the accept queue (the oldest: the
 * queue is kept in order) completed its handshake; 0 if the queue is empty.
 * Its request's SYN-ACK time stands in for one acceptq did not see complete.
 */
static __always_inline __u64 oldest_waiting(const struct sock *sk)
{
	const struct inet_connection_sock *icsk = (const void *)sk;
	struct request_sock *head = BPF_CORE_READ(icsk, icsk_accept_queue.rskq_accept_head);
	struct acq_queued *q;
	__u64 child;

	if (!head)
		return 0;
	child = (__u64)BPF_CORE_READ(head, sk);
	q = bpf_map_lookup_elem(&queued, &child);
	if (q)
		return q->ts_ns;
	return BPF_CORE_READ((struct tcp_request_sock *)head, snt_synack) * 1000;
}

/* Before 5.15 the cgroup pointer shared one word with net_cls/net_prio data (bit 0 set). */
struct sock_cgroup_data___old {
	__u64 val;
};

/*
 * The cgroup (v2) the socket was created in, as `ss --cgroup` shows it: it
 * is recorded on the socket then and never changes, so a listener older
 * than acceptq, or passed to another process, still names its service.
 */
static __always_inline __u64 sk_cgroup_id(const struct sock *sk)
{
	struct cgroup *cg;

	if (bpf_core_field_exists(sk->sk_cgrp_data.cgroup)) {
		cg = BPF_CORE_READ(sk, sk_cgrp_data.cgroup);
	} else {
		struct sock_cgroup_data___old *d = (void *)__builtin_preserve_access_index(&sk->sk_cgrp_data);
		__u64 v = BPF_CORE_READ(d, val);

		if (v & 1)
			return 0;
		cg = (struct cgroup *)v;
	}
	return cg ? BPF_CORE_READ(cg, kn, id) : 0;
}

/*
 * One registry entry (the socket at skp). skp is on the stack: the map
 * iterator's own key buffer cannot be given to helpers before 5.x.
 */
static __always_inline long sample_one(__u64 skp, struct acq_sock *s)
{
	__u32 i = samples_len;
	struct acq_sample *rec = bpf_map_lookup_elem(&samples, &i);
	const struct sock *sk = (const struct sock *)skp;
	struct acq_lkey key;

	if (!rec)
		return 1; /* full: the registry holds no more than this */
	/*
	 * The registry's key is the socket's address; the entry goes when the
	 * socket leaves LISTEN, and listeners are freed only after an RCU grace
	 * period, which this runs inside. Reads go through BPF_CORE_READ all
	 * the same, and a socket no longer listening is skipped.
	 */
	if (BPF_CORE_READ(sk, __sk_common.skc_state) != TCP_LISTEN_) {
		/* registered by the iterator as its close ran: the close is past, drop it */
		key = s->key;
		group_del(&key, skp);
		bpf_map_delete_elem(&socks, &skp);
		return 0;
	}
	/*
	 * A listener's key does not change but for its port, given after
	 * listen() where there was no bind(): the row is the real port's. The
	 * full key is read again only then (six reads fewer a socket a tick).
	 */
	if (!s->key.port || BPF_CORE_READ(sk, __sk_common.skc_num) != s->key.port)
		sock_rekey(sk, s);
	if (!s->key.port)
		return 0;
	if (!s->sampled) {
		s->sk_cgroup = sk_cgroup_id(sk);
		s->uid = BPF_CORE_READ(sk, sk_uid.val);
		s->sampled = 1;
	}
	if (!s->ino)
		s->ino = BPF_CORE_READ(sk, sk_socket, file, f_inode, i_ino);
	/* the counters, and the group that goes with them: a row user space dropped in the same tick as this socket joined it */
	key = s->key;
	if (!bpf_map_lookup_elem(&groups, &key))
		row_join(&key, skp);
	struct acq_counts *c = bpf_map_lookup_elem(&counts, &key);
	rec->sk = skp;
	rec->key = key;
	rec->backlog = sk_backlog(sk);
	rec->max_backlog = sk_max_backlog(sk);
	rec->syn_backlog = sk_syn_backlog(sk);
	rec->ino = s->ino;
	rec->uid = s->uid;
	rec->requested_backlog = s->requested_backlog;
	rec->registered_backlog = s->registered_backlog;
	rec->requested_seen = s->requested_seen;
	rec->oldest_ns = oldest_waiting(sk);
	rec->arrivals = c ? c->arrivals : 0;
	rec->closed_queued = c ? c->closed_queued : 0;
	rec->closed_registered = c ? c->closed_registered : 0;
	rec->cgroup_id = s->sk_cgroup;
	samples_len = i + 1;
	return 0;
}

/*
 * Never attached: user space runs it once a tick (BPF_PROG_TEST_RUN) to
 * sample every listener of every namespace in one pass over the registry.
 */
static long sample_elem(struct bpf_map *map, const __u64 *skp, struct acq_sock *s, void *ctx)
{
	return sample_one(*skp, s);
}

SEC("raw_tp")
int acq_sample_all(void *ctx)
{
	samples_len = 0;
	if (KERNEL_HAS_HELPER(for_each_map_elem))
		bpf_for_each_map_elem(&socks, sample_elem, NULL, 0);
	return 0;
}

/*
 * The same pass before bpf_for_each_map_elem (5.13): an iterator over the
 * registry's entries, read by user space once a tick after it zeroes
 * samples_len.
 */
SEC("iter/bpf_map_elem")
int acq_iter_sample(struct bpf_iter__bpf_map_elem *ctx)
{
	struct acq_sock *s = ctx->value;
	__u64 *skp = ctx->key;

	if (!skp || !s)
		return 0;
	sample_one(*skp, s);
	return 0;
}
