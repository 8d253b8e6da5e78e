// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A row's bounds over the interval that just ended (peak accept-queue
 * depth, shortest and longest wait): the kernel keeps one copy per CPU
 * (bpf/acceptq.h, struct acq_bounds), merged here.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "internal.h"
#include "acceptq.skel.h"

/* One CPU's copy into the row: only what belongs to generation gen, current or kept aside. */
static void merge_cpu(struct acq_listener *out, bool *have_wait, const struct acq_bounds *b, __u32 gen)
{
	__u32 peak = b->peak_gen == gen ? b->peak_backlog : b->peak_prev_gen == gen ? b->peak_prev_backlog : 0;

	if (peak > out->peak_backlog)
		out->peak_backlog = peak;
	bool cur = b->wait_gen == gen, prev = !cur && b->wait_prev_gen == gen;
	if (!cur && !prev)
		return;
	__u32 min = cur ? b->wait_min_us : b->wait_prev_min_us;
	__u32 max = cur ? b->wait_max_us : b->wait_prev_max_us;
	if (!*have_wait || min < out->wait_min_us)
		out->wait_min_us = min;
	if (!*have_wait || max > out->wait_max_us)
		out->wait_max_us = max;
	*have_wait = true;
}

struct bounds_ctx {
	struct acq *a;
	int ncpus;
	__u32 gen;
};

static int merge_row(const void *key, const void *value, void *ctx)
{
	const struct bounds_ctx *x = ctx;
	const struct acq_bounds *v = value;
	struct row *r = rows_find(&x->a->rows, key, false);
	bool have_wait = false;

	if (!r)
		return 0;
	for (int c = 0; c < x->ncpus; c++)
		merge_cpu(&r->out, &have_wait, &v[c], x->gen);
	return 0;
}

/* rows a batch: up to 1024, and a batch's values (a copy per possible CPU) within 1 MB, kept from tick to tick */
#define BATCH_MAX 1024
#define BATCH_BYTES (1 << 20)

int read_bounds(struct acq *a, __u32 gen)
{
	struct map_walk *w = &a->bounds_walk;
	int e;
	struct bounds_ctx x = { a, libbpf_num_possible_cpus(), gen };

	if (x.ncpus <= 0)
		return x.ncpus ? x.ncpus : -EINVAL;
	/* a per-CPU value comes as one copy per possible CPU, each rounded up to 8 bytes */
	_Static_assert(sizeof(struct acq_bounds) % 8 == 0, "per-CPU copies are 8-byte aligned");
	__u32 value_size = (__u32)(sizeof(struct acq_bounds) * x.ncpus);
	__u32 batch = BATCH_BYTES / value_size;
	if ((e = map_walk_alloc(w, sizeof(struct acq_lkey), value_size, batch < 2 ? 2 : batch > BATCH_MAX ? BATCH_MAX : batch)))
		return e;
	return map_walk(bpf_map__fd(a->skel->maps.bounds), w, merge_row, &x);
}
