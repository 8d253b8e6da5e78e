// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libacceptq: loads the acceptq BPF programs, picks the probe set the
 * kernel allows, and turns kernel maps plus per-namespace iterator passes
 * into listener rows. See acceptq.h for the ABI.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "libacceptq.h"
#include "acceptq.skel.h"

/* ---- libbpf log: a bounded memory buffer, or a file with --debug ---- */

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

#define LOG_CAP (64 * 1024)
static char log_buf[LOG_CAP];
static size_t log_len;
static FILE *log_file;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static int log_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	pthread_mutex_lock(&log_lock);
	if (log_file) {
		vfprintf(log_file, fmt, ap);
		fflush(log_file);
	} else if (level != LIBBPF_DEBUG) {
		if (log_len > LOG_CAP - 1024)
			log_len = 0; /* keep the newest lines */
		int n = vsnprintf(log_buf + log_len, LOG_CAP - log_len, fmt, ap);
		if (n > 0)
			log_len += (size_t)n < LOG_CAP - log_len ? (size_t)n : LOG_CAP - log_len - 1;
	}
	pthread_mutex_unlock(&log_lock);
	return 0;
}

int acq_read_log(char *buf, size_t len)
{
	if (!buf || !len)
		return 0;
	pthread_mutex_lock(&log_lock);
	size_t n = log_len < len - 1 ? log_len : len - 1;
	memcpy(buf, log_buf, n);
	buf[n] = 0;
	pthread_mutex_unlock(&log_lock);
	return (int)n;
}

/* ---- small helpers ---- */

static __u64 now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int fail(int *code, char *err, size_t errlen, int c, const char *fmt, ...)
{
	va_list ap;

	if (code)
		*code = c;
	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return c;
}

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

/* ---- rows kept between snapshots (owner, closed time) ---- */

struct row {
	struct acq_listener out;
	bool used;
	bool live;              /* a socket was seen in this snapshot */
	bool moved;             /* its counts moved since the previous snapshot */
};

struct row_table {
	struct row *slots;
	size_t cap, len;
};

static struct row *rows_find(struct row_table *t, const struct acq_lkey *k, bool create);

static int rows_grow(struct row_table *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 1024;
	struct row *ns = calloc(ncap, sizeof(*ns));

	if (!ns)
		return -ENOMEM;
	struct row_table nt = { ns, ncap, 0 };
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->slots[i].used)
			continue;
		struct row *r = rows_find(&nt, (const struct acq_lkey *)&t->slots[i].out, true);
		*r = t->slots[i];
	}
	free(t->slots);
	*t = nt;
	return 0;
}

/* acq_listener starts with the same bytes as acq_lkey. */
_Static_assert(offsetof(struct acq_listener, pid) == sizeof(struct acq_lkey), "row key prefix");

static struct row *rows_find(struct row_table *t, const struct acq_lkey *k, bool create)
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
static void rows_prune(struct row_table *t, bool (*drop)(struct row *, void *), void *ctx)
{
	struct row_table nt = { NULL, 0, 0 };

	for (size_t i = 0; i < t->cap; i++) {
		struct row *r = &t->slots[i];
		if (!r->used || drop(r, ctx))
			continue;
		struct row *n = rows_find(&nt, (const struct acq_lkey *)&r->out, true);
		if (n)
			*n = *r;
	}
	free(t->slots);
	*t = nt;
}

/* ---- network namespaces ---- */

struct ns_entry {
	struct acq_netns out;
	char path[320];         /* /proc/PID/ns/net or /run/netns/NAME */
	bool seen;              /* found in this snapshot's scan */
	__u64 walked_cookie;    /* the namespace whose TCP sockets were walked once */
	__u64 unsure, unsure_prev;      /* acq_ns_counts.unsure now and at the previous snapshot */
	__u64 unsure_moved_prev;        /* how much it moved in the previous interval */
	__u32 moved_rows;       /* rows whose counts moved in this interval */
};

struct ns_list {
	struct ns_entry *v;
	size_t len, cap;
};

static struct ns_entry *ns_find(struct ns_list *l, __u32 ino, bool create)
{
	for (size_t i = 0; i < l->len; i++)
		if (l->v[i].out.netns == ino)
			return &l->v[i];
	if (!create)
		return NULL;
	if (l->len == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 16;
		struct ns_entry *nv = realloc(l->v, ncap * sizeof(*nv));
		if (!nv)
			return NULL;
		l->v = nv;
		l->cap = ncap;
	}
	struct ns_entry *e = &l->v[l->len++];
	memset(e, 0, sizeof(*e));
	e->out.netns = ino;
	return e;
}

/* ---- inode -> owner, for listeners older than acceptq ---- */

struct owner {
	__u32 ino, pid;
	char comm[ACQ_COMM_LEN];
};

struct owner_cache {
	struct owner *v;
	size_t len, cap;
	__u64 last_scan_ns;
};

/* ---- the handle ---- */

