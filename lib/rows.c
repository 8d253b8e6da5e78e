// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Rows kept between snapshots (owner, closed time): a dense array, in the
 * order rows were first seen, with an open-addressing index keyed by
 * acq_lkey. Every pass of a snapshot walks the array alone, so its cost is
 * the rows there are, not the table's room; and a row keeps its place from
 * one snapshot to the next (the binding compares rows by place).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

/* acq_listener starts with the same bytes as acq_lkey. */
_Static_assert(offsetof(struct acq_listener, pid) == sizeof(struct acq_lkey), "row key prefix");
_Static_assert(sizeof(struct acq_lkey) == 32, "the key is hashed as four words");

static const struct acq_lkey *key_of(const struct row *r)
{
	return (const struct acq_lkey *)&r->out;
}

static __u64 key_hash(const struct acq_lkey *k)
{
	__u64 w[4], h = 0x9e3779b97f4a7c15ULL;

	memcpy(w, k, sizeof(w));
	for (int i = 0; i < 4; i++) {
		h ^= w[i];
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	return h;
}

/* Point the index at every row of the array. */
static void index_fill(struct row_table *t)
{
	size_t mask = t->index_cap - 1;

	memset(t->index, 0, t->index_cap * sizeof(*t->index));
	for (size_t i = 0; i < t->len; i++) {
		size_t h = key_hash(key_of(&t->v[i])) & mask;
		while (t->index[h])
			h = (h + 1) & mask;
		t->index[h] = (__u32)i + 1;
	}
}

/* A new index of index_cap slots (a power of two), filled from the array. */
static int index_build(struct row_table *t, size_t index_cap)
{
	__u32 *idx = malloc(index_cap * sizeof(*idx));

	if (!idx)
		return -ENOMEM;
	free(t->index);
	t->index = idx;
	t->index_cap = index_cap;
	index_fill(t);
	return 0;
}

/* The smallest index (a power of two, at least 1024) that holds n rows half full. */
static size_t index_cap_for(size_t n)
{
	size_t c = 1024;

	while (c < n * 2)
		c *= 2;
	return c;
}

/*
 * The row of k; with create, a new zeroed row with that key if there is
 * none. A pointer stays good until the next rows_find(create) or
 * rows_prune().
 */
struct row *rows_find(struct row_table *t, const struct acq_lkey *k, bool create)
{
	if (create && (t->len + 1) * 2 > t->index_cap && index_build(t, index_cap_for(t->len + 1)))
		return NULL;
	if (!t->index_cap)
		return NULL;
	size_t mask = t->index_cap - 1, h = key_hash(k) & mask;
	for (;; h = (h + 1) & mask) {
		__u32 slot = t->index[h];
		if (!slot)
			break;
		if (memcmp(key_of(&t->v[slot - 1]), k, sizeof(*k)) == 0)
			return &t->v[slot - 1];
	}
	if (!create || !array_room((void **)&t->v, &t->cap, t->len, sizeof(*t->v), 256))
		return NULL;
	struct row *r = &t->v[t->len];
	memset(r, 0, sizeof(*r));
	memcpy(&r->out, k, sizeof(*k));
	t->index[h] = (__u32)++t->len;
	return r;
}

/* Drop the rows for which drop() is true; the others keep their order. */
void rows_prune(struct row_table *t, bool (*drop)(struct row *, void *), void *ctx)
{
	size_t keep = 0;

	for (size_t i = 0; i < t->len; i++) {
		if (drop(&t->v[i], ctx))
			continue;
		if (keep != i)
			t->v[keep] = t->v[i];
		keep++;
	}
	if (keep == t->len)
		return;
	t->len = keep;
	/* a burst of rows gone: hand the memory back (glibc keeps freed heap pages otherwise) */
	bool shrink = t->cap > 256 && keep * 4 <= t->cap;
	if (shrink) {
		size_t ncap = keep * 2 > 256 ? keep * 2 : 256;
		struct row *nv = realloc(t->v, ncap * sizeof(*nv));
		if (nv) {
			t->v = nv;
			t->cap = ncap;
		}
	}
	size_t icap = index_cap_for(keep);
	if (index_build(t, icap < t->index_cap ? icap : t->index_cap))
		index_fill(t); /* no memory for a smaller one: the one there is */
	if (shrink)
		malloc_trim(0);
}

void rows_free(struct row_table *t)
{
	free(t->v);
	free(t->index);
	memset(t, 0, sizeof(*t));
}
