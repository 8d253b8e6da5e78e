// SPDX-License-Identifier: GPL-2.0
/*
 * Owners of listeners older than acceptq (registry entries with pid 0):
 * one pass over every file of every task (iter/task_file), in place of
 * reading /proc/PID/fd of every process. It runs when user space reads the
 * iterator (lib/owners.c), not attached to any event.
 *
 * It emits one record per fd that holds such a socket and writes nothing
 * to the registry. Several processes may hold one socket (an nginx master
 * and its workers): user space keeps the lowest pid, the one the /proc
 * scan finds first, so both ways name the same owner; the order tasks come
 * in here does not matter. Writing into the registry entry instead would
 * go through a pointer the entry's removal at close() may hand to another
 * socket's entry, and could not tell its own pid from listen()'s to keep
 * the lowest.
 */
#include "common.bpf.h"

/* Records emitted since load (read by the tests, to tell which way owners were found). */
__u64 owner_records = 0;

SEC("iter/task_file")
int acq_iter_owners(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct acq_owner_rec rec = {};
	struct socket *sock;
	struct acq_sock *s;
	__u64 skp;

	if (!task || !file)
		return 0;
	sock = bpf_sock_from_file(file);
	if (!sock)
		return 0;
	skp = (__u64)BPF_CORE_READ(sock, sk);
	s = bpf_map_lookup_elem(&socks, &skp);
	if (!s || s->pid)
		return 0; /* not a listener, or its owner is known from listen() */
	rec.pid = task->tgid;
	rec.ino = BPF_CORE_READ(file, f_inode, i_ino);
	/* the thread group's name: a thread with a file table of its own is visited too */
	BPF_CORE_READ_STR_INTO(&rec.comm, task, group_leader, comm);
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	__sync_fetch_and_add(&owner_records, 1);
	return 0;
}
