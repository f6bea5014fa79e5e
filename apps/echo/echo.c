// SPDX-License-Identifier: MIT
/*
 * ursa-echo: a TCP echo server in a task per connection.
 *
 *   ursa-echo [ADDR:PORT]      default 127.0.0.1:7007
 *
 * SIGINT or SIGTERM stops it: every connection task is interrupted, its
 * I/O cancelled, and the loop exits cleanly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ursa/ursa.h>

static struct ursa_loop loop;

static struct ursa_exit conn_task(void *arg)
{
	int fd = (int)(intptr_t)arg;
	struct ursa_req req;
	char buf[4096];
	struct ursa_exit e;

	ursa_req_init(&req, NULL);
	for (;;) {
		if (ursa_recv(&loop, &req, fd, buf, sizeof(buf), 0))
			break;
		e = ursa_await_req(&req);
		if (e.kind != URSA_EXIT_SUCCESS || e.val == 0)
			break;
		if (ursa_write_full(&loop, &req, fd, buf, (uint32_t)e.val,
				    URSA_OFF_CURRENT))
			break;
		if (ursa_await_req(&req).kind != URSA_EXIT_SUCCESS)
			break;
	}
	close(fd);
	return ursa_exit_success(0);
}

static struct ursa_exit accept_task(void *arg)
{
	int lfd = (int)(intptr_t)arg;
	struct ursa_req req;
	struct ursa_exit e;

	ursa_req_init(&req, NULL);
	while (ursa_accept(&loop, &req, lfd, NULL, NULL, 0) == 0) {
		e = ursa_await_req(&req);
		if (e.kind != URSA_EXIT_SUCCESS)
			break;
		ursa_task_release(
			ursa_task_spawn(ursa_loop_runq(&loop), conn_task,
					(void *)(intptr_t)e.val, NULL));
	}
	return ursa_exit_success(0);
}

static void on_signal(struct ursa_signal *s, int signo)
{
	ursa_signal_stop(s);
	ursa_loop_stop(&loop);
}

int main(int argc, char **argv)
{
	const char *addr = argc > 1 ? argv[1] : "127.0.0.1:7007";
	struct sockaddr_storage ss;
	struct ursa_signal sig;
	socklen_t len;
	sigset_t set;
	int lfd, ret;

	if (argc > 2 || ursa_parse_addr(addr, &ss, &len)) {
		fprintf(stderr, "usage: ursa-echo [ADDR:PORT]\n");
		return 2;
	}
	ret = ursa_loop_init(&loop, NULL);
	if (ret) {
		fprintf(stderr, "ursa-echo: %s\n", ursa_loop_strerror(ret));
		return 1;
	}
	lfd = ursa_listen((struct sockaddr *)&ss, len, 128, 0);
	if (lfd < 0) {
		fprintf(stderr, "ursa-echo: %s: %s\n", addr, strerror(-lfd));
		ursa_loop_exit(&loop);
		return 1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	ursa_signal_start(&loop, &sig, &set, on_signal);
	ursa_task_release(ursa_task_spawn(ursa_loop_runq(&loop), accept_task,
					  (void *)(intptr_t)lfd, NULL));
	printf("ursa-echo: listening on %s\n", addr);
	fflush(stdout);
	ursa_loop_run(&loop);
	ursa_loop_exit(&loop);
	close(lfd);
	return 0;
}
