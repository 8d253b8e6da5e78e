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
#include "queue.bpf.h"

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

static __always_inline int on_accept(long fd)
{
	return accepted(sock_of_fd(fd));
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
