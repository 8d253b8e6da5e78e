/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The registry: the listening sockets acceptq knows (socks), the rows they
 * make (a SO_REUSEPORT group is one row: groups), joining and leaving a row,
 * rekeying a socket whose port came after listen(), and finding the row a
 * packet's address or a child socket leads to.
 */
#ifndef ACCEPTQ_REGISTRY_BPF_H
#define ACCEPTQ_REGISTRY_BPF_H

#include "sock.bpf.h"

/*
 * Loops over a group's slots are unrolled: before 6.x the verifier refuses a
 * loop whose body ends in a helper call ("back-edge"), as these do.
 *
 * A slot is claimed with a plain check and store, not compare-and-swap:
 * 5.10 refuses any program holding a BPF atomic it does not know, even in
 * code it never runs. Each socket starts at a slot of its own (from its
 * address), so two listen() calls on one key at the same instant rarely
 * meet; if they do, one socket is left out of the list (and of the peak
 * sum), never out of members or the counts.
 */
static __always_inline __u32 slot_start(__u64 skp)
{
	return (__u32)(skp >> 6) % ACQ_GROUP_MAX;
}

static __always_inline void group_add(const struct acq_lkey *k, __u64 skp)
{
	struct acq_group zero = {};
	struct acq_group *g = lookup_or_init(&groups, k, &zero);

	if (!g)
		return;
	__sync_fetch_and_add(&g->members, 1);
	/* a group larger than the list: counted in full, left out of the peak sum */
	/* a row's only socket takes slot 0, where group_scan() looks first */
	__u32 start = g->members <= 1 ? 0 : slot_start(skp);
	bool listed = false;
	_Pragma("unroll") for (int i = 0; i < ACQ_GROUP_MAX; i++) {
		__u64 *slot = &g->socks[(start + i) % ACQ_GROUP_MAX];

		if (!listed && !*slot) {
			*slot = skp;
			listed = true;
		}
	}
}

static __always_inline void group_del(const struct acq_lkey *k, __u64 skp)
{
	struct acq_group *g = bpf_map_lookup_elem(&groups, k);

	if (!g)
		return;
	__sync_fetch_and_add(&g->members, -1);
	_Pragma("unroll") for (int i = 0; i < ACQ_GROUP_MAX; i++)
		if (g->socks[i] == skp)
			g->socks[i] = 0;
}

/*
 * A socket that called listen() without bind() is given its port only
 * after the LISTEN transition: it is registered under port 0 and moved to
 * its real key (rekeyed) once the port is known. Rows are made for real
 * keys only.
 */
static __always_inline void row_join(const struct acq_lkey *k, __u64 skp)
{
	group_add(k, skp);
	if (k->port)
		counts_of(k);
}

/* Track a listening socket; owner is the current task when called from listen(). */
static __always_inline void sock_register(const struct sock *sk, bool from_listen)
{
	struct acq_sock s = {};
	__u64 skp = (__u64)sk;

	if (key_from_sk(sk, &s.key))
		return;
	struct acq_sock *old = bpf_map_lookup_elem(&socks, &skp);
	if (old) {
		if (!from_listen)
			return; /* already known: listen() registered it first */
		/* the memory of a socket whose close went unseen: start afresh */
		group_del(&old->key, skp);
		bpf_map_delete_elem(&socks, &skp);
	}
	if (from_listen) {
		s.pid = bpf_get_current_pid_tgid() >> 32;
		s.cgroup_id = bpf_get_current_cgroup_id();
		bpf_get_current_comm(s.comm, sizeof(s.comm));
	}
	s.ino = BPF_CORE_READ(sk, sk_socket, file, f_inode, i_ino);
	/* 0 at the LISTEN transition; at fexit inet_listen a handshake may have come first */
	s.registered_backlog = sk_backlog(sk);
	if (bpf_map_update_elem(&socks, &skp, &s, BPF_NOEXIST)) {
		if (!bpf_map_lookup_elem(&socks, &skp))
			__sync_fetch_and_add(&map_full, 1);
		return;
	}
	row_join(&s.key, skp);
}

/*
 * A listener leaves LISTEN before the kernel empties its queue
 * (inet_csk_listen_stop runs after the state change), so the connections
 * still queued are read here: they are reset, not accepted.
 */
static __always_inline void sock_unregister(const struct sock *sk)
{
	__u64 skp = (__u64)sk;
	struct acq_sock *s = bpf_map_lookup_elem(&socks, &skp);
	struct acq_counts *c;

	if (!s)
		return; /* a child cloned from a listener, not the listener */
	if (s->key.port && (c = bpf_map_lookup_elem(&counts, &s->key))) {
		__sync_fetch_and_add(&c->closed_queued, sk_backlog(sk));
		__sync_fetch_and_add(&c->closed_registered, s->registered_backlog);
	}
	group_del(&s->key, skp);
	bpf_map_delete_elem(&socks, &skp);
}