struct acq {
	struct acceptq_bpf *skel;
	struct ring_buffer *rb;
	enum acq_probe probe;
	__u32 retain_closed_s;
	struct row_table rows;
	struct ns_list ns;
	struct owner_cache owners;
	struct acq_stats stats;
	__u64 snapshots;
	char notice[1024];      /* what this run cannot see, and why */
	bool baselining;        /* the walk right after attaching */
	/* per-snapshot scratch */
	const struct acq_sample *samples_map; /* the kernel's array, mapped read-only */
	/* drain target */
	struct acq_event *drain_out;
	__u32 drain_max, drain_n;
};

static void scan_namespaces(struct acq *a);
static void *ns_worker(void *arg);
static void add_notice(struct acq *a, const char *fmt, ...);

__u32 acq_abi_version(void)
{
	return ACQ_ABI_VERSION;
}

static const char *probe_names[] = { "auto", "tracepoint", "fentry", "kprobe" };

const char *acq_probe_name(void *h)
{
	struct acq *a = h;

	return a && a->probe <= ACQ_PROBE_KPROBE ? probe_names[a->probe] : "none";
}

/*
 * Offsets of per-CPU variables in a CPU's per-CPU area, from the kernel's
 * BTF (.data..percpu). 0 if not there.
 */
struct percpu_var {
	const char *name;
	volatile const __u64 *offset;
};

static void percpu_offsets(struct percpu_var *vars, size_t n)
{
	struct btf *btf = btf__load_vmlinux_btf();
	int id;

	if (!btf)
		return;
	id = btf__find_by_name_kind(btf, ".data..percpu", BTF_KIND_DATASEC);
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
	btf__free(btf);
}

/* Start and end of a kernel function, from /proc/kallsyms. */
struct ksym_range {
	const char *name;
	__u64 start, end;
};

static int kallsyms_ranges(struct ksym_range *r, size_t n)
{
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
				if (!r[i].start && strlen(r[i].name) == nl && !memcmp(name, r[i].name, nl))
					r[i].start = addr;
			}
		}
		line = eol + 1;
	}
	free(buf);
	return 0;
}

/* The tracepoint programs count in every set; fentry/kprobe add the listener's identity. */
static bool prog_in_set(const char *name, enum acq_probe set)
{
	if (strncmp(name, "acq_fentry_", 11) == 0)
		return set == ACQ_PROBE_FENTRY;
	if (strncmp(name, "acq_kprobe_", 11) == 0)
		return set == ACQ_PROBE_KPROBE;
	return true; /* registry and sampling: always */
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

/* Programs acceptq can run without, and what is lost without them. */
static const struct {
	const char *prog, *loss;
} optional_progs[] = {
	{ "acq_tp_kfree_skb",
	  "final-ACK-path overflows are counted with the next SYN's, as SYN-path overflows" },
};

static const char *loss_without(const char *prog)
{
	for (size_t i = 0; i < sizeof(optional_progs) / sizeof(optional_progs[0]); i++)
		if (!strcmp(optional_progs[i].prog, prog))
			return optional_progs[i].loss;
	return NULL;
}

#define MAX_SKIP 4

/* Is prog in a comma-separated list? */
static bool in_list(const char *list, const char *prog)
{
	size_t n = strlen(prog);

	for (const char *p = list; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, prog, n) && (p[n] == ',' || p[n] == 0))
			return true;
	return false;
}

/*
 * Load and attach one probe set without the programs in skip. On failure,
 * *failed names the program the kernel refused and err says so.
 */
