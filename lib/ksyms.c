// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * What the BPF programs are told about the kernel: function ranges from
 * /proc/kallsyms and per-CPU variable offsets from BTF.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/btf.h>
#include "internal.h"

void percpu_offsets(const struct btf *btf, struct percpu_var *vars, size_t n)
{
	int id = btf__find_by_name_kind(btf, ".data..percpu", BTF_KIND_DATASEC);

	if (id > 0) {
		const struct btf_type *sec = btf__type_by_id(btf, id);
		const struct btf_var_secinfo *v = btf_var_secinfos(sec);
		for (int i = 0; i < btf_vlen(sec); i++, v++) {
			const char *name = btf__name_by_offset(btf, btf__type_by_id(btf, v->type)->name_off);
			for (size_t j = 0; j < n; j++)
				if (!strcmp(name, vars[j].name))
					*(__u64 *)vars[j].offset = v->offset;
		}
	}
}

/* Is name in a comma-separated list (the rehearsal variables ACCEPTQ_REFUSE, ACCEPTQ_HIDE_KSYMS)? */
bool listed(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, name, n) && (p[n] == ',' || p[n] == 0))
			return true;
	return false;
}

int kallsyms_ranges(struct ksym_range *r, size_t n)
{
	/* ACCEPTQ_HIDE_KSYMS=sym,sym treats those symbols as absent from /proc/kallsyms, to rehearse that path. */
	const char *hide = getenv("ACCEPTQ_HIDE_KSYMS");

	/*
	 * One read of the whole file, parsed by hand: the kernel makes the
	 * text afresh on every read (tens of ms for ~100k symbols) and sscanf
	 * over every line cost as much again; this is most of start-up.
	 */
	int fd = open("/proc/kallsyms", O_RDONLY | O_CLOEXEC);
	size_t cap = 8 << 20, len = 0;
	char *buf;

	if (fd < 0)
		return -errno;
	buf = malloc(cap + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		if (len == cap) {
			char *nb = realloc(buf, cap * 2 + 1);
			if (!nb) {
				free(buf);
				close(fd);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t got = read(fd, buf + len, cap - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		len += got;
	}
	close(fd);
	buf[len] = 0;
	/*
	 * "addr type name [module]" per line. The end of a function is the
	 * lowest symbol address above its start: the kernel's own text is
	 * listed in address order, so every later line can only lower it.
	 */
	for (char *line = buf; line < buf + len;) {
		char *eol = memchr(line, '\n', buf + len - line);
		if (!eol)
			eol = buf + len;
		*eol = 0;
		char *q;
		unsigned long long addr = strtoull(line, &q, 16);
		if (q != line && q[0] == ' ' && q[1] && q[2] == ' ') {
			const char *name = q + 3;
			size_t nl = strcspn(name, " \t");
			for (size_t i = 0; i < n; i++) {
				if (r[i].start && addr > r[i].start && (!r[i].end || addr < r[i].end))
					r[i].end = addr;
				if (!r[i].start && strlen(r[i].name) == nl && !memcmp(name, r[i].name, nl) &&
				    !listed(hide, r[i].name))
					r[i].start = addr;
			}
		}
		line = eol + 1;
	}
	free(buf);
	return 0;
}

/* The bit offset + 1 of a member of a struct in btf; 0 if not there. */
static __u64 member_at(const struct btf *btf, const char *type, const char *member)
{
	int id = btf__find_by_name_kind(btf, type, BTF_KIND_STRUCT);

	if (id > 0) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		const struct btf_member *m = btf_members(t);
		for (int i = 0; i < btf_vlen(t); i++, m++)
			if (!strcmp(btf__name_by_offset(btf, m->name_off), member))
				return btf_member_bit_offset(t, i) + 1;
	}
	return 0;
}

static bool btf_has_member(const struct btf *btf, const char *type, const char *member)
{
	return member_at(btf, type, member) != 0;
}

/* The byte offset of a member of a struct in btf; 0 if not there. */
__u64 btf_member_offset(const struct btf *btf, const char *type, const char *member)
{
	__u64 at = member_at(btf, type, member);

	return at ? (at - 1) / 8 : 0;
}

/*
 * The BPF helpers of the running kernel that decide which programs load:
 * its BTF lists every helper it has in enum bpf_func_id.
 */
struct kernel_has kernel_features(const struct btf *btf)
{
	struct kernel_has has = {};
	int id;

	if ((id = btf__find_by_name_kind(btf, "bpf_func_id", BTF_KIND_ENUM)) > 0) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		const struct btf_enum *v = btf_enum(t);
		for (int i = 0; i < btf_vlen(t); i++, v++) {
			const char *name = btf__name_by_offset(btf, v->name_off);
			if (!strcmp(name, "BPF_FUNC_for_each_map_elem"))
				has.for_each_map_elem = true;
			else if (!strcmp(name, "BPF_FUNC_sock_from_file"))
				has.sock_from_file = true;
		}
	}
	has.kfree_skb_rx_sk = btf_has_member(btf, "trace_event_raw_kfree_skb", "rx_sk");
	return has;
}

/* The value of an enumerator of any enum (named or not) in btf; -1 if not there. */
long long btf_enum_value(const struct btf *btf, const char *name)
{
	long long val = -1;

	for (__u32 id = 1, n = btf__type_cnt(btf); id < n && val < 0; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		if (!btf_is_enum(t))
			continue;
		const struct btf_enum *v = btf_enum(t);
		for (int i = 0; i < btf_vlen(t); i++, v++)
			if (!strcmp(btf__name_by_offset(btf, v->name_off), name)) {
				val = v->val;
				break;
			}
	}
	return val;
}

/* How many arguments a kernel function takes, from its prototype in btf; -1 if btf has no such function. */
int btf_func_args(const struct btf *btf, const char *fn)
{
	int id = btf__find_by_name_kind(btf, fn, BTF_KIND_FUNC);
	const struct btf_type *proto;

	if (id <= 0 || !(proto = btf__type_by_id(btf, btf__type_by_id(btf, id)->type)) || !btf_is_func_proto(proto))
		return -1;
	return btf_vlen(proto);
}