_Static_assert(sizeof(struct acq_lkey) == 32, "sock_rekey compares keys as 4 words");

/* Move a registered socket to the key it has now (its port came after listen()). */
static __always_inline void sock_rekey(const struct sock *sk, struct acq_sock *s)
{
	struct acq_lkey now;

	if (key_from_sk(sk, &now) || !now.port)
		return;
	struct acq_lkey old = s->key; /* on the stack: a map iterator's value cannot key a lookup */
	const __u64 *a = (const void *)&now, *b = (const void *)&old;
	if (a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3])
		return;
	group_del(&old, (__u64)sk);
	s->key = now;
	row_join(&now, (__u64)sk);
}

/*
 * The row a packet to (netns, daddr, dport) is delivered to, the way the
 * kernel's listener lookup prefers: exact address over wildcard, IPv4
 * sockets over dual-stack IPv6 ones.
 */
static __always_inline struct acq_group *group_for(const struct acq_lkey *ns, __u8 family,
						   const __u8 *daddr, __u16 dport,
						   struct acq_lkey *k)
{
	struct acq_group *g;

	__builtin_memset(k, 0, sizeof(*k));
	k->netns = ns->netns;
	k->netns_cookie = ns->netns_cookie;
	k->port = dport;
	if (family == 4) {
		k->family = 4;
		__builtin_memcpy(k->addr, daddr, 4);
		if ((g = bpf_map_lookup_elem(&groups, k)))
			return g;
		/* dual-stack socket bound to ::ffff:a.b.c.d */
		k->family = 6;
		__builtin_memset(k->addr, 0, 16);
		k->addr[10] = 0xff;
		k->addr[11] = 0xff;
		__builtin_memcpy(&k->addr[12], daddr, 4);
		if ((g = bpf_map_lookup_elem(&groups, k)))
			return g;
		k->family = 4;
		__builtin_memset(k->addr, 0, 16);
		if ((g = bpf_map_lookup_elem(&groups, k)))
			return g;
		k->family = 6;
		return bpf_map_lookup_elem(&groups, k);
	}
	k->family = 6;
	__builtin_memcpy(k->addr, daddr, 16);
	if ((g = bpf_map_lookup_elem(&groups, k)))
		return g;
	__builtin_memset(k->addr, 0, 16);
	return bpf_map_lookup_elem(&groups, k);
}

/*
 * The row of a passive child's listener (the child a BTF pointer), in one
 * lookup: the child shares its listener's bind bucket (icsk_bind2_hash),
 * which holds the address the listener bound, wildcard or not, so the
 * listener's own key is at hand. Where that misses (a kernel without the
 * bucket, a port given after listen() and not yet rekeyed), the row the
 * child's address leads to.
 */
static __always_inline struct acq_group *group_of_child(const struct sock *child, struct acq_lkey *k)
{
	struct acq_lkey c;
	struct acq_group *g;

	if (key_from_sk(child, &c))
		return NULL;
	if (bpf_core_field_exists(struct inet_connection_sock, icsk_bind2_hash) &&
	    bpf_core_field_exists(struct inet_bind2_bucket, addr_type)) {
		/* read, not loaded: a kretprobe's child is a plain address, not a BTF pointer */
		const struct inet_connection_sock *icsk = (const void *)child;
		const struct inet_bind2_bucket *tb2 = BPF_CORE_READ(icsk, icsk_bind2_hash);

		if (tb2) {
			*k = c;
			/* an AF_INET socket's address is the v4-mapped one's last word */
			if (c.family == 4) {
				__u32 a4 = BPF_CORE_READ(tb2, v6_rcv_saddr.in6_u.u6_addr32[3]);

				__builtin_memcpy(k->addr, &a4, 4);
			} else
				BPF_CORE_READ_INTO(&k->addr, tb2, v6_rcv_saddr.in6_u.u6_addr8);
			if ((g = bpf_map_lookup_elem(&groups, k)))
				return g;
		}
	}
	return group_for(&c, c.family, c.addr, c.port, k);
}

/* Sum of the listed members' accept queues, and one member to describe the row by. */
struct group_scan {
	const struct acq_group *g;
	const struct sock *pick;
	__u32 backlog;
};

static __always_inline void group_scan(const struct acq_group *g, struct group_scan *c)
{
	__builtin_memset(c, 0, sizeof(*c));
	c->g = g;
	/* the common row is one socket in slot 0: look no further */
	if (g->members <= 1 && g->socks[0]) {
		c->pick = (const void *)g->socks[0];
		c->backlog = sk_backlog(c->pick);
		return;
	}
	_Pragma("unroll") for (int i = 0; i < ACQ_GROUP_MAX; i++) {
		const struct sock *sk = (const void *)g->socks[i];

		if (sk) {
			c->backlog += sk_backlog(sk);
			if (!c->pick)
				c->pick = sk;
		}
	}
}

#endif /* ACCEPTQ_REGISTRY_BPF_H */
