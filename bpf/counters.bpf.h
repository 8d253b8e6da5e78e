/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Attribution by the kernel's own counters.
 *
 * The kernel counts every accept-queue overflow, SYN-queue drop and SYN
 * cookie in per-CPU TcpExt counters of the namespace, on the CPU that
 * handles the packet, inside the function that decides. A point after it is
 * an observation: the return of that function (the fentry and kprobe sets,
 * overflow_fentry.bpf.c), or where the packet is freed (the tracepoint set,
 * overflow_tp.bpf.c). What this CPU's counters moved since the previous
 * observation on this CPU in this namespace is what the packet just handled
 * did. No queue is read after the fact, so an accept() or a handshake on
 * another CPU in between changes nothing.
 *
 * The ways a move can be credited to the wrong packet: a packet handled
 * with softirqs enabled lets a softirq run between its counter move and its
 * observation (listeners take packets in softirq context, so this is rare;
 * such observations are counted in acq_ns_counts.unsure), and an
 * observation the kernel skips (a program that fires again on a CPU where
 * it is running; user space reads the programs' recursion_misses). Then
 * user space marks a split between several listeners of one namespace as
 * an estimate.
 */
#ifndef ACCEPTQ_COUNTERS_BPF_H
#define ACCEPTQ_COUNTERS_BPF_H

#include "registry.bpf.h"

/* Knob: possible CPUs, for seeding every CPU's view of a new namespace. */
extern const volatile __u32 nr_cpus;
/*
 * Where the kernel's per-CPU variables are. Two ways, chosen by user space:
 * - /proc/kallsyms lists data symbols (CONFIG_KALLSYMS_ALL, every
 *   distribution kernel): per_cpu_offset_addr is __per_cpu_offset[], and
 *   the percpu_* knobs are the variables' addresses (percpu_start stays 0).
 *   &var + __per_cpu_offset[cpu] is the kernel's own per_cpu_ptr().
 * - it does not (this needs 5.19+): the percpu_* knobs are offsets in the
 *   .data..percpu section (from BTF), and acq_calibrate finds each CPU's
 *   offset and where the section starts (see calibrate.bpf.c).
 */
extern const volatile __u64 per_cpu_offset_addr;       /* unsigned long __per_cpu_offset[NR_CPUS] */
extern const volatile __u64 percpu_this_cpu_off;       /* unsigned long this_cpu_off */
extern const volatile __u64 percpu_preempt_count;      /* int __preempt_count (or pcpu_hot's member) */
extern const volatile __u64 percpu_current_task;       /* struct task_struct *current_task */
extern const volatile __u64 percpu_runqueues;          /* struct rq runqueues */
/*
 * Where the three counters are in a namespace's per-CPU array: the
 * indexes of the kernel's enum linux_mib, which is anonymous (no CO-RE
 * relocation can name it) and not only appended to (6.15 inserted
 * entries before LISTENOVERFLOWS). User space reads them from BTF.
 */
extern const volatile __u32 mib_listen_overflows, mib_reqqfull_drop, mib_syncookies_sent;
/* Written once by acq_calibrate. */
#define ACQ_MAX_CPUS 1024
extern __u64 cpu_off[ACQ_MAX_CPUS];     /* per-CPU offset of each CPU */
extern __u64 percpu_start;              /* where .data..percpu starts (0 with kallsyms) */
extern __u32 calibrated_cpus;
extern __u32 preempt_count_ok;          /* __preempt_count read back as expected */

/* Not in older libbpf headers (5.19+; only reached where the kernel has it). */
static void *(*lookup_percpu_elem)(void *map, const void *key, __u32 cpu) = (void *)195;

#define SOFTIRQ_MASK_ 0xff00

/* A pointer's value as a plain number (the verifier forbids arithmetic mixing the two). */
static __always_inline __u64 addr_of(const void *p)
{
	__u64 spill = (__u64)p, v = 0;

	bpf_probe_read_kernel(&v, sizeof(v), &spill);
	return v;
}

/* Addresses and ports of a TCP packet, read from the skb's headers. */
struct pkt {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u8 family;
	__u8 flags;
};

/*
 * Packet parsing. The TCP header's ports and flags. Read first and alone:
 * the flags decide whether the packet matters at all, the addresses are
 * wanted only when the counters moved.
 */
static __always_inline int parse_tcp(const struct sk_buff *skb, struct pkt *p)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 th = BPF_CORE_READ(skb, transport_header);
	struct tcphdr tcp;

	__builtin_memset(p, 0, sizeof(*p));
	if (bpf_probe_read_kernel(&tcp, sizeof(tcp), head + th))
		return -1;
	p->sport = __builtin_bswap16(tcp.source);
	p->dport = __builtin_bswap16(tcp.dest);
	p->flags = ((__u8 *)&tcp)[13];
	return 0;
}

