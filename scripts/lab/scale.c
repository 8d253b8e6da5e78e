// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* acceptq-lab: Many listeners, churn and a connect flood, for scale tests. */
#include "lab.h"

static void raise_nofile(void)
{
	struct rlimit r = { MAX_MANY + 1024, MAX_MANY + 1024 };

	setrlimit(RLIMIT_NOFILE, &r);
}

/* One plain listener socket on 127.0.0.1:port (not recorded in ls[]). */
static int quick_listener(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		die("socket (raise the open-files limit?)");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (void *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0)
		die("bind/listen");
	return fd;
}

static int *many_fds;
static int many_n;

void scenario_many(int n)
{
	raise_nofile();
	many_fds = calloc(n, sizeof(int));
	for (many_n = 0; many_n < n; many_n++)
		many_fds[many_n] = quick_listener(20000 + many_n);
}

/* Open and close n listeners spread over secs seconds, in batches of 100. */
void scenario_churn(int n, int secs)
{
	int batch[100];
	int batches = (n + 99) / 100;
	long pause_ms = batches ? (long)secs * 1000 / batches : 0;

	raise_nofile();
	for (int b = 0; b < batches && !stop; b++) {
		int k = 0;
		for (; k < 100 && b * 100 + k < n; k++)
			batch[k] = quick_listener(20000 + (b * 100 + k) % 40000);
		for (int i = 0; i < k; i++)
			close(batch[i]);
		msleep((int)pause_ms);
	}
}

/* Non-blocking connects in a loop, closed in batches, for secs seconds. */
void scenario_flood(int secs)
{
	struct sockaddr_storage ss;
	int len = make_addr(4, "127.0.0.1", 9700, &ss);
	int batch[256], k = 0;
	struct timespec t0, t;

	add_listener(4, "127.0.0.1", 9700, 4, false, true);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (stop || t.tv_sec - t0.tv_sec >= secs)
			break;
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (fd < 0)
			die("socket");
		if (connect(fd, (void *)&ss, len) < 0 && errno != EINPROGRESS)
			die("connect");
		batch[k++] = fd;
		if (k == 256) {
			while (k)
				close(batch[--k]);
		}
	}
	while (k)
		close(batch[--k]);
}


