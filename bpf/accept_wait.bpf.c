// SPDX-License-Identifier: GPL-2.0
/*
 * Time in the accept queue: from the handshake completing (registry.bpf.c
 * notes it per child) to accept() returning the connection, per row as a
 * log2 histogram in µs with the sum, minimum and maximum. And the backlog
 * the application asked listen() for, before net.core.somaxconn cut it.
 *
 * On a kernel that allows only tracepoints, accept() and listen() are seen
 * through their syscall tracepoints (attaching any makes every syscall of
 * every task take the slower traced path: BENCHMARKS.md has the cost).
 * accept() through io_uring passes no syscall tracepoint: such connections
 * are not timed (their entry goes when they close) and never show a wait.
 */
#include "registry.bpf.h"

/*
 * The socket behind a file descriptor of the current task; NULL if none.
 * Only for a descriptor a successful accept() or listen() returned or was
 * given, so it is a socket's: private_data of its file is its struct socket
 * (not checked again: the key lookup that follows is the check). The task's
 * BTF gives the file table by direct loads; the slot, the file and the
 * socket are plain addresses from there on (BTF types no array of
 * pointers), read with one helper call each.
 */
static __always_inline const struct sock *sock_of_fd(long fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	const struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *file = NULL;
	struct socket *sock;

	if (fd < 0 || (unsigned long)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return NULL;
	sock = BPF_CORE_READ(file, private_data);
	return sock ? BPF_CORE_READ(sock, sk) : NULL;
}

/* floor(log2(us)), capped at the last bucket (0 for 0): five steps, not a loop over the buckets */
static __always_inline __u32 log2_bucket(__u64 us)
{
	__u32 b = 0;

	if (us >> 32)
		return ACQ_WAIT_BUCKETS - 1;
	if (us >> 16) { us >>= 16; b += 16; }
	if (us >> 8) { us >>= 8; b += 8; }
	if (us >> 4) { us >>= 4; b += 4; }
	if (us >> 2) { us >>= 2; b += 2; }
	if (us >> 1)
		b += 1;
	return b < ACQ_WAIT_BUCKETS ? b : ACQ_WAIT_BUCKETS - 1;
}

static __always_inline int on_accept(long fd)
{
	const struct sock *child = sock_of_fd(fd);
	struct acq_queued *q;
	struct acq_counts *c;
	__u64 skp = (__u64)child, us;
	__u32 gen = peak_gen;

	if (!child)
		return 0;
	q = bpf_map_lookup_elem(&queued, &skp);
	if (!q)
		return 0;
	if (q->portpair != sk_portpair(child)) {
		bpf_map_delete_elem(&queued, &skp);
		return 0; /* another connection at a reused address: not this one's time */
	}
	us = (bpf_ktime_get_ns() - q->ts_ns) / 1000;
	c = bpf_map_lookup_elem(&counts, &q->key);
	if (c) {
		__sync_fetch_and_add(&c->waited, 1);
		__sync_fetch_and_add(&c->wait_sum_us, us);
		__u32 b = log2_bucket(us);
		if (b < ACQ_WAIT_BUCKETS)
			__sync_fetch_and_add(&c->wait_hist[b], 1);
	}
	/* the bounds: this CPU's copy (common.bpf.h's peak_update says why) */
	struct acq_lkey key = q->key;
	struct acq_bounds *bd = c ? bounds_of(&key) : NULL;
	if (bd) {
		__u32 us32 = us > 0xffffffffULL ? 0xffffffff : (__u32)us;
		if (bd->wait_gen != gen) {
			/* the snapshot that started gen may not have read the last one yet */
			bd->wait_prev_gen = bd->wait_gen;
			bd->wait_prev_min_us = bd->wait_min_us;
			bd->wait_prev_max_us = bd->wait_max_us;
			bd->wait_gen = gen;
			bd->wait_min_us = bd->wait_max_us = us32;
		} else {
			if (us32 < bd->wait_min_us)
				bd->wait_min_us = us32;
			if (us32 > bd->wait_max_us)
				bd->wait_max_us = us32;
		}
	}
	bpf_map_delete_elem(&queued, &skp);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int acq_accept4_exit(struct trace_event_raw_sys_exit *ctx)
{
	return on_accept(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int acq_accept_exit(struct trace_event_raw_sys_exit *ctx)
{
	return on_accept(ctx->ret);
}

/*
 * listen(fd, backlog) of a thread, between its syscall's entry and exit.
 * The backlog is kept as the kernel reads it: an int compared unsigned
 * with somaxconn, so a negative one asks for as much as somaxconn allows.
 */
struct listen_call {
	__s64 fd;
	__u32 backlog;
	__u32 _pad;
};

/* Sized by user space: as many calls at once as listeners tracked. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ACQ_MAX_SOCKS);
	__type(key, __u64);
	__type(value, struct listen_call);
} listen_calls SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_listen")
int acq_listen_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u64 tid = bpf_get_current_pid_tgid();
	struct listen_call call = { .fd = (__s64)ctx->args[0], .backlog = (__u32)ctx->args[1] };

	if (bpf_map_update_elem(&listen_calls, &tid, &call, BPF_ANY))
		__sync_fetch_and_add(&lost_listens, 1); /* its socket's requested backlog stays unknown */
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_listen")
int acq_listen_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u64 tid = bpf_get_current_pid_tgid(), skp;
	struct listen_call *call = bpf_map_lookup_elem(&listen_calls, &tid);
	struct acq_sock *s;

	if (!call)
		return 0;
	if (ctx->ret == 0) {
		/* the socket registered itself at its LISTEN transition, inside this call */
		skp = (__u64)sock_of_fd(call->fd);
		s = bpf_map_lookup_elem(&socks, &skp);
		if (s) {
			s->requested_backlog = call->backlog;
			s->requested_seen = 1;
			/* a listen() without bind() has its port only now */
			if (!s->key.port)
				sock_rekey((const struct sock *)skp, s);
		}
	}
	bpf_map_delete_elem(&listen_calls, &tid);
	return 0;
}