/* The IP header's family and addresses (after parse_tcp). */
static __always_inline int parse_ip(const struct sk_buff *skb, struct pkt *p)
{
	unsigned char *nh = BPF_CORE_READ(skb, head) + BPF_CORE_READ(skb, network_header);
	union {
		struct iphdr v4;
		struct ipv6hdr v6;
	} ip;

	if (bpf_probe_read_kernel(&ip, sizeof(ip.v6), nh))
		return -1;
	if (ip.v4.version == 4) {
		if (ip.v4.protocol != IPPROTO_TCP_)
			return -1;
		p->family = 4;
		__builtin_memcpy(p->saddr, &ip.v4.saddr, 4);
		__builtin_memcpy(p->daddr, &ip.v4.daddr, 4);
		return 0;
	}
	if (ip.v4.version == 6) {
		p->family = 6;
		__builtin_memcpy(p->saddr, &ip.v6.saddr, 16);
		__builtin_memcpy(p->daddr, &ip.v6.daddr, 16);
		return 0;
	}
	return -1;
}

static __always_inline int parse_skb(const struct sk_buff *skb, struct pkt *p)
{
	return parse_tcp(skb, p) || parse_ip(skb, p) ? -1 : 0;
}

/*
 * Network namespace a received skb belongs to. TCP reuses skb->dev's space
 * by the time a listener sees the packet, so go through the input route.
 */
static __always_inline const struct net *skb_net(const struct sk_buff *skb)
{
	unsigned long refdst = BPF_CORE_READ(skb, _skb_refdst);
	const struct net *net = 0;

	if (refdst & ~1UL)
		net = BPF_CORE_READ((struct dst_entry *)(refdst & ~1UL), dev, nd_net.net);
	if (!net)
		net = BPF_CORE_READ(skb, dev, nd_net.net);
	return net;
}

/* The per-CPU offset of a CPU; 0 if unknown. */
static __always_inline __u64 cpu_offset(__u32 cpu)
{
	/* keep the check here: the verifier may not know what the compiler proved earlier */
	asm volatile("" : "+r"(cpu));
	return cpu < ACQ_MAX_CPUS ? cpu_off[cpu] : 0;
}

/* The namespace's counters on the CPU whose per-CPU offset is off. */
static __always_inline int mib_read(const struct net *net, __u64 off, struct acq_mib *m)
{
	__u64 base = (__u64)BPF_CORE_READ(net, mib.net_statistics);

	if (!base || !off)
		return -1;
	base += off;
	/* indexes of enum linux_mib as the running kernel has them (user space reads its BTF) */
	if (bpf_probe_read_kernel(&m->listen_overflows, 8, (void *)(base + 8 * mib_listen_overflows)) ||
	    bpf_probe_read_kernel(&m->reqqfull_drop, 8, (void *)(base + 8 * mib_reqqfull_drop)) ||
	    bpf_probe_read_kernel(&m->syncookies_sent, 8, (void *)(base + 8 * mib_syncookies_sent)))
		return -1;
	return 0;
}

/*
 * Every CPU's view of a namespace, the first time one of its listeners is
 * registered (before any packet can reach it), so the first observation
 * on each CPU has something to compare with. One entry per namespace and
 * CPU, in a plain hash: any CPU can seed another's (a per-CPU map would
 * need bpf_map_lookup_percpu_elem, 5.19+).
 */
static __noinline int mib_seed(const struct net *net, __u64 id)
{
	struct cpu_mib_key key = { .ns = id };
	struct acq_mib m;

	if (bpf_map_lookup_elem(&cpu_mib, &key))
		return 0;
	for (__u32 cpu = 0; cpu < ACQ_MAX_CPUS; cpu++) {
		if (cpu >= nr_cpus)
			break;
		__builtin_memset(&m, 0, sizeof(m));
		mib_read(net, cpu_offset(cpu), &m);
		key.cpu = cpu;
		if (bpf_map_update_elem(&cpu_mib, &key, &m, BPF_NOEXIST) &&
		    !bpf_map_lookup_elem(&cpu_mib, &key)) {
			__sync_fetch_and_add(&map_full, 1);
			return 0;
		}
	}
	return 0;
}

/* Were softirqs enabled here (so that one could have run since the counters moved)? */
static __always_inline bool softirqs_enabled(__u64 off)
{
	int pc = 0;

	if (!preempt_count_ok ||
	    bpf_probe_read_kernel(&pc, sizeof(pc), (void *)(percpu_start + percpu_preempt_count + off)))
		return true; /* cannot tell: assume the worst */
	return !(pc & SOFTIRQ_MASK_);
}

/* What observe_here() found: nothing moved (most packets), something did, or this CPU has no counters of the namespace yet. */
enum { OBSERVED_NOTHING, OBSERVED_MOVED, OBSERVED_UNSEEDED };

/*
 * What this CPU's counters of the namespace moved since its previous
 * observation here (OBSERVED_MOVED, in d). OBSERVED_UNSEEDED: a namespace
 * none of whose listeners was registered; the caller seeds it (mib_seed),
 * from here on it is observed. check_softirq: the caller may run with
 * softirqs enabled (a tracepoint).
 */