static int load_attach(struct acq *a, const struct acq_open_opts *o, enum acq_probe set,
		       char skip[][64], int nskip, char *failed, char *err, size_t errlen)
{
	struct acceptq_bpf *s = acceptq_bpf__open();
	struct bpf_program *p;
	int e;

	if (!s)
		return fail(NULL, err, errlen, -errno, "cannot open the BPF object: %s", strerror(errno));
	s->rodata->events_per_sec = o->events_per_sec;
	s->rodata->nr_cpus = (__u32)libbpf_num_possible_cpus();
	struct percpu_var vars[] = {
		{ "this_cpu_off", &s->rodata->percpu_this_cpu_off },
		{ "__preempt_count", &s->rodata->percpu_preempt_count },
		{ "current_task", &s->rodata->percpu_current_task },
		{ "runqueues", &s->rodata->percpu_runqueues },
	};
	percpu_offsets(vars, sizeof(vars) / sizeof(vars[0]));
	{
		struct ksym_range r[] = {
			{ "tcp_rcv_state_process", 0, 0 }, { "cookie_v4_check", 0, 0 },
			{ "cookie_v6_check", 0, 0 },
		};
		e = kallsyms_ranges(r, 3);
		if (e || !r[0].start || !r[0].end) {
			acceptq_bpf__destroy(s);
			return fail(NULL, err, errlen, -ENOENT,
				    "%s: tcp_rcv_state_process not found in /proc/kallsyms "
				    "(kernel.kptr_restrict hides addresses?)", probe_names[set]);
		}
		if (!r[1].start || !r[2].start)
			add_notice(a, "%s not in /proc/kallsyms: its ACK-path drops at listeners acceptq "
				   "has not registered count with the next packet",
				   !r[1].start ? "cookie_v4_check" : "cookie_v6_check");
		s->rodata->rcv_state_start = r[0].start;
		s->rodata->rcv_state_end = r[0].end;
		s->rodata->v4_cookie_start = r[1].start;
		s->rodata->v4_cookie_end = r[1].end;
		s->rodata->v6_cookie_start = r[2].start;
		s->rodata->v6_cookie_end = r[2].end;
	}
	bpf_map__set_max_entries(s->maps.events, (o->ringbuf_kb ? o->ringbuf_kb : 256) * 1024);
	bpf_object__for_each_program(p, s->obj) {
		bool on = prog_in_set(bpf_program__name(p), set);
		for (int i = 0; i < nskip; i++)
			on = on && strcmp(skip[i], bpf_program__name(p));
		bpf_program__set_autoload(p, on);
	}

	/*
	 * The verifier gives up with EAGAIN when a signal is pending for this
	 * thread (a profiler's SIGPROF, SIGWINCH from a resize): hold signals
	 * for the length of the load; they are delivered right after.
	 */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	e = acceptq_bpf__load(s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e) {
		/* programs load in order: the first one without an fd was refused */
		bpf_object__for_each_program(p, s->obj)
			if (bpf_program__autoload(p) && bpf_program__fd(p) < 0) {
				snprintf(failed, 64, "%s", bpf_program__name(p));
				break;
			}
		fail(NULL, err, errlen, e, "%s: the kernel refused to load %s: %s",
		     probe_names[set], failed[0] ? failed : "?", strerror(-e));
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
	bpf_object__for_each_program(p, s->obj) {
		if (!bpf_program__autoload(p))
			continue;
		if (p == s->progs.acq_sample_all || p == s->progs.acq_calibrate)
			continue; /* run on demand, never attached */
		struct bpf_link *l = bpf_program__attach(p);
		if (!l) {
			e = -errno;
			snprintf(failed, 64, "%s", bpf_program__name(p));
			fail(NULL, err, errlen, e, "%s: the kernel refused to attach %s (%s): %s",
			     probe_names[set], bpf_program__name(p), bpf_program__section_name(p),
			     strerror(-e));
			acceptq_bpf__destroy(s);
			return e;
		}
		/* keep the link with the skeleton so destroy detaches it */
		const char *n = bpf_program__name(p);
		for (int i = 0; i < s->skeleton->prog_cnt; i++)
			if (strcmp(s->skeleton->progs[i].name, n) == 0)
				*s->skeleton->progs[i].link = l;
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

/*
 * Load one probe set. A program the set can do without, if refused, is left
 * out with a notice (degrade, don't die). ACCEPTQ_REFUSE=prog,prog makes
 * acceptq treat those programs as refused, to rehearse this path.
 */
static int try_probe_set(struct acq *a, const struct acq_open_opts *o, enum acq_probe set,
			 char *err, size_t errlen)
{
	const char *refuse = getenv("ACCEPTQ_REFUSE");
	char skip[MAX_SKIP][64];
	int nskip = 0, e;

	a->notice[0] = 0;
	for (size_t i = 0; i < sizeof(optional_progs) / sizeof(optional_progs[0]); i++) {
		const char *prog = optional_progs[i].prog;
		if (prog_in_set(prog, set) && in_list(refuse, prog) && nskip < MAX_SKIP) {
			snprintf(skip[nskip++], 64, "%s", prog);
			add_notice(a, "%s (%s refused on request)", optional_progs[i].loss, prog);
		}
	}
	for (;;) {
		char failed[64] = "";
		e = load_attach(a, o, set, skip, nskip, failed, err, errlen);
		if (!e)
			return 0;
		const char *loss = loss_without(failed);
		if (!loss || nskip == MAX_SKIP)
			return e;
		add_notice(a, "%s (%s)", loss, err);
		snprintf(skip[nskip++], 64, "%s", failed);
	}
}

const char *acq_notice(void *h)
{
	struct acq *a = h;

	return a ? a->notice : "";
}

static size_t samples_map_size(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return (ACQ_MAX_SOCKS * sizeof(struct acq_sample) + page - 1) / page * page;
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
	pthread_mutex_lock(&log_lock);
	if (log_file) {
		fclose(log_file);
		log_file = NULL;
	}
	if (o->log_path && o->log_path[0])
		log_file = fopen(o->log_path, "a");
	pthread_mutex_unlock(&log_lock);
	libbpf_set_print(log_print);

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
	a->samples_map = mmap(NULL, samples_map_size(), PROT_READ, MAP_SHARED,
			      bpf_map__fd(a->skel->maps.samples), 0);
	if (a->samples_map == MAP_FAILED) {
		e = -errno;
		a->samples_map = NULL;
		fail(code, err, errlen, e, "cannot map the sample array: %s", strerror(-e));
		acq_close(a);
		return NULL;
	}
	/* the zero point of every namespace delta */
	pthread_t th;
	a->baselining = true;
	scan_namespaces(a);
	if ((e = pthread_create(&th, NULL, ns_worker, a))) {
		/* without it every delta would run since boot */
		fail(code, err, errlen, -e, "cannot start the namespace walker: %s", strerror(e));
		acq_close(a);
		return NULL;
	}
	pthread_join(th, NULL);
	a->baselining = false;

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
		munmap((void *)a->samples_map, samples_map_size());
	acceptq_bpf__destroy(a->skel); /* detaches every link, closes every map */
	free(a->rows.slots);
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

/* ---- snapshot ---- */

static void read_netstat(FILE *f, struct acq_netns *o)
{
	char names[8192], vals[8192];

	while (fgets(names, sizeof(names), f) && fgets(vals, sizeof(vals), f)) {
		if (strncmp(names, "TcpExt:", 7) != 0)
			continue;
		char *sn, *sv;
		char *n = strtok_r(names + 7, " \n", &sn);
		char *v = strtok_r(vals + 7, " \n", &sv);
		while (n && v) {
			__u64 x = strtoull(v, NULL, 10);
			if (!strcmp(n, "ListenOverflows"))
				o->listen_overflows = x;
			else if (!strcmp(n, "ListenDrops"))
				o->listen_drops = x;
			else if (!strcmp(n, "SyncookiesSent"))
				o->syncookies_sent = x;
			else if (!strcmp(n, "TCPReqQFullDrop"))
				o->reqqfull_drop = x;
			else if (!strcmp(n, "TCPReqQFullDoCookies"))
				o->reqqfull_cookies = x;
			n = strtok_r(NULL, " \n", &sn);
			v = strtok_r(NULL, " \n", &sv);
		}
	}
}

/* Run the TCP iterator over this thread's namespace: it registers what the registry lacks. */
static void register_older_listeners(struct acq *a)
{
	char buf[4096];
	ssize_t n;
	int fd = bpf_iter_create(bpf_link__fd(a->skel->links.acq_sample));

	if (fd < 0)
		return;
	/* the walk happens as the iterator is read; it writes nothing */
	while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		;
	close(fd);
}

/* Inside one namespace (this thread has joined it): listeners, then counters. */
static void walk_current_ns(struct acq *a, struct ns_entry *e)
{
	__u64 cookie = 0;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s >= 0) {
		socklen_t len = sizeof(cookie);
		getsockopt(s, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len);
		close(s);
	}
	/*
	 * A namespace seen for the first time: register the listeners older
	 * than acceptq (the TCP iterator adds those the registry lacks), so
	 * that what follows is counted against a complete registry. From then
	 * on listen() and close() keep the registry current by themselves.
	 */
	if (cookie != e->walked_cookie) {
		register_older_listeners(a);
		e->walked_cookie = cookie;
	}

	/* the kernel's counters and what acceptq attributed here, back to back */
	FILE *f = fopen("/proc/thread-self/net/netstat", "r");
	if (f) {
		read_netstat(f, &e->out);
		fclose(f);
	}
	struct acq_ns_counts nc = {};
	bpf_map_lookup_elem(bpf_map__fd(a->skel->maps.ns_counts), &cookie, &nc);
	e->out.attributed = nc.overflows;
	e->out.attributed_syn_drops = nc.syn_drops;
	e->out.attributed_cookies = nc.cookies;
	e->out.unmatched = nc.unmatched;
	e->unsure = nc.unsure;

	if (a->baselining) {
		/* right after attaching: the zero point of every delta */
		e->out.start_attributed = nc.overflows;
		e->out.start_attributed_syn_drops = nc.syn_drops;
		e->out.start_attributed_cookies = nc.cookies;
		e->out.start_unmatched = nc.unmatched;
		e->out.start_listen_overflows = e->out.listen_overflows;
		e->out.start_listen_drops = e->out.listen_drops;
		e->out.start_syncookies_sent = e->out.syncookies_sent;
		e->out.start_reqqfull_drop = e->out.reqqfull_drop;
	} else if (e->out.cookie && cookie != e->out.cookie) {
		/* the inode number was reused by a new namespace: it started at zero */
		e->out.start_attributed = e->out.start_listen_overflows = e->out.start_listen_drops = 0;
		e->out.start_syncookies_sent = e->out.start_reqqfull_drop = 0;
		e->out.start_attributed_syn_drops = e->out.start_attributed_cookies = 0;
		e->out.start_unmatched = 0;
		e->unsure_prev = e->unsure_moved_prev = 0;
	}
	e->out.cookie = cookie;
}

static void *ns_worker(void *arg)
{
	struct acq *a = arg;

	/* setns() here changes only this thread's namespace, not the caller's */
	for (size_t i = 0; i < a->ns.len; i++) {
		struct ns_entry *e = &a->ns.v[i];
		if (!e->seen)
			continue;
		int fd = open(e->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			e->seen = false;
			continue;
		}
		if (setns(fd, CLONE_NEWNET) == 0)
			walk_current_ns(a, e);
		else
			e->seen = false;
		close(fd);
	}
	return NULL;
}

static __u32 ns_inode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (__u32)st.st_ino : 0;
}

/* Every network namespace with a process in it, and the bind-mounted ones. */
static void scan_namespaces(struct acq *a)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	char path[64];

	for (size_t i = 0; i < a->ns.len; i++) {
		a->ns.v[i].seen = false;
		a->ns.v[i].out.pid = 0;
	}
	while (d && (de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%.20s/ns/net", de->d_name);
		__u32 ino = ns_inode_of(path);
		if (!ino)
			continue;
		struct ns_entry *e = ns_find(&a->ns, ino, true);
		if (!e || e->seen)
			continue;
		e->seen = true;
		e->out.pid = (__u32)atoi(de->d_name);
		snprintf(e->path, sizeof(e->path), "%s", path);
	}
	if (d)
		closedir(d);
	d = opendir("/run/netns");
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/run/netns/%.40s", de->d_name);
		__u32 ino = ns_inode_of(path);
		struct ns_entry *e = ino ? ns_find(&a->ns, ino, true) : NULL;
		if (!e || e->seen)
			continue;
		e->seen = true;
		snprintf(e->path, sizeof(e->path), "%s", path);
	}
	if (d)
		closedir(d);
	for (size_t i = 0; i < a->ns.len; i++)
		a->ns.v[i].out.gone = !a->ns.v[i].seen;
}

static void read_comm(__u32 pid, char *comm)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	FILE *f = fopen(path, "r");
	memset(comm, 0, ACQ_COMM_LEN);
	if (!f)
		return;
	if (fgets(comm, ACQ_COMM_LEN, f))
		comm[strcspn(comm, "\n")] = 0;
	fclose(f);
}

