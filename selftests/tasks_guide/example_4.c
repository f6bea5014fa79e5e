// SPDX-License-Identifier: MIT
/*
 * A resource initialised lazily, once, however many tasks ask for it at
 * the same time: the Deferred guide's resource initializer, with tasks.
 * The first caller starts the initialisation in a task of its own, so
 * that interrupting a caller never abandons it halfway; every caller
 * awaits the same deferred. A failed initialisation is reported to every
 * waiter and the next caller starts over.
 */
#include <stdio.h>
#include <string.h>

#include <ursa/ursa.h>

#define MS 1000000ull
#define KSFT_SKIP 4

enum init_state { NOT_STARTED, INITIALIZING, INITIALIZED };

struct connection {
	int id;
	const char *host;
};

struct lazy_db {
	struct ursa_loop *loop;
	enum init_state state;
	struct ursa_deferred ready;
	struct connection conn;
	int attempts;
};

/* Connecting takes 50 ms; the database refuses the first attempt. */
static struct ursa_exit connect_task(void *arg)
{
	struct lazy_db *db = arg;
	int ret;

	printf("initializing database connection (attempt %d)\n",
	       ++db->attempts);
	ret = ursa_task_sleep(db->loop, 50 * MS);
	if (!ret && db->attempts == 1)
		ret = -ECONNREFUSED;
	if (ret) {
		db->state = NOT_STARTED;
		ursa_deferred_fail(&db->ready, ret);
		return ursa_exit_failure(ret);
	}
	db->conn = (struct connection){ .id = 40 + db->attempts,
					.host = "localhost:5432" };
	db->state = INITIALIZED;
	printf("database connected with id %d\n", db->conn.id);
	ursa_deferred_succeed_ptr(&db->ready, &db->conn);
	return ursa_exit_success(0);
}

static struct ursa_exit get_connection(struct lazy_db *db)
{
	struct ursa_task *t;

	switch (db->state) {
	case INITIALIZED:
		return ursa_exit_success_ptr(&db->conn);
	case INITIALIZING:
		return ursa_await(&db->ready);
	case NOT_STARTED:
		break;
	}
	/* Tasks switch only at awaits: no compare-and-set is needed. */
	db->state = INITIALIZING;
	ursa_deferred_init(&db->ready);
	t = ursa_task_spawn(ursa_loop_runq(db->loop), connect_task, db, NULL);
	if (IS_ERR(t)) {
		db->state = NOT_STARTED;
		return ursa_exit_failure((int)PTR_ERR(t));
	}
	ursa_task_release(t);
	return ursa_await(&db->ready);
}

struct operation {
	struct lazy_db *db;
	int n;
};

static struct ursa_exit operation_fn(void *arg)
{
	struct operation *op = arg;
	struct ursa_exit e = get_connection(op->db);
	struct connection *c;

	if (e.kind != URSA_EXIT_SUCCESS) {
		printf("operation %d: no connection (%s)\n", op->n,
		       strerror(-e.err));
		return e;
	}
	c = e.ptr;
	ursa_task_sleep(op->db->loop, 10 * MS); /* the query */
	printf("operation %d: SELECT * FROM users WHERE id = %d via "
	       "connection %d\n",
	       op->n, op->n, c->id);
	return ursa_exit_success(c->id);
}

/* Run @n operations at once; return how many got connection @want. */
static int run_operations(struct lazy_db *db, int n, int want)
{
	struct operation op[8];
	struct ursa_task *t[8];
	int i, good = 0;

	for (i = 0; i < n; i++) {
		op[i] = (struct operation){ .db = db, .n = i };
		t[i] = ursa_task_spawn(ursa_loop_runq(db->loop), operation_fn,
				       &op[i], NULL);
		if (IS_ERR(t[i]))
			return -1;
	}
	for (i = 0; i < n; i++) {
		struct ursa_exit e = ursa_task_join(t[i]);

		if (want < 0)
			good += e.kind == URSA_EXIT_FAILURE &&
				e.err == -ECONNREFUSED;
		else
			good += e.kind == URSA_EXIT_SUCCESS && e.val == want;
	}
	return good;
}

static struct ursa_exit program(void *arg)
{
	struct lazy_db *db = arg;
	int refused, served;

	/* Three callers share the first attempt, and its failure. */
	refused = run_operations(db, 3, -1);
	/* Five callers share the second attempt, and its connection. */
	served = run_operations(db, 5, 42);
	/* Later callers get it at once, without waiting. */
	served += run_operations(db, 1, 42);
	printf("%d refused, %d served, %d connection attempts\n", refused,
	       served, db->attempts);
	return refused == 3 && served == 6 && db->attempts == 2 ?
		       ursa_exit_success(0) :
		       ursa_exit_failure(-EIO);
}

int main(void)
{
	struct lazy_db db = { .state = NOT_STARTED };
	struct ursa_loop loop;
	struct ursa_task *t;
	struct ursa_exit e;
	int ret;

	ret = ursa_loop_init(&loop, NULL);
	if (ret) {
		printf("skip: %s\n", ursa_loop_strerror(ret));
		return KSFT_SKIP;
	}
	db.loop = &loop;
	t = ursa_task_spawn(ursa_loop_runq(&loop), program, &db, NULL);
	if (IS_ERR(t)) {
		ursa_loop_exit(&loop);
		return 1;
	}
	ursa_loop_run(&loop);
	if (!ursa_deferred_poll(ursa_task_done(t), &e))
		e = ursa_exit_die(-EDEADLK);
	ursa_task_release(t);
	ursa_loop_exit(&loop);
	printf("program: %s\n", ursa_exit_kind_name(e.kind));
	return e.kind == URSA_EXIT_SUCCESS ? 0 : 1;
}
