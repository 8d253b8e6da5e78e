// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Probe sets: which programs each set loads, loading and attaching one, and
 * the notice of what a run cannot see without a refused optional program.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "internal.h"
#include "acceptq.skel.h"

const char *probe_names[] = { "auto", "tracepoint", "fentry", "kprobe" };

static void add_notice(struct acq *a, const char *fmt, ...);

/*
 * Which programs a set loads. Counting: tracepoints (consume_skb and
 * kfree_skb), fexit, or kprobes on the functions that move the counters.
 * The registry, the "why" figures and sampling: every set.
 */
static bool prog_in_set(const char *name, enum acq_probe set)
{
	if (!strncmp(name, "acq_fexit_", 10) || !strncmp(name, "acq_fentry_", 11))
		return set == ACQ_PROBE_FENTRY;
	if (!strncmp(name, "acq_kprobe_", 11))
		return set == ACQ_PROBE_KPROBE;
	if (!strncmp(name, "acq_tp_", 7))
		return set == ACQ_PROBE_TRACEPOINT;
	return true;
}

/*
 * Two ways to the registry, arrivals and accepts, in the fentry and kprobe
 * sets. Hooks on listeners and their children (listen_hooks.bpf.c, and
 * tcp_check_req's return with its child): with the overflow hooks about
 * 3.5 program runs a connection (fentry), 5.5 (kprobe). Or, where one of
 * those is refused (a function inlined in this build, an argument list not
 * known), every set's way: inet_sock_set_state (every state change of
 * every TCP socket) and the syscall tracepoints, about 14 and 16.
 * ACCEPTQ_LISTEN_HOOKS=states or =hooks asks for one, to compare.
 */
#define HOOKS_BY_DEFAULT true
#define IN(set) (1u << (set))
static const struct {
	const char *prog;
	unsigned sets;  /* the sets it is one way of */
	bool hooks;     /* the way it belongs to */
} ways[] = {
	{ "acq_fexit_inet_listen", IN(ACQ_PROBE_FENTRY), true },
	{ "acq_fentry_listen_stop", IN(ACQ_PROBE_FENTRY), true },
	{ "acq_fexit_inet_accept", IN(ACQ_PROBE_FENTRY), true },
	{ "acq_fexit_check_req5", IN(ACQ_PROBE_FENTRY), true },
	{ "acq_fexit_check_req6", IN(ACQ_PROBE_FENTRY), true },
	{ "acq_fexit_cookie_v4_child", IN(ACQ_PROBE_FENTRY), true },
	{ "acq_fexit_cookie_v6_child", IN(ACQ_PROBE_FENTRY), true },
	{ "acq_kprobe_inet_listen", IN(ACQ_PROBE_KPROBE), true },
	{ "acq_kprobe_ret_inet_listen", IN(ACQ_PROBE_KPROBE), true },
	{ "acq_kprobe_listen_stop", IN(ACQ_PROBE_KPROBE), true },
	{ "acq_kprobe_ret_inet_csk_accept", IN(ACQ_PROBE_KPROBE), true },
	{ "acq_kprobe_ret_check_req_child", IN(ACQ_PROBE_KPROBE), true },
	{ "acq_kprobe_ret_cookie_v4_child", IN(ACQ_PROBE_KPROBE), true },
	{ "acq_kprobe_ret_cookie_v6_child", IN(ACQ_PROBE_KPROBE), true },
	{ "acq_fexit_check_req", IN(ACQ_PROBE_FENTRY), false },
	{ "acq_kprobe_ret_tcp_check_req", IN(ACQ_PROBE_KPROBE), false },
	{ "acq_fexit_cookie_v4_check", IN(ACQ_PROBE_FENTRY), false },
	{ "acq_fexit_cookie_v6_check", IN(ACQ_PROBE_FENTRY), false },
	{ "acq_kprobe_ret_cookie_v4_check", IN(ACQ_PROBE_KPROBE), false },
	{ "acq_kprobe_ret_cookie_v6_check", IN(ACQ_PROBE_KPROBE), false },
	{ "acq_set_state", IN(ACQ_PROBE_FENTRY) | IN(ACQ_PROBE_KPROBE), false },
	{ "acq_accept4_exit", IN(ACQ_PROBE_FENTRY) | IN(ACQ_PROBE_KPROBE), false },
	{ "acq_accept_exit", IN(ACQ_PROBE_FENTRY) | IN(ACQ_PROBE_KPROBE), false },
	{ "acq_listen_enter", IN(ACQ_PROBE_FENTRY) | IN(ACQ_PROBE_KPROBE), false },
	{ "acq_listen_exit", IN(ACQ_PROBE_FENTRY) | IN(ACQ_PROBE_KPROBE), false },
};