static struct owner *owner_of(struct owner_cache *c, __u32 ino)
{
	for (size_t i = 0; i < c->len; i++)
		if (c->v[i].ino == ino)
			return &c->v[i];
	return NULL;
}

/* Find the processes holding the given socket inodes (at most every 2 s). */
static void resolve_owners(struct acq *a, const __u32 *inos, size_t n)
{
	struct owner_cache *c = &a->owners;
	__u64 now = now_ns(CLOCK_MONOTONIC);
	DIR *d, *fdd;
	struct dirent *de, *fe;
	char path[600], link[64];

	if (!n || now - c->last_scan_ns < 2000000000ULL)
		return;
	c->last_scan_ns = now;
	d = opendir("/proc");
	while (d && (de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", de->d_name);
		fdd = opendir(path);
		while (fdd && (fe = readdir(fdd))) {
			snprintf(path, sizeof(path), "/proc/%s/fd/%s", de->d_name, fe->d_name);
			ssize_t l = readlink(path, link, sizeof(link) - 1);
			if (l <= 8 || strncmp(link, "socket:[", 8) != 0)
				continue;
			link[l] = 0;
			__u32 ino = (__u32)strtoul(link + 8, NULL, 10);
			bool wanted = false;
			for (size_t i = 0; i < n && !wanted; i++)
				wanted = inos[i] == ino;
			if (!wanted || owner_of(c, ino))
				continue;
			if (c->len == c->cap) {
				size_t ncap = c->cap ? c->cap * 2 : 64;
				struct owner *nv = realloc(c->v, ncap * sizeof(*nv));
				if (!nv)
					break;
				c->v = nv;
				c->cap = ncap;
			}
			struct owner *o = &c->v[c->len++];
			o->ino = ino;
			o->pid = (__u32)atoi(de->d_name);
			read_comm(o->pid, o->comm);
		}
		if (fdd)
			closedir(fdd);
	}
	if (d)
		closedir(d);
}

static bool drop_expired(struct row *r, void *ctx)
{
	struct acq *a = ctx;
	__u64 now_ms = now_ns(CLOCK_REALTIME) / 1000000ULL;

	if (r->live || !r->out.closed_ms)
		return false;
	if (now_ms - r->out.closed_ms < (__u64)a->retain_closed_s * 1000)
		return false;
	struct acq_lkey k;
	struct acq_group g;
	memcpy(&k, &r->out, sizeof(k));
	/* a socket that listened on the same key since this snapshot's sample keeps the row */
	if (bpf_map_lookup_elem(bpf_map__fd(a->skel->maps.groups), &k, &g) == 0 && g.members)
		return false;
	bpf_map_delete_elem(bpf_map__fd(a->skel->maps.counts), &k);
	bpf_map_delete_elem(bpf_map__fd(a->skel->maps.groups), &k);
	return true;
}

static int apply_counts(struct acq *a, const struct acq_lkey *k, const struct acq_counts *c,
			__u32 old_gen, __u64 boot_to_unix_ns)
{
	struct row *r = rows_find(&a->rows, k, true);

	if (!r)
		return -ENOMEM;
	r->moved = c->overflows_syn != r->out.overflows_syn || c->overflows_ack != r->out.overflows_ack ||
		   c->syn_drops != r->out.syn_drops || c->cookies != r->out.cookies;
	r->out.overflows_syn = c->overflows_syn;
	r->out.overflows_ack = c->overflows_ack;
	r->out.syn_drops = c->syn_drops;
	r->out.cookies = c->cookies;
	r->out.first_overflow_ms = c->first_overflow_ns ? (c->first_overflow_ns + boot_to_unix_ns) / 1000000 : 0;
	r->out.last_overflow_ms = c->last_overflow_ns ? (c->last_overflow_ns + boot_to_unix_ns) / 1000000 : 0;
	if (c->peak_gen == old_gen && c->peak_backlog > r->out.peak_backlog)
		r->out.peak_backlog = c->peak_backlog;
	return 0;
}

#define BATCH 4096

static int read_counts(struct acq *a, __u32 old_gen)
{
	int fd = bpf_map__fd(a->skel->maps.counts);
	__u64 off = now_ns(CLOCK_REALTIME) - now_ns(CLOCK_BOOTTIME);
	static struct acq_lkey keys[BATCH];
	static struct acq_counts vals[BATCH];
	__u32 in = 0, out = 0;
	bool first = true;
	int e;

	/* batched: one syscall per 4096 rows (tick time at 10,000 listeners) */
	for (;;) {
		__u32 n = BATCH;
		e = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys, vals, &n, NULL);
		int err = e ? -errno : 0;
		for (__u32 i = 0; i < n; i++)
			if ((e = apply_counts(a, &keys[i], &vals[i], old_gen, off)))
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
	struct acq_lkey k, next, *prev = NULL;
	struct acq_counts c;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &c) == 0 && (e = apply_counts(a, &k, &c, old_gen, off)))
			return e;
	}
	return 0;
}

