// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit test of lib/estimates.c: mark_estimates() driven tick by tick with
 * recorded inputs (rows that moved, a namespace's unsure count, the
 * kernel's skipped observations). Prints one line per check; exits 1 if
 * any failed. Run by test/estimates.test.ts.
 */
#include <stdio.h>
#include <string.h>
#include "internal.h"

static int failed, checks;

static void check(bool ok, const char *what)
{
	checks++;
	failed += !ok;
	printf("%s %s\n", ok ? "ok" : "FAIL", what);
}

static bool est(const struct row *r)
{
	return r->out.flags & ACQ_ROW_ESTIMATE;
}

/* Two namespaces (cookies 1 and 2) and three rows: A and B in 1, C in 2. */
struct world {
	struct ns_entry ns[2];
	struct row rows[3];
	struct skip_history skips;
	__u64 skipped;
};

static void world_init(struct world *w)
{
	memset(w, 0, sizeof(*w));
	w->ns[0].out.cookie = 1;
	w->ns[1].out.cookie = 2;
	w->rows[0].out.netns_cookie = 1;
	w->rows[1].out.netns_cookie = 1;
	w->rows[2].out.netns_cookie = 2;
}

/* One snapshot: which rows moved, how much each namespace's unsure count grew, how many observations were skipped. */
static void tick(struct world *w, bool a, bool b, bool c, __u64 unsure1, __u64 unsure2, __u64 skipped)
{
	w->rows[0].moved = a;
	w->rows[1].moved = b;
	w->rows[2].moved = c;
	w->ns[0].unsure += unsure1;
	w->ns[1].unsure += unsure2;
	w->skipped += skipped;
	mark_estimates(w->ns, 2, w->rows, 3, w->skipped, &w->skips);
}

int main(void)
{
	struct world w;

	/* a packet handled with softirqs enabled in namespace 1: only B moved (A's move may be B's) */
	world_init(&w);
	tick(&w, false, false, false, 0, 0, 0);
	tick(&w, false, true, false, 1, 0, 0);
	check(est(&w.rows[1]), "unsure credit, B the only row that moved: B is an estimate");
	check(!est(&w.rows[0]), "unsure credit: A did not move, its counts stay exact");
	check(w.ns[0].out.estimate, "unsure credit: namespace 1's split is an estimate");
	check(!w.ns[1].out.estimate && !est(&w.rows[2]), "unsure credit in namespace 1: namespace 2 untouched");

	/* a credit taken across the tick: the unsure packet in the interval before */
	world_init(&w);
	tick(&w, false, false, false, 0, 0, 0);
	tick(&w, false, false, false, 1, 0, 0);
	check(!est(&w.rows[0]) && !est(&w.rows[1]), "unsure credit, nothing moved: no estimate yet");
	tick(&w, true, false, false, 0, 0, 0);
	check(est(&w.rows[0]), "unsure credit in the previous interval, A alone moved now: A is an estimate");
	tick(&w, false, true, false, 0, 0, 0);
	check(!est(&w.rows[1]), "two intervals after the unsure credit: B's move is exact");
	check(est(&w.rows[0]), "an estimate stays one (its counts are cumulative)");

	/* an observation the kernel skipped (anywhere): C alone moved in namespace 2 */
	world_init(&w);
	tick(&w, false, false, false, 0, 0, 0);
	tick(&w, false, false, true, 0, 0, 1);
	check(est(&w.rows[2]), "skipped observation, C the only row that moved: C is an estimate");
	tick(&w, true, false, false, 0, 0, 0);
	check(est(&w.rows[0]), "skipped observation in the previous interval: A, moving now, is an estimate");
	tick(&w, false, true, false, 0, 0, 0);
	check(!est(&w.rows[1]), "two intervals after the skip: B's move is exact");

	/* nothing unsure, nothing skipped: several rows moving is exact */
	world_init(&w);
	tick(&w, false, false, false, 0, 0, 0);
	tick(&w, true, true, true, 0, 0, 0);
	check(!est(&w.rows[0]) && !est(&w.rows[1]) && !est(&w.rows[2]), "no unsure credit, no skip: every move is exact");
	check(!w.ns[0].out.estimate && !w.ns[1].out.estimate, "and no namespace is an estimate");

	printf("%d checks, %d failed\n", checks, failed);
	return failed ? 1 : 0;
}