static __always_inline int observe_here(const struct net *net, __u64 id, struct acq_mib *d, bool check_softirq)
{
	__u32 cpu = bpf_get_smp_processor_id();
	__u64 area = cpu_offset(cpu);
	struct cpu_mib_key key = { .ns = id, .cpu = cpu };
	struct acq_mib now, *last;

	if (mib_read(net, area, &now))
		return OBSERVED_NOTHING;
	last = bpf_map_lookup_elem(&cpu_mib, &key);
	if (!last)
		return OBSERVED_UNSEEDED;
	d->listen_overflows = now.listen_overflows - last->listen_overflows;
	d->reqqfull_drop = now.reqqfull_drop - last->reqqfull_drop;
	d->syncookies_sent = now.syncookies_sent - last->syncookies_sent;
	*last = now;
	if (check_softirq && softirqs_enabled(area)) {
		struct acq_ns_counts *n = lookup_or_init(&ns_counts, &id, &ns_counts_zero);

		if (n)
			__sync_fetch_and_add(&n->unsure, 1);
	}
	return d->listen_overflows || d->reqqfull_drop || d->syncookies_sent ? OBSERVED_MOVED : OBSERVED_NOTHING;
}

/* observe_here(), seeding an unseeded namespace at once: true when something moved. */
static __always_inline bool observe(const struct net *net, __u64 id, struct acq_mib *d, bool check_softirq)
{
	int r = observe_here(net, id, d, check_softirq);

	if (r == OBSERVED_UNSEEDED)
		mib_seed(net, id);
	return r == OBSERVED_MOVED;
}

/* Send one detail event, within the per-listener rate. */
static __always_inline void send_event(struct acq_counts *c, const struct acq_lkey *k, __u8 path,
				       const struct sock *sk, const struct pkt *p, __u64 now)
{
	if (!events_per_sec || !sk)
		return;
	if (now - c->window_start_ns > 1000000000ULL) {
		c->window_start_ns = now;
		c->window_events = 0;
	}
	if (c->window_events >= events_per_sec) {
		__sync_fetch_and_add(&suppressed_events, 1);
		return;
	}
	c->window_events++;
	struct acq_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&lost_events, 1);
		return;
	}
	e->ts_ns = now;
	e->key = *k;
	__builtin_memcpy(e->raddr, p->saddr, 16);
	e->rport = p->sport;
	e->path = path;
	e->rfamily = p->family;
	e->backlog = sk_backlog(sk);
	e->max_backlog = sk_max_backlog(sk);
	e->syn_backlog = sk_syn_backlog(sk);
	bpf_ringbuf_submit(e, 0);
}

/*
 * Credit what the counters moved to a row (k; NULL if no row could be
 * named) and to its namespace. ack_path: the packet was a final ACK.
 * sk describes the row's queues in detail events (NULL: a member is picked).
 */
static __always_inline void attribute(const struct acq_lkey *k, __u64 cookie, bool ack_path,
				      const struct acq_mib *d, const struct sock *sk,
				      const struct pkt *p)
{
	struct acq_ns_counts *n = lookup_or_init(&ns_counts, &cookie, &ns_counts_zero);
	struct acq_counts *c = k && k->port ? counts_of(k) : NULL;
	__u64 now = bpf_ktime_get_boot_ns();

	if (!c) {
		if (n)
			__sync_fetch_and_add(&n->unmatched,
					     d->listen_overflows + d->reqqfull_drop + d->syncookies_sent);
		return;
	}
	if (!sk) {
		struct acq_group *g = bpf_map_lookup_elem(&groups, k);
		struct group_scan scan;

		if (g) {
			group_scan(g, &scan);
			sk = scan.pick;
		}
	}
	if (d->listen_overflows) {
		if (ack_path)
			__sync_fetch_and_add(&c->overflows_ack, d->listen_overflows);
		else
			__sync_fetch_and_add(&c->overflows_syn, d->listen_overflows);
		if (n)
			__sync_fetch_and_add(&n->overflows, d->listen_overflows);
		if (!c->first_overflow_ns)
			c->first_overflow_ns = now;
		c->last_overflow_ns = now;
		send_event(c, k, ack_path ? ACQ_PATH_ACK : ACQ_PATH_SYN, sk, p, now);
	}
	if (d->reqqfull_drop) {
		__sync_fetch_and_add(&c->syn_drops, d->reqqfull_drop);
		if (n)
			__sync_fetch_and_add(&n->syn_drops, d->reqqfull_drop);
		send_event(c, k, ACQ_PATH_SYN_DROP, sk, p, now);
	}
	if (d->syncookies_sent) {
		__sync_fetch_and_add(&c->cookies, d->syncookies_sent);
		if (n)
			__sync_fetch_and_add(&n->cookies, d->syncookies_sent);
		send_event(c, k, ACQ_PATH_COOKIE, sk, p, now);
	}
}

#endif /* ACCEPTQ_COUNTERS_BPF_H */