static struct ns_entry *ns_by_cookie(struct ns_list *l, __u64 cookie)
{
	for (size_t i = 0; i < l->len; i++)
		if (l->v[i].out.cookie == cookie)
			return &l->v[i];
	return NULL;
}

/*
 * A namespace's split among its listeners is exact unless, within this
 * interval or the one before (a credit taken across the tick), several of
 * its rows moved while some packet there was handled with softirqs enabled
 * (counters.bpf.h says why that is the one way a credit can go astray).
 */
static void mark_estimates(struct acq *a)
{
	for (size_t i = 0; i < a->ns.len; i++)
		a->ns.v[i].moved_rows = 0;
	for (size_t i = 0; i < a->rows.cap; i++) {
		struct row *r = &a->rows.slots[i];
		struct ns_entry *e;
		if (r->used && r->moved && (e = ns_by_cookie(&a->ns, r->out.netns_cookie)))
			e->moved_rows++;
	}
	for (size_t i = 0; i < a->ns.len; i++) {
		struct ns_entry *e = &a->ns.v[i];
		__u64 unsure_moved = e->unsure - e->unsure_prev;
		e->out.estimate = e->moved_rows > 1 && (unsure_moved || e->unsure_moved_prev);
		e->unsure_moved_prev = unsure_moved;
		e->unsure_prev = e->unsure;
	}
	for (size_t i = 0; i < a->rows.cap; i++) {
		struct row *r = &a->rows.slots[i];
		struct ns_entry *e;
		if (r->used && r->moved && (e = ns_by_cookie(&a->ns, r->out.netns_cookie)) && e->out.estimate)
			r->out.flags |= ACQ_ROW_ESTIMATE;
	}
}

