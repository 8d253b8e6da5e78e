// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The notice: what this run cannot see. Part of it is fixed at open (an
 * optional program the kernel refused, load.c); part is the last snapshot's
 * (a namespace it could not enter or read, netns.c), so it comes and goes
 * with the failure and is read again after every snapshot.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include "internal.h"

void tick_problems_reset(struct tick_problems *p)
{
	memset(p, 0, sizeof(*p));
}

/* One namespace this snapshot could not read (path: its file; what failed; err: errno). */
void ns_problem(struct tick_problems *p, const char *path, const char *what, int err)
{
	if (!p->namespaces++)
		snprintf(p->first, sizeof(p->first), "%s: %s: %s", path, what, strerror(err));
}

/* What this snapshot could not do outside any one namespace (listing them). */
void scan_problem(struct tick_problems *p, const char *what, int err)
{
	snprintf(p->scan, sizeof(p->scan), "%s: %s", what, strerror(err));
}

/* The fixed part and this snapshot's, as one line for acq_notice(). */
void compose_notice(struct acq *a)
{
	const struct tick_problems *p = &a->problems;
	char tick[sizeof(p->first) + sizeof(p->scan) + 200] = "";
	size_t n = 0;

	if (p->scan[0])
		n += snprintf(tick + n, sizeof(tick) - n, "could not list the network namespaces this tick "
			      "(%s), the last list is used", p->scan);
	if (p->namespaces && n < sizeof(tick))
		n += snprintf(tick + n, sizeof(tick) - n, "%scould not read %u network namespace%s this tick, "
			      "retried every tick (their figures are the last read): %s%s",
			      n ? "; " : "", p->namespaces, p->namespaces > 1 ? "s" : "", p->first,
			      p->namespaces > 1 ? ", ..." : "");
	snprintf(a->notice_now, sizeof(a->notice_now), "%s%s%s", a->notice,
		 a->notice[0] && tick[0] ? "; " : "", tick);
}

const char *acq_notice(void *h)
{
	struct acq *a = h;

	return a ? a->notice_now : "";
}