/* Does the way chosen (hooks or not) of set leave prog on? Programs of no way: yes. */
static bool on_this_way(const char *prog, enum acq_probe set, bool hooks)
{
	for (size_t i = 0; i < sizeof(ways) / sizeof(ways[0]); i++)
		if (!strcmp(ways[i].prog, prog))
			return !(ways[i].sets & IN(set)) || ways[i].hooks == hooks;
	return true;
}

/* Programs acceptq can run without, and what is lost without them. */
static const struct {
	const char *prog, *loss;
} optional_progs[] = {
	{ "acq_tp_kfree_skb",
	  "final-ACK-path overflows are not attributed (the namespace shows them as unattributed)" },
	{ "acq_tp_kfree_skb_by_addr",
	  "final-ACK-path overflows are not attributed (the namespace shows them as unattributed)" },
	{ "acq_accept4_exit", "accept4() waits are not timed" },
	{ "acq_accept_exit", "accept() waits are not timed" },
	{ "acq_listen_enter", "the backlog listen() asked for is not seen" },
	{ "acq_listen_exit", "the backlog listen() asked for is not seen" },
	{ "acq_iter_owners", "owners of listeners older than acceptq are found by a scan of /proc/*/fd" },
};

static const char *loss_without(const char *prog)
{
	for (size_t i = 0; i < sizeof(optional_progs) / sizeof(optional_progs[0]); i++)
		if (!strcmp(optional_progs[i].prog, prog))
			return optional_progs[i].loss;
	return NULL;
}

#define MAX_SKIP 8

/* The skeleton's link of a program; NULL if it has none (not attached). */
static struct bpf_link *prog_link(const struct acceptq_bpf *s, const struct bpf_program *p)
{
	for (int i = 0; i < s->skeleton->prog_cnt; i++)
		if (*s->skeleton->progs[i].prog == p)
			return *s->skeleton->progs[i].link;
	return NULL;
}


/*
 * Can the kernel run the program only this set adds, on tcp_conn_request?
 * Asked the libbpf-tools way, before the object is opened: a two-instruction
 * fentry program loaded against the function's BTF id, or a kprobe perf
 * event opened on it. A kernel that refuses them (the tracepoint-only
 * kernels) answers in milliseconds, without a full load of the object.
 */
#define CONN_REQUEST_FN "tcp_conn_request"

static int fentry_can_attach(const char *fn)
{
	struct bpf_insn ret0[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	struct btf *vmlinux = btf__load_vmlinux_btf();
	int id, prog, link, e = 0;

	if (!vmlinux)
		return -errno;
	id = btf__find_by_name_kind(vmlinux, fn, BTF_KIND_FUNC);
	btf__free(vmlinux);
	if (id < 0)
		return -ENOENT;
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_FENTRY,
		    .attach_btf_id = (__u32)id);
	prog = bpf_prog_load(BPF_PROG_TYPE_TRACING, "acq_can_fentry", "GPL", ret0, 2, &opts);
	if (prog < 0)
		return -errno;
	link = bpf_raw_tracepoint_open(NULL, prog);
	if (link < 0)
		e = -errno;
	else
		close(link);
	close(prog);
	return e;
}

