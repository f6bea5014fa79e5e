// SPDX-License-Identifier: MIT
/*
 * echo-min: a small TCP echo server on ursa, built against
 * the installed library (selftests/install builds and runs it):
 *
 *   cc echo-min.c $(pkg-config --cflags --libs ursa) -o echo-min
 *   ./echo-min 127.0.0.1:7007        port 0 takes a free port
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <unistd.h>

#include <ursa/ursa.h>

static struct ursa_loop loop;

static struct ursa_exit conn_task(void *arg)
{
	int fd = (int)(intptr_t)arg;
	struct ursa_req req;
	struct ursa_exit e;
	char buf[4096];

	ursa_req_init(&req, NULL);
	while (!ursa_recv(&loop, &req, fd, buf, sizeof(buf), 0)) {
		e = ursa_await_req(&req);
		if (e.kind != URSA_EXIT_SUCCESS || e.val == 0 ||
		    ursa_write_full(&loop, &req, fd, buf, (uint32_t)e.val,
				    URSA_OFF_CURRENT) ||
		    ursa_await_req(&req).kind != URSA_EXIT_SUCCESS)
			break;
	}
	close(fd);
	return ursa_exit_success(0);
}

static struct ursa_exit accept_task(void *arg)
{
	struct ursa_req req;
	struct ursa_exit e;

	ursa_req_init(&req, NULL);
	while (!ursa_accept(&loop, &req, (int)(intptr_t)arg, NULL, NULL, 0)) {
		e = ursa_await_req(&req);
		if (e.kind != URSA_EXIT_SUCCESS)
			break;
		ursa_task_release(
			ursa_task_spawn(ursa_loop_runq(&loop), conn_task,
					(void *)(intptr_t)e.val, NULL));
	}
	return ursa_exit_success(0);
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int lfd, ret;

	if (argc != 2 || ursa_parse_addr(argv[1], &ss, &len)) {
		fprintf(stderr, "usage: echo-min ADDR:PORT\n");
		return 2;
	}
	ret = ursa_loop_init(&loop, NULL);
	if (ret) {
		fprintf(stderr, "echo-min: %s\n", ursa_loop_strerror(ret));
		return 1;
	}
	lfd = ursa_listen((struct sockaddr *)&ss, len, 128, 0);
	if (lfd < 0 || getsockname(lfd, (struct sockaddr *)&ss, &len)) {
		fprintf(stderr, "echo-min: cannot listen on %s\n", argv[1]);
		return 1;
	}
	/* sin_port and sin6_port sit at the same offset. */
	printf("listening on port %u\n",
	       ntohs(((struct sockaddr_in *)&ss)->sin_port));
	fflush(stdout);
	ursa_task_release(ursa_task_spawn(ursa_loop_runq(&loop), accept_task,
					  (void *)(intptr_t)lfd, NULL));
	ursa_loop_run(&loop);
	ursa_loop_exit(&loop);
	return 0;
}
