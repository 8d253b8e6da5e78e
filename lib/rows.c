// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Rows kept between snapshots (owner, closed time): an open-addressing hash
 * table keyed by acq_lkey.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

static bool key_eq(const struct acq_lkey *a, const struct acq_lkey *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

static __u64 key_hash(const struct acq_lkey *k)
{
	const unsigned char *p = (const void *)k;
	__u64 h = 1469598103934665603ULL;

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

/*
 * Move every row of t into nt but those for which drop() is true (none
 * without drop), and make nt the table.
 */
static void rows_move(struct row_table *t, struct row_table nt,
		      bool (*drop)(struct row *, void *), void *ctx)
{
	for (size_t i = 0; i < t->cap; i++) {
		struct row *r = &t->slots[i];
		if (!r->used || (drop && drop(r, ctx)))
			continue;
		struct row *n = rows_find(&nt, (const struct acq_lkey *)&r->out, true);
		if (n)
			*n = *r;
	}
	free(t->slots);
	*t = nt;
}

static int rows_grow(struct row_table *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 1024;
	struct row *ns = calloc(ncap, sizeof(*ns));

	if (!ns)
		return -ENOMEM;
	rows_move(t, (struct row_table){ ns, ncap, 0 }, NULL, NULL);
	return 0;
}

/* acq_listener starts with the same bytes as acq_lkey. */
_Static_assert(offsetof(struct acq_listener, pid) == sizeof(struct acq_lkey), "row key prefix");

struct row *rows_find(struct row_table *t, const struct acq_lkey *k, bool create)
{
	if (create && (t->len + 1) * 2 > t->cap && rows_grow(t))
		return NULL;
	if (!t->cap)
		return NULL;
	size_t i = key_hash(k) & (t->cap - 1);
	for (;;) {
		struct row *r = &t->slots[i];
		if (!r->used) {
			if (!create)
				return NULL;
			memset(r, 0, sizeof(*r));
			r->used = true;
			memcpy(&r->out, k, sizeof(*k));
			t->len++;
			return r;
		}
		if (key_eq((const struct acq_lkey *)&r->out, k))
			return r;
		i = (i + 1) & (t->cap - 1);
	}
}

/* Rebuild the table without the rows for which drop() is true. */
void rows_prune(struct row_table *t, bool (*drop)(struct row *, void *), void *ctx)
{
	size_t cap = t->cap;

	rows_move(t, (struct row_table){ NULL, 0, 0 }, drop, ctx);
	/* a burst of rows gone: hand the heap's free pages back (glibc keeps them otherwise) */
	if (t->cap * 4 <= cap)
		malloc_trim(0);
}
