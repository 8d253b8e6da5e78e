// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libacceptq: loads the acceptq BPF programs, picks the probe set the
 * kernel allows, and turns kernel maps plus per-namespace iterator passes
 * into listener rows. libacceptq.h is the ABI.
 *
 * This file: open, close, drain and the probe set's name. The rest, one
 * concern a file: load.c, ksyms.c, snapshot.c, samples.c, counts.c,
 * bounds.c, estimates.c, rows.c, netns.c, notice.c, owners.c, cgroups.c,
 * privileges.c, log.c, layout.c; internal.h between them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <malloc.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "internal.h"
#include "acceptq.skel.h"

__u32 acq_abi_version(void)
{
	return ACQ_ABI_VERSION;
}

const char *acq_probe_name(void *h)
{
	struct acq *a = h;

	return a && a->probe <= ACQ_PROBE_KPROBE ? probe_names[a->probe] : "none";
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct acq *a = ctx;

	if (size < sizeof(struct acq_event) || a->drain_n >= a->drain_max)
		return -E2BIG;
	struct acq_event *e = &a->drain_out[a->drain_n++];
	memcpy(e, data, sizeof(*e));
	/* hand out Unix time in ns */
	e->ts_ns += now_ns(CLOCK_REALTIME) - now_ns(CLOCK_BOOTTIME);
	return a->drain_n >= a->drain_max ? -E2BIG : 0;
}

void *acq_open(const struct acq_open_opts *o, int *code, char *err, size_t errlen)
{
	struct acq *a;
	int e;

	if (code)
		*code = 0;
	if (err && errlen)
		err[0] = 0;
	if (!o || o->abi_version != ACQ_ABI_VERSION) {
		fail(code, err, errlen, -EINVAL, "ABI version mismatch: library %d, caller %u",
		     ACQ_ABI_VERSION, o ? o->abi_version : 0);
		return NULL;
	}
	if (o->probe > ACQ_PROBE_KPROBE) {
		fail(code, err, errlen, -EINVAL, "unknown probe set %u", o->probe);
		return NULL;
	}
	if (o->max_listeners && (o->max_listeners < 64 || o->max_listeners > ACQ_MAX_LISTENERS_LIMIT)) {
		fail(code, err, errlen, -EINVAL, "max_listeners %u: wants 64 to %u", o->max_listeners,
		     ACQ_MAX_LISTENERS_LIMIT);
		return NULL;
	}
	if (o->max_namespaces > ACQ_MAX_NAMESPACES_LIMIT) {
		fail(code, err, errlen, -EINVAL, "max_namespaces %u: wants 1 to %u", o->max_namespaces,
		     ACQ_MAX_NAMESPACES_LIMIT);
		return NULL;
	}
	if ((e = log_to(o->log_path))) {
		fail(code, err, errlen, e, "cannot open the log file %s: %s", o->log_path, strerror(-e));
		return NULL;
	}

	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		fail(code, err, errlen, -ENOENT,
		     "this kernel has no BTF (/sys/kernel/btf/vmlinux is missing): "
		     "acceptq needs a kernel built with CONFIG_DEBUG_INFO_BTF=y");
		return NULL;
	}
	a = calloc(1, sizeof(*a));
	if (!a) {
		fail(code, err, errlen, -ENOMEM, "out of memory");
		return NULL;
	}
	a->retain_closed_s = o->retain_closed_s ? o->retain_closed_s : 120;

	if (o->probe != ACQ_PROBE_AUTO) {
		e = try_probe_set(a, o, o->probe, err, errlen);
	} else {
		/* best first: exact per-socket attribution, then the tracepoint set */
		char why[3][256];
		enum acq_probe order[] = { ACQ_PROBE_FENTRY, ACQ_PROBE_KPROBE, ACQ_PROBE_TRACEPOINT };
		e = -ENOENT;
		for (int i = 0; i < 3 && e; i++)
			e = try_probe_set(a, o, order[i], why[i], sizeof(why[i]));
		if (e)
			fail(NULL, err, errlen, e, "no probe set could be attached; %s; %s; %s",
			     why[0], why[1], why[2]);
	}
	if (e) {
		if (code)
			*code = e;
		free(a);
		return NULL;
	}
	if ((e = map_samples(a, 0))) {
		fail(code, err, errlen, e, "cannot map the sample array: %s", strerror(-e));
		acq_close(a);
		return NULL;
	}
	/* the zero point of every namespace delta */
	pthread_t th;
	a->baselining = true;
	tick_problems_reset(&a->problems);
	scan_namespaces(a);
	if ((e = pthread_create(&th, NULL, ns_worker, a))) {
		/* without it every delta would run since boot */
		fail(code, err, errlen, -e, "cannot start the namespace walker: %s", strerror(e));
		acq_close(a);
		return NULL;
	}
	pthread_join(th, NULL);
	a->baselining = false;
	compose_notice(a);

	/* the kernel's BTF, parsed for the load (several MB), is freed: give the pages back */
	malloc_trim(0);

	a->rb = ring_buffer__new(bpf_map__fd(a->skel->maps.events), on_event, a, NULL);
	if (!a->rb) {
		e = -errno;
		fail(code, err, errlen, e, "cannot open the event ring buffer: %s", strerror(-e));
		acq_close(a);
		return NULL;
	}
	return a;
}

void acq_close(void *h)
{
	struct acq *a = h;

	if (!a)
		return;
	ring_buffer__free(a->rb);
	if (a->samples_map)
		munmap((void *)a->samples_map, a->samples_map_len);
	bpf_link__destroy(a->sample_iter);
	acceptq_bpf__destroy(a->skel); /* detaches every link, closes every map */
	rows_free(&a->rows);
	map_walk_free(&a->counts_walk);
	map_walk_free(&a->bounds_walk);
	free(a->ns.v);
	free(a->owners.v);
	free(a);
}

int acq_drain(void *h, struct acq_event *out, __u32 max)
{
	struct acq *a = h;
	int e;

	if (!a || !out)
		return -EINVAL;
	if (!max)
		return 0;
	a->drain_out = out;
	a->drain_max = max;
	a->drain_n = 0;
	e = ring_buffer__consume(a->rb);
	if (e < 0 && e != -E2BIG)
		return e;
	return (int)a->drain_n;
}