static int kprobe_can_attach(const char *fn)
{
	struct perf_event_attr attr = { .size = sizeof(attr) };
	FILE *f = fopen("/sys/bus/event_source/devices/kprobe/type", "r");
	int type = -1, fd;

	if (!f)
		return -ENOENT; /* no kprobe PMU: a kernel without kprobes (or too old: try it whole) */
	if (fscanf(f, "%d", &type) != 1)
		type = -1;
	fclose(f);
	if (type < 0)
		return -ENOENT;
	attr.type = (__u32)type;
	attr.config1 = (__u64)(unsigned long)fn;
	fd = (int)syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int probe_set(enum acq_probe set, char *failed, char *err, size_t errlen)
{
	const char *prog = set == ACQ_PROBE_FENTRY ? "acq_fexit_conn_request" : "acq_kprobe_tcp_conn_request";
	int e;

	if (set == ACQ_PROBE_FENTRY)
		e = fentry_can_attach(CONN_REQUEST_FN);
	else if (set == ACQ_PROBE_KPROBE)
		e = kprobe_can_attach(CONN_REQUEST_FN);
	else
		return 0;
	if (set == ACQ_PROBE_KPROBE && e == -ENOENT && access("/sys/kernel/tracing/kprobe_events", F_OK) == 0)
		return 0; /* kprobes through tracefs only: the whole load will tell */
	if (e) {
		snprintf(failed, 64, "%s", prog);
		fail(NULL, err, errlen, e, "%s: the kernel refused to %s %s (a trial %s program on %s): %s",
		     probe_names[set], set == ACQ_PROBE_FENTRY ? "load" : "attach", prog,
		     probe_names[set], CONN_REQUEST_FN, strerror(-e));
	}
	return e;
}

/*
 * Where things are in this kernel, for the programs: function ranges
 * (the tracepoint set recognises where an skb is freed) and the per-CPU
 * variables the counters are read through (counters.bpf.h).
 */
static int tell_kernel_places(struct acq *a, struct acceptq_bpf *s, const struct btf *vmlinux,
			      enum acq_probe set, char *err, size_t errlen)
{
	struct ksym_range r[] = {
		{ "tcp_rcv_state_process", 0, 0 }, { "cookie_v4_check", 0, 0 },
		{ "cookie_v6_check", 0, 0 }, { "__per_cpu_offset", 0, 0 },
		{ "this_cpu_off", 0, 0 }, { "__preempt_count", 0, 0 }, { "pcpu_hot", 0, 0 },
	};
	int e = kallsyms_ranges(r, sizeof(r) / sizeof(r[0]));

	if (e || !r[0].start || !r[0].end)
		return fail(NULL, err, errlen, -ENOENT,
			    "%s: tcp_rcv_state_process not found in /proc/kallsyms "
			    "(kernel.kptr_restrict hides addresses?)", probe_names[set]);
	if (set == ACQ_PROBE_TRACEPOINT)
		for (int i = 1; i <= 2; i++)
			if (!r[i].start)
				add_notice(a, "%s not in /proc/kallsyms: its ACK-path drops at listeners "
					   "acceptq has not registered count with the next packet", r[i].name);
	s->rodata->rcv_state_start = r[0].start;
	s->rodata->rcv_state_end = r[0].end;
	s->rodata->v4_cookie_start = r[1].start;
	s->rodata->v4_cookie_end = r[1].end;
	s->rodata->v6_cookie_start = r[2].start;
	s->rodata->v6_cookie_end = r[2].end;
	{
		long long lo = btf_enum_value(vmlinux, "LINUX_MIB_LISTENOVERFLOWS"),
			  qd = btf_enum_value(vmlinux, "LINUX_MIB_TCPREQQFULLDROP"),
			  sc = btf_enum_value(vmlinux, "LINUX_MIB_SYNCOOKIESSENT");
		if (lo <= 0 || qd <= 0 || sc <= 0)
			return fail(NULL, err, errlen, -ENOENT, "%s: the kernel's BTF has no LINUX_MIB_LISTENOVERFLOWS, "
				    "LINUX_MIB_TCPREQQFULLDROP or LINUX_MIB_SYNCOOKIESSENT: its counters cannot be "
				    "read", probe_names[set]);
		s->rodata->mib_listen_overflows = (__u32)lo;
		s->rodata->mib_reqqfull_drop = (__u32)qd;
		s->rodata->mib_syncookies_sent = (__u32)sc;
	}
	if (r[3].start && r[4].start) {
		/* kallsyms lists data (CONFIG_KALLSYMS_ALL): the variables' own addresses */
		s->rodata->per_cpu_offset_addr = r[3].start;
		s->rodata->percpu_this_cpu_off = r[4].start;
		if (r[5].start)
			s->rodata->percpu_preempt_count = r[5].start;
		else if (r[6].start)        /* 6.2 to 6.14: a member of pcpu_hot */
			s->rodata->percpu_preempt_count = r[6].start + btf_member_offset(vmlinux, "pcpu_hot", "preempt_count");
		return 0;
	}
	/* offsets in .data..percpu, from BTF; acq_calibrate finds where it starts (5.19+) */
	struct percpu_var vars[] = {
		{ "this_cpu_off", &s->rodata->percpu_this_cpu_off },
		{ "__preempt_count", &s->rodata->percpu_preempt_count },
		{ "current_task", &s->rodata->percpu_current_task },
		{ "runqueues", &s->rodata->percpu_runqueues },
	};
	percpu_offsets(vmlinux, vars, sizeof(vars) / sizeof(vars[0]));
	return 0;
}

/*
 * Load and attach one probe set without the programs in skip. On failure,
 * err says why in one line, and *failed names the program the kernel
 * refused where one program was (a load, an attach); else it stays "".
 */
static int load_attach(struct acq *a, const struct acq_open_opts *o, enum acq_probe set, bool hooks,
		       char skip[][64], int nskip, char *failed, char *err, size_t errlen)
{
	struct acceptq_bpf *s;
	struct bpf_program *p;
	int e;

	if ((e = probe_set(set, failed, err, errlen)))
		return e;
	if (!(s = acceptq_bpf__open()))
		return fail(NULL, err, errlen, -errno, "cannot open the BPF object: %s", strerror(errno));
	s->rodata->events_per_sec = o->events_per_sec;
	s->rodata->nr_cpus = (__u32)libbpf_num_possible_cpus();
	s->rodata->netns_by_inode = netns_cookie_missing();
	if (s->rodata->netns_by_inode)
		add_notice(a, "network namespaces are told apart by inode number, which the kernel reuses "
			   "(no SO_NETNS_COOKIE before Linux 5.14): a namespace made after another was "
			   "deleted may take over its rows");
	s->rodata->verifier_trap = listed(getenv("ACCEPTQ_VERIFIER_TRAP"), "1");
	/* the kernel's BTF, parsed once here for every question below (libbpf parses its own for the load) */
	struct btf *vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux) {
		e = -errno;
		acceptq_bpf__destroy(s);
		return fail(NULL, err, errlen, e, "%s: cannot read the kernel's BTF: %s", probe_names[set], strerror(-e));
	}
	struct kernel_has has = kernel_features(vmlinux);
	/* tcp_check_req's return value follows its arguments: 5 of them to 6.12, 6 later (drop_reason) */
	int check_req_args = btf_func_args(vmlinux, "tcp_check_req");
	/* and cookie_v4/v6_check's follows 2 (sk, skb) in every kernel seen */
	bool cookie_args_known = btf_func_args(vmlinux, "cookie_v4_check") == 2 &&
				 btf_func_args(vmlinux, "cookie_v6_check") == 2;
	e = tell_kernel_places(a, s, vmlinux, set, err, errlen);
	btf__free(vmlinux);
	if (!e && hooks && set == ACQ_PROBE_FENTRY && check_req_args != 5 && check_req_args != 6) {
		snprintf(failed, 64, "acq_fexit_check_req%d", check_req_args);
		e = fail(NULL, err, errlen, -EINVAL, "%s: tcp_check_req has %d arguments in this kernel's BTF "
			 "(5 or 6 known)", probe_names[set], check_req_args);
	} else if (!e && hooks && set == ACQ_PROBE_FENTRY && !cookie_args_known) {
		snprintf(failed, 64, "acq_fexit_cookie_v4_child");
		e = fail(NULL, err, errlen, -EINVAL, "%s: cookie_v4_check or cookie_v6_check takes other "
			 "than 2 arguments in this kernel's BTF", probe_names[set]);
	}
	if (e) {
		acceptq_bpf__destroy(s);
		return e;
	}
	/*
	 * The registry, its rows, the sample array, the listen() calls in
	 * flight and the connections timed in accept queues: max_listeners
	 * each (a full map is counted, never evicted from).
	 */
	__u32 cap = o->max_listeners ? o->max_listeners : ACQ_MAX_SOCKS;
	bpf_map__set_max_entries(s->maps.socks, cap);
	bpf_map__set_max_entries(s->maps.groups, cap);
	bpf_map__set_max_entries(s->maps.counts, cap);
	bpf_map__set_max_entries(s->maps.bounds, cap);
	bpf_map__set_max_entries(s->maps.samples, cap);
	bpf_map__set_max_entries(s->maps.queued, cap);
	bpf_map__set_max_entries(s->maps.listen_calls, cap);
	bpf_map__set_max_entries(s->maps.inet_listen_calls, cap);
	bpf_map__set_max_entries(s->maps.events, (o->ringbuf_kb ? o->ringbuf_kb : 256) * 1024);
	/* per namespace, and per namespace and CPU (at most 2^20 entries: fewer namespaces on many CPUs) */
	__u32 nss = o->max_namespaces ? o->max_namespaces : ACQ_MAX_NAMESPACES;
	__u32 cpus = s->rodata->nr_cpus ? s->rodata->nr_cpus : 1;
	bpf_map__set_max_entries(s->maps.ns_counts, nss);
	bpf_map__set_max_entries(s->maps.cpu_mib, (__u64)nss * cpus <= 1048576 ? nss * cpus : 1048576);

	bpf_object__for_each_program(p, s->obj) {
		const char *name = bpf_program__name(p);
		bool on = prog_in_set(name, set);
		for (int i = 0; i < nskip; i++)
			on = on && strcmp(skip[i], name);
		/* the sample pass: one program run (5.13+), or the registry's iterator */
		if (!strcmp(name, "acq_sample_all"))
			on = has.for_each_map_elem;
		if (!strcmp(name, "acq_iter_sample"))
			on = !has.for_each_map_elem;
		/* kfree_skb names the socket that dropped the packet from 6.11 */
		if (!strcmp(name, "acq_tp_kfree_skb"))
			on = on && has.kfree_skb_rx_sk;
		if (!strcmp(name, "acq_tp_kfree_skb_by_addr"))
			on = on && !has.kfree_skb_rx_sk;
		/* hooks on listeners and children, or state changes and syscalls */
		on = on && on_this_way(name, set, hooks);
		if (!strcmp(name, "acq_fexit_check_req5"))
			on = on && check_req_args == 5;
		if (!strcmp(name, "acq_fexit_check_req6"))
			on = on && check_req_args == 6;
		bpf_program__set_autoload(p, on);
	}
	if (!has.sock_from_file && prog_in_set("acq_iter_owners", set)) {
		bpf_program__set_autoload(s->progs.acq_iter_owners, false);
		add_notice(a, "owners of listeners older than acceptq are found by a scan of /proc/*/fd "
			   "(acq_iter_owners needs bpf_sock_from_file, Linux 5.11)");
	}

	bpf_program__set_autoattach(s->progs.acq_sample_all, false);
	bpf_program__set_autoattach(s->progs.acq_iter_sample, false);
	bpf_program__set_autoattach(s->progs.acq_calibrate, false);

	/*
	 * The verifier gives up with EAGAIN when a signal is pending for this
	 * thread (a profiler's SIGPROF, SIGWINCH from a resize): hold signals
	 * for the length of the load; they are delivered right after.
	 */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	size_t mark = log_mark();
	e = acceptq_bpf__load(s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e) {
		char why[256];

		refused_program(mark, failed, why, sizeof(why));
		fail(NULL, err, errlen, e, "%s: the kernel refused to load %s: %s", probe_names[set],
		     failed[0] ? failed : "the BPF object", why[0] ? why : strerror(-e));
		acceptq_bpf__destroy(s);
		return e;
	}
	/* each CPU's per-CPU area, before anything reads a per-CPU counter */
	LIBBPF_OPTS(bpf_test_run_opts, run);
	if (bpf_prog_test_run_opts(bpf_program__fd(s->progs.acq_calibrate), &run) ||
	    s->bss->calibrated_cpus != s->rodata->nr_cpus) {
		fail(NULL, err, errlen, -EOPNOTSUPP,
		     "%s: cannot find the kernel's per-CPU areas (%u of %u CPUs): its per-CPU "
		     "counters cannot be read", probe_names[set], s->bss->calibrated_cpus,
		     s->rodata->nr_cpus);
		acceptq_bpf__destroy(s);
		return -EOPNOTSUPP;
	}
	/* the skeleton attaches every loaded program but these two, run on demand */
	if ((e = acceptq_bpf__attach(s))) {
		/* programs attach in order: the first one loaded but without a link was refused */
		bpf_object__for_each_program(p, s->obj)
			if (bpf_program__autoload(p) && bpf_program__autoattach(p) && !prog_link(s, p)) {
				snprintf(failed, 64, "%s", bpf_program__name(p));
				break;
			}
		fail(NULL, err, errlen, e, "%s: the kernel refused to attach %s (%s): %s",
		     probe_names[set], failed[0] ? failed : "?",
		     failed[0] ? bpf_program__section_name(bpf_object__find_program_by_name(s->obj, failed)) : "?",
		     strerror(-e));
		acceptq_bpf__destroy(s);
		return e;
	}
	if (bpf_program__autoload(s->progs.acq_iter_sample)) {
		union bpf_iter_link_info info = { .map.map_fd = bpf_map__fd(s->maps.socks) };
		LIBBPF_OPTS(bpf_iter_attach_opts, iopts, .link_info = &info, .link_info_len = sizeof(info));
		if (!(a->sample_iter = bpf_program__attach_iter(s->progs.acq_iter_sample, &iopts))) {
			e = -errno;
			snprintf(failed, 64, "acq_iter_sample");
			fail(NULL, err, errlen, e, "%s: the kernel refused to attach acq_iter_sample "
			     "(iter/bpf_map_elem): %s", probe_names[set], strerror(-e));
			acceptq_bpf__destroy(s);
			return e;
		}
	}
	a->skel = s;
	a->probe = set;
	return 0;
}