/*
 * A namespace no longer reachable and without rows: forget it, here and in
 * the kernel maps (its cookie is never used again).
 */
static void prune_namespaces(struct acq *a)
{
	size_t keep = 0;

	for (size_t i = 0; i < a->ns.len; i++) {
		struct ns_entry *e = &a->ns.v[i];
		bool has_rows = !e->out.gone;
		for (size_t j = 0; j < a->rows.cap && !has_rows; j++)
			has_rows = a->rows.slots[j].used && a->rows.slots[j].out.netns_cookie == e->out.cookie;
		if (e->out.gone && !has_rows) {
			if (e->out.cookie) {
				bpf_map_delete_elem(bpf_map__fd(a->skel->maps.ns_counts), &e->out.cookie);
				bpf_map_delete_elem(bpf_map__fd(a->skel->maps.cpu_mib), &e->out.cookie);
			}
			continue;
		}
		a->ns.v[keep++] = *e;
	}
	a->ns.len = keep;
}

int acq_snapshot(void *h, struct acq_listener *rows, __u32 max_rows,
		 struct acq_netns *ns, __u32 max_ns, struct acq_stats *stats)
{
	struct acq *a = h;
	__u64 t0 = now_ns(CLOCK_MONOTONIC);
	pthread_t th;
	int e;

	if (!a)
		return -EINVAL;
	/* a new peak generation: the kernel starts the next interval's peak */
	__u32 old_gen = a->skel->bss->peak_gen;
	a->skel->bss->peak_gen = old_gen + 1;

	scan_namespaces(a);
	if ((e = pthread_create(&th, NULL, ns_worker, a)))
		return -e;
	pthread_join(th, NULL);
	/* every registered listener of every namespace, in one pass over the registry, read in place */
	LIBBPF_OPTS(bpf_test_run_opts, run);
	if ((e = bpf_prog_test_run_opts(bpf_program__fd(a->skel->progs.acq_sample_all), &run)))
		return -errno;
	__u32 nsamples = a->skel->bss->samples_len;
	if (nsamples > ACQ_MAX_SOCKS)
		nsamples = ACQ_MAX_SOCKS;

