// SPDX-License-Identifier: MIT
/*
 * Unit tests of the intrusive list and error pointers.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ursa/err.h>
#include <ursa/list.h>

struct item {
	int v;
	struct ursa_list_head node;
};

static void collect(struct ursa_list_head *head, int *out, int *n)
{
	struct item *it;

	*n = 0;
	ursa_list_for_each_entry(it, head, node)
		out[(*n)++] = it->v;
}

static void add_tail_keeps_fifo_order_and_add_is_lifo(void **state)
{
	struct ursa_list_head head = URSA_LIST_HEAD_INIT(head);
	struct item a = { .v = 1 }, b = { .v = 2 }, c = { .v = 3 };
	int out[3], n;

	assert_true(ursa_list_empty(&head));
	ursa_list_add_tail(&a.node, &head);
	ursa_list_add_tail(&b.node, &head);
	ursa_list_add(&c.node, &head);
	collect(&head, out, &n);
	assert_int_equal(n, 3);
	assert_int_equal(out[0], 3);
	assert_int_equal(out[1], 1);
	assert_int_equal(out[2], 2);
	assert_ptr_equal(ursa_list_first_entry(&head, struct item, node), &c);
}

static void del_init_leaves_an_empty_node(void **state)
{
	struct ursa_list_head head;
	struct item a = { .v = 1 }, b = { .v = 2 };
	int out[2], n;

	ursa_list_init(&head);
	ursa_list_add_tail(&a.node, &head);
	ursa_list_add_tail(&b.node, &head);
	ursa_list_del_init(&a.node);
	assert_true(ursa_list_empty(&a.node));
	collect(&head, out, &n);
	assert_int_equal(n, 1);
	assert_int_equal(out[0], 2);
	ursa_list_del(&b.node);
	assert_true(ursa_list_empty(&head));
}

static void safe_iteration_allows_removal(void **state)
{
	struct ursa_list_head head;
	struct item items[5], *it, *tmp;
	int i, out[5], n;

	ursa_list_init(&head);
	for (i = 0; i < 5; i++) {
		items[i].v = i;
		ursa_list_add_tail(&items[i].node, &head);
	}
	ursa_list_for_each_entry_safe(it, tmp, &head, node)
		if (it->v % 2)
			ursa_list_del_init(&it->node);
	collect(&head, out, &n);
	assert_int_equal(n, 3);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], 2);
	assert_int_equal(out[2], 4);
	n = 0;
	ursa_list_for_each_entry_reverse(it, &head, node)
		out[n++] = it->v;
	assert_int_equal(out[0], 4);
	assert_int_equal(out[2], 0);
}

static void splice_tail_moves_everything_in_order(void **state)
{
	struct ursa_list_head a, b;
	struct item items[4];
	int i, out[4], n;

	ursa_list_init(&a);
	ursa_list_init(&b);
	ursa_list_splice_tail_init(&a, &b);
	assert_true(ursa_list_empty(&b));
	for (i = 0; i < 4; i++) {
		items[i].v = i;
		ursa_list_add_tail(&items[i].node, i < 2 ? &b : &a);
	}
	ursa_list_splice_tail_init(&a, &b);
	assert_true(ursa_list_empty(&a));
	collect(&b, out, &n);
	assert_int_equal(n, 4);
	for (i = 0; i < 4; i++)
		assert_int_equal(out[i], i);
}

static void error_pointers_round_trip(void **state)
{
	int x;
	void *p = ERR_PTR(-ENOMEM);

	assert_true(IS_ERR(p));
	assert_int_equal(PTR_ERR(p), -ENOMEM);
	assert_true(ursa_is_err(ursa_err_ptr(-URSA_MAX_ERRNO)));
	assert_false(IS_ERR(&x));
	assert_false(IS_ERR(NULL));
	assert_true(IS_ERR_OR_NULL(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(add_tail_keeps_fifo_order_and_add_is_lifo),
		cmocka_unit_test(del_init_leaves_an_empty_node),
		cmocka_unit_test(safe_iteration_allows_removal),
		cmocka_unit_test(splice_tail_moves_everything_in_order),
		cmocka_unit_test(error_pointers_round_trip),
	};

	return cmocka_run_group_tests_name("list", tests, NULL, NULL);
}
