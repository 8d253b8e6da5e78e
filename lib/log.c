// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* libbpf's log: a bounded memory buffer, or a file with --debug; and fail(). */
#define _GNU_SOURCE
#include <pthread.h>
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

/* libbpf's log to this file from now on; NULL or "" = the memory buffer. */
void log_to(const char *path)
{
	pthread_mutex_lock(&log_lock);
	if (log_file) {
		fclose(log_file);
		log_file = NULL;
	}
	if (path && path[0])
		log_file = fopen(path, "a");
	pthread_mutex_unlock(&log_lock);
	libbpf_set_print(log_print);
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