static void add_notice(struct acq *a, const char *fmt, ...)
{
	size_t len = strlen(a->notice);
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (strstr(a->notice, line))
		return; /* said already (a set is loaded again without a refused program) */

	if (len && len < sizeof(a->notice) - 2) {
		a->notice[len++] = ';';
		a->notice[len++] = ' ';
		a->notice[len] = 0;
	}
	snprintf(a->notice + len, sizeof(a->notice) - len, "%s", line);
}

#define STATES_INSTEAD "listeners, arrivals and accept() are seen through every TCP state change " \
	"and the syscall tracepoints (about 10 program runs a connection more)"

/*
 * Load one probe set. A program the set can do without, if refused, is left
 * out with a notice (degrade, don't die). ACCEPTQ_REFUSE=prog,prog makes
 * acceptq treat those programs as refused, to rehearse this path.
 */
int try_probe_set(struct acq *a, const struct acq_open_opts *o, enum acq_probe set,
		  char *err, size_t errlen)
{
	const char *refuse = getenv("ACCEPTQ_REFUSE");
	char skip[MAX_SKIP][64];
	int nskip = 0, e;

	a->notice[0] = 0;
	const char *way = getenv("ACCEPTQ_LISTEN_HOOKS");
	bool hooks = (set == ACQ_PROBE_FENTRY || set == ACQ_PROBE_KPROBE) &&
		     (listed(way, "hooks") || (HOOKS_BY_DEFAULT && !listed(way, "states")));
	for (size_t i = 0; hooks && i < sizeof(ways) / sizeof(ways[0]); i++)
		if (ways[i].hooks && (ways[i].sets & IN(set)) && listed(refuse, ways[i].prog)) {
			hooks = false;
			add_notice(a, "%s (%s refused on request)", STATES_INSTEAD, ways[i].prog);
		}
	for (size_t i = 0; i < sizeof(optional_progs) / sizeof(optional_progs[0]); i++) {
		const char *prog = optional_progs[i].prog;
		if (prog_in_set(prog, set) && listed(refuse, prog) && nskip < MAX_SKIP) {
			snprintf(skip[nskip++], 64, "%s", prog);
			add_notice(a, "%s (%s refused on request)", optional_progs[i].loss, prog);
		}
	}
	for (;;) {
		char failed[64] = "";
		e = load_attach(a, o, set, hooks, skip, nskip, failed, err, errlen);
		if (!e)
			return 0;
		if (hooks) {
			/* a hook refused (inlined in this build, say): the set as every kernel runs it */
			add_notice(a, "%s (%s)", STATES_INSTEAD, err);
			hooks = false;
			continue;
		}
		const char *loss = loss_without(failed);
		if (!loss || nskip == MAX_SKIP)
			return e;
		add_notice(a, "%s (%s)", loss, err);
		snprintf(skip[nskip++], 64, "%s", failed);
	}
}