	/* start every row from zero depth; samples add the live sockets */
	for (size_t i = 0; i < a->rows.cap; i++) {
		struct row *r = &a->rows.slots[i];
		if (!r->used)
			continue;
		r->live = false;
		r->moved = false;
		r->out.sockets = r->out.backlog = r->out.max_backlog = 0;
		r->out.syn_backlog = r->out.peak_backlog = 0;
	}
	int sfd = bpf_map__fd(a->skel->maps.socks);
	__u32 *unknown = NULL;
	size_t nunknown = 0;
	for (__u32 i = 0; i < nsamples; i++) {
		const struct acq_sample *s = &a->samples_map[i];
		struct row *r = rows_find(&a->rows, &s->key, true);
		if (!r)
			return -ENOMEM;
		r->live = true;
		r->out.closed_ms = 0;
		r->out.sockets++;
		r->out.backlog += s->backlog;
		r->out.max_backlog += s->max_backlog;
		r->out.syn_backlog += s->syn_backlog;
		r->out.uid = s->uid;
		r->out.peak_backlog = r->out.backlog > r->out.peak_backlog ? r->out.backlog
									 : r->out.peak_backlog;
		if (r->out.pid)
			continue;
		struct acq_sock sk;
		if (bpf_map_lookup_elem(sfd, &s->sk, &sk) == 0 && sk.pid) {
			r->out.pid = sk.pid;
			r->out.cgroup_id = sk.cgroup_id;
			memcpy(r->out.comm, sk.comm, ACQ_COMM_LEN);
			continue;
		}
		struct owner *o = owner_of(&a->owners, s->ino);
		if (o) {
			r->out.pid = o->pid;
			memcpy(r->out.comm, o->comm, ACQ_COMM_LEN);
		} else if (s->ino) {
			__u32 *nu = realloc(unknown, (nunknown + 1) * sizeof(*nu));
			if (nu) {
				unknown = nu;
				unknown[nunknown++] = s->ino;
			}
		}
	}
	resolve_owners(a, unknown, nunknown);
	free(unknown);

	if ((e = read_counts(a, old_gen)))
		return e;
	mark_estimates(a);
	prune_namespaces(a);
	__u64 now_ms = now_ns(CLOCK_REALTIME) / 1000000ULL;
	for (size_t i = 0; i < a->rows.cap; i++) {
		struct row *r = &a->rows.slots[i];
		if (r->used && !r->live && !r->out.closed_ms)
			r->out.closed_ms = now_ms;
	}
	/* rebuilding the table costs a pass over every row: only when one expired */
	for (size_t i = 0; i < a->rows.cap; i++) {
		struct row *r = &a->rows.slots[i];
		if (r->used && !r->live && r->out.closed_ms &&
		    now_ms - r->out.closed_ms >= (__u64)a->retain_closed_s * 1000) {
			rows_prune(&a->rows, drop_expired, a);
			break;
		}
	}

	a->snapshots++;
	a->stats.lost_events = a->skel->bss->lost_events;
	a->stats.suppressed_events = a->skel->bss->suppressed_events;
	a->stats.map_full = a->skel->bss->map_full;
	a->stats.probe = a->probe;
	a->stats.rows = (__u32)a->rows.len;
	a->stats.sockets = nsamples;
	a->stats.namespaces = (__u32)a->ns.len;
	a->stats.snapshot_ns = now_ns(CLOCK_MONOTONIC) - t0;
	if (stats)
		*stats = a->stats;
	return acq_copy(a, rows, max_rows, ns, max_ns);
}

int acq_copy(void *h, struct acq_listener *rows, __u32 max_rows,
	     struct acq_netns *ns, __u32 max_ns)
{
	struct acq *a = h;
	__u32 n = 0;

	if (!a)
		return -EINVAL;
	for (size_t i = 0; i < a->rows.cap && n < max_rows; i++)
		if (a->rows.slots[i].used)
			rows[n++] = a->rows.slots[i].out;
	for (size_t i = 0; i < a->ns.len && i < max_ns; i++)
		ns[i] = a->ns.v[i].out;
	return (int)n;
}

/* ---- least privilege ---- */

/*
 * Capabilities are per thread, Node runs several threads, and capset() only
 * ever changes the calling one; libuv's worker threads also block every
 * signal, so no signal can make them drop theirs. A change of uid is the one
 * thing glibc applies to every thread (its setxid broadcast cannot be
 * blocked), and the kernel clears the capabilities of each thread whose uid
 * leaves 0. So: keep capabilities across the change on this thread only,
 * move the process to the unprivileged uid, then raise just what is kept on
 * this thread. Threads created later by this one (the namespace walker)
 * inherit that set; every other thread ends with none.
 */
