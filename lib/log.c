// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* libbpf's log: a bounded memory buffer, or a file with --debug; and fail(). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "internal.h"

#define LOG_CAP (64 * 1024)
static char log_buf[LOG_CAP];
static size_t log_len;
static FILE *log_file;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static int log_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	pthread_mutex_lock(&log_lock);
	if (log_file) {
		va_list copy;

		va_copy(copy, ap);
		vfprintf(log_file, fmt, copy);
		va_end(copy);
		fflush(log_file);
	}
	/* kept in memory with --debug too: a refused load is explained from it */
	if (level != LIBBPF_DEBUG) {
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

/* Where the log ends now: log_since() reads what comes after. */
size_t log_mark(void)
{
	pthread_mutex_lock(&log_lock);
	size_t n = log_len;
	pthread_mutex_unlock(&log_lock);
	return n;
}

/* The log written since mark (all of it if the buffer wrapped meanwhile). */
void log_since(size_t mark, char *buf, size_t len)
{
	pthread_mutex_lock(&log_lock);
	size_t from = mark <= log_len ? mark : 0, n = log_len - from;
	if (n > len - 1)
		from = log_len - (n = len - 1); /* the newest part */
	memcpy(buf, log_buf + from, n);
	buf[n] = 0;
	pthread_mutex_unlock(&log_lock);
}

/* libbpf's log to this file from now on; NULL or "" = the memory buffer. */
/* 0, or -errno if the file cannot be opened (the log then goes to the buffer). */
int log_to(const char *path)
{
	int e = 0;

	pthread_mutex_lock(&log_lock);
	if (log_file) {
		fclose(log_file);
		log_file = NULL;
	}
	if (path && path[0] && !(log_file = fopen(path, "ae")))
		e = -errno;
	pthread_mutex_unlock(&log_lock);
	libbpf_set_print(log_print);
	return e;
}

int fail(int *code, char *err, size_t errlen, int c, const char *fmt, ...)
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

/*
 * After a refused load: which program the kernel refused and why, from
 * libbpf's log since mark (libbpf unloads every program after a failure,
 * so the object cannot tell). why: the verifier's own last words, or
 * libbpf's reason where the kernel was never asked (an unresolved CO-RE
 * relocation or kernel symbol).
 */
void refused_program(size_t mark, char *prog, char *why, size_t whylen)
{
	static char text[LOG_CAP];
	char *line, *save = NULL, *in_log = NULL;
	bool inside = false;

	prog[0] = why[0] = 0;
	log_since(mark, text, sizeof(text));
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *p = strstr(line, "prog '");
		if (strstr(line, "-- BEGIN PROG LOAD LOG --")) {
			inside = true;
			in_log = NULL;
		} else if (strstr(line, "-- END PROG LOAD LOG --")) {
			inside = false;
			if (in_log)
				snprintf(why, whylen, "%s", in_log);
		} else if (inside) {
			/* the verifier's summary lines come after its reason */
			if (line[0] && strncmp(line, "processed ", 10) && strncmp(line, "verification time", 17) &&
			    strncmp(line, "stack depth", 11) && strncmp(line, "Validating ", 11))
				in_log = line;
			continue;
		}
		if (p && (strstr(line, "failed to load") || strstr(line, "load failed") ||
			  strstr(line, "failed to resolve CO-RE"))) {
			char *q = strchr(p + 6, '\'');
			if (q && !prog[0])
				snprintf(prog, 64, "%.*s", (int)(q - p - 6), p + 6);
			if (strstr(line, "failed to resolve CO-RE") && !why[0])
				snprintf(why, whylen, "%s", q ? q + 3 : line);
		} else if (strstr(line, "extern (") && !why[0]) {
			snprintf(why, whylen, "%s", strstr(line, "extern ("));
		}
	}
}
