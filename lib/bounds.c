// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A row's bounds over the interval that just ended (peak accept-queue
 * depth, shortest and longest wait): the kernel keeps one copy per CPU
 * (bpf/acceptq.h, struct acq_bounds), merged here.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
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

static void merge_row(struct acq *a, const struct acq_lkey *k, const struct acq_bounds *v, int ncpus, __u32 gen)
{
	struct row *r = rows_find(&a->rows, k, false);
	bool have_wait = false;

	if (!r)
		return;
	for (int c = 0; c < ncpus; c++)
		merge_cpu(&r->out, &have_wait, &v[c], gen);
}

#define BATCH 1024

/* Batched where the kernel can (5.6+), one key at a time where not, as read_counts. */
int read_bounds(struct acq *a, __u32 gen)
{
	int fd = bpf_map__fd(a->skel->maps.bounds);
	int ncpus = libbpf_num_possible_cpus();
	struct acq_lkey *keys = NULL;
	struct acq_bounds *vals = NULL;
	__u32 in = 0, out = 0;
	bool first = true;
	int e = 0;

	if (ncpus <= 0)
		return ncpus ? ncpus : -EINVAL;
	/* a per-CPU value comes as one copy per possible CPU, each rounded up to 8 bytes */
	_Static_assert(sizeof(struct acq_bounds) % 8 == 0, "per-CPU copies are 8-byte aligned");
	keys = calloc(BATCH, sizeof(*keys));
	vals = calloc((size_t)BATCH * ncpus, sizeof(*vals));
	if (!keys || !vals) {
		e = -ENOMEM;
		goto out;
	}
	for (;;) {
		__u32 n = BATCH;
		int r = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys, vals, &n, NULL);
		int err = r ? -errno : 0;
		for (__u32 i = 0; i < n; i++)
			merge_row(a, &keys[i], &vals[(size_t)i * ncpus], ncpus, gen);
		if (err == -ENOENT)
			goto out; /* done */
		if (err == -EINVAL || err == -EOPNOTSUPP || err == -524 /* ENOTSUPP */)
			break;  /* no batch support: walk key by key */
		if (err) {
			e = err;
			goto out;
		}
		in = out;
		first = false;
	}
	struct acq_lkey k, next, *prev = NULL;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, vals) == 0)
			merge_row(a, &k, vals, ncpus, gen);
	}
out:
	free(keys);
	free(vals);
	return e;
}