int acq_drop_caps(__u64 keep, __u32 uid, __u32 gid, char *err, size_t errlen)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	int last = 40;
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");

	if (f) {
		if (fscanf(f, "%d", &last) != 1 || last > 63)
			last = 40;
		fclose(f);
	}
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0))
		return fail(NULL, err, errlen, -errno, "PR_SET_KEEPCAPS: %s", strerror(errno));
	/* the bounding set, so that nothing exec'd later gets more back */
	for (int c = 0; c <= last; c++)
		if (!(keep & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) && errno != EINVAL)
			return fail(NULL, err, errlen, -errno, "PR_CAPBSET_DROP %d: %s", c, strerror(errno));
	if (setgroups(0, NULL) || setresgid(gid, gid, gid) || setresuid(uid, uid, uid))
		return fail(NULL, err, errlen, -errno, "cannot change to uid %u: %s", uid, strerror(errno));
	for (int i = 0; i < 2; i++) {
		data[i].effective = data[i].permitted = (__u32)(keep >> (32 * i));
		data[i].inheritable = 0;
	}
	if (syscall(SYS_capset, &hdr, data))
		return fail(NULL, err, errlen, -errno, "capset: %s", strerror(errno));
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	/* the uid change made the process non-dumpable: /proc/self stays readable */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	return 0;
}

/* ---- layout report ---- */

#define L_STRUCT(T) { #T, sizeof(struct T), 0 }
#define L_FIELD(T, F) { #T "." #F, sizeof(((struct T *)0)->F), offsetof(struct T, F) }

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
static const struct acq_layout layout[] = {
	L_STRUCT(acq_open_opts),
	L_FIELD(acq_open_opts, abi_version), L_FIELD(acq_open_opts, probe),
	L_FIELD(acq_open_opts, events_per_sec), L_FIELD(acq_open_opts, ringbuf_kb),
	L_FIELD(acq_open_opts, retain_closed_s), L_FIELD(acq_open_opts, log_path),
	L_STRUCT(acq_listener),
	L_FIELD(acq_listener, netns_cookie),
	L_FIELD(acq_listener, netns), L_FIELD(acq_listener, family), L_FIELD(acq_listener, port),
	L_FIELD(acq_listener, addr), L_FIELD(acq_listener, pid), L_FIELD(acq_listener, sockets),
	L_FIELD(acq_listener, backlog), L_FIELD(acq_listener, max_backlog),
	L_FIELD(acq_listener, peak_backlog), L_FIELD(acq_listener, syn_backlog),
	L_FIELD(acq_listener, overflows_syn), L_FIELD(acq_listener, overflows_ack),
	L_FIELD(acq_listener, syn_drops), L_FIELD(acq_listener, cookies),
	L_FIELD(acq_listener, first_overflow_ms), L_FIELD(acq_listener, last_overflow_ms),
	L_FIELD(acq_listener, cgroup_id), L_FIELD(acq_listener, closed_ms),
	L_FIELD(acq_listener, uid), L_FIELD(acq_listener, flags), L_FIELD(acq_listener, comm),
	L_STRUCT(acq_netns),
	L_FIELD(acq_netns, netns), L_FIELD(acq_netns, pid), L_FIELD(acq_netns, cookie),
	L_FIELD(acq_netns, listen_overflows),
	L_FIELD(acq_netns, listen_drops), L_FIELD(acq_netns, syncookies_sent),
	L_FIELD(acq_netns, reqqfull_drop), L_FIELD(acq_netns, reqqfull_cookies),
	L_FIELD(acq_netns, attributed), L_FIELD(acq_netns, attributed_syn_drops),
	L_FIELD(acq_netns, attributed_cookies), L_FIELD(acq_netns, unmatched),
	L_FIELD(acq_netns, start_attributed),
	L_FIELD(acq_netns, start_listen_overflows), L_FIELD(acq_netns, start_listen_drops),
	L_FIELD(acq_netns, start_syncookies_sent), L_FIELD(acq_netns, start_reqqfull_drop),
	L_FIELD(acq_netns, start_attributed_syn_drops), L_FIELD(acq_netns, start_attributed_cookies),
	L_FIELD(acq_netns, start_unmatched),
	L_FIELD(acq_netns, gone), L_FIELD(acq_netns, estimate),
	L_STRUCT(acq_stats),
	L_FIELD(acq_stats, lost_events), L_FIELD(acq_stats, suppressed_events),
	L_FIELD(acq_stats, map_full), L_FIELD(acq_stats, snapshot_ns), L_FIELD(acq_stats, probe),
	L_FIELD(acq_stats, rows), L_FIELD(acq_stats, namespaces), L_FIELD(acq_stats, sockets),
	L_STRUCT(acq_event),
	L_FIELD(acq_event, ts_ns), L_FIELD(acq_event, key), L_FIELD(acq_event, raddr),
	L_FIELD(acq_event, rport), L_FIELD(acq_event, path), L_FIELD(acq_event, rfamily),
	L_FIELD(acq_event, backlog), L_FIELD(acq_event, max_backlog),
	L_FIELD(acq_event, syn_backlog),
	L_STRUCT(acq_lkey),
	L_FIELD(acq_lkey, netns_cookie), L_FIELD(acq_lkey, netns), L_FIELD(acq_lkey, family), L_FIELD(acq_lkey, port),
	L_FIELD(acq_lkey, addr),
};

int acq_layout(struct acq_layout *out, __u32 max)
{
	__u32 n = sizeof(layout) / sizeof(layout[0]);

	if (!out)
		return (int)n;
	if (n > max)
		n = max;
	memcpy(out, layout, n * sizeof(*out));
	return (int)n;
}
