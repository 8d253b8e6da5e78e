// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Every entry of a hash map, as the tick reads the kernel's per-row maps:
 * batched where the kernel can (5.6+: one syscall per batch), one key at a
 * time where it cannot.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "internal.h"

int map_walk_alloc(struct map_walk *w, __u32 key_size, __u32 value_size, __u32 batch)
{
	if (w->keys)
		return 0;
	*w = (struct map_walk){ calloc(batch, key_size), calloc(batch, value_size), key_size, value_size, batch };
	if (w->keys && w->vals)
		return 0;
	map_walk_free(w);
	return -ENOMEM;
}

void map_walk_free(struct map_walk *w)
{
	free(w->keys);
	free(w->vals);
	*w = (struct map_walk){ 0 };
}

int map_walk(int fd, struct map_walk *w, map_visit visit, void *ctx)
{
	__u32 in = 0, out = 0;
	bool first = true;
	int e;

	for (;;) {
		__u32 n = w->batch;
		int err = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, w->keys, w->vals, &n, NULL) ? -errno : 0;
		/* entries came with success, and with the last (partial) batch; any other error leaves n as it was asked */
		if (err && err != -ENOENT)
			n = 0;
		for (__u32 i = 0; i < n; i++)
			if ((e = visit((const char *)w->keys + (size_t)i * w->key_size, (const char *)w->vals + (size_t)i * w->value_size, ctx)))
				return e;
		if (err == -ENOENT)
			return 0; /* done */
		if (err == -EINVAL || err == -EOPNOTSUPP || err == -524 /* ENOTSUPP */)
			break;  /* no batch support: walk key by key */
		if (err)
			return err;
		in = out;
		first = false;
	}
	/* the first two key slots: the key read and the next one */
	char *key = w->keys, *next = (char *)w->keys + w->key_size;
	void *prev = NULL;
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, w->key_size);
		prev = key;
		if (bpf_map_lookup_elem(fd, key, w->vals) == 0 && (e = visit(key, w->vals, ctx)))
			return e;
	}
	return 0;
}
