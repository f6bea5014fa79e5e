/* SPDX-License-Identifier: MIT */
/**
 * DOC: Test harness
 *
 * A kselftest-style test harness in one header. A suite is one C file:
 * include <ursa/harness.h>, write TEST() and TEST_F() functions, and end
 * the file with TEST_HARNESS_MAIN. The program prints TAP version 13 in
 * the Linux kernel's form and exits with a KSFT_* code.
 *
 * Each test runs in a forked child process. A crash, a failed ASSERT_*()
 * or a timeout ends that test only; the parent reports it and goes on
 * with the next one. A fixture (FIXTURE()) gives each test fresh data,
 * reached as ``self``, set up by FIXTURE_SETUP() and released by
 * FIXTURE_TEARDOWN(). FIXTURE_VARIANT() runs every test of a fixture
 * once per FIXTURE_VARIANT_ADD(), with the variant's data as ``variant``.
 *
 * Everything here is static: the tests of a suite, and its
 * TEST_HARNESS_MAIN, live in one translation unit.
 */
#ifndef URSA_HARNESS_H
#define URSA_HARNESS_H

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/**
 * KSFT_PASS - Exit code of a program whose tests all passed.
 */
#define KSFT_PASS 0

/**
 * KSFT_FAIL - Exit code of a program with a failed test.
 */
#define KSFT_FAIL 1

/**
 * KSFT_XFAIL - Exit code of a test that failed as expected; the
 * harness reports those as XFAIL and does not exit with it.
 */
#define KSFT_XFAIL 2

/**
 * KSFT_XPASS - Exit code of a program with a test that passed but was
 * expected to fail.
 */
#define KSFT_XPASS 3

/**
 * KSFT_SKIP - Exit code of a program whose tests were all skipped.
 */
#define KSFT_SKIP 4

/**
 * TEST_TIMEOUT_DEFAULT - Seconds a test may run before it is killed.
 */
#define TEST_TIMEOUT_DEFAULT 30

/* The result the parent gives a test, besides the KSFT_* exit codes. */
#define __URSA_TH_ERROR (-1)

#define __URSA_TH_UNUSED __attribute__((unused))

/*
 * The child fills this page, shared with the parent: the reason of a
 * SKIP() and the first failure, which the result line of an expected
 * failure shows.
 */
struct __ursa_th_results {
	char reason[512];
	char failure[512];
};

/*
 * A test instance as it runs, in the child: every assertion macro sees
 * it as _metadata. Helpers that assert take a
 * "struct __ursa_th_metadata *_metadata" parameter.
 */
struct __ursa_th_metadata {
	const char *name;
	int exit_code;
	int trigger;
	bool setup_done;
	bool in_teardown;
	struct __ursa_th_results *results;
	jmp_buf env;
};

struct __ursa_th_test;

struct __ursa_th_variant {
	const char *name;
	const void *data;
	int seq;
	struct __ursa_th_variant *next;
};

struct __ursa_th_fixture {
	const char *name;
	int seq;
	bool registered;
	struct __ursa_th_variant *variants;
	struct __ursa_th_test *tests;
	struct __ursa_th_fixture *next;
};

struct __ursa_th_test {
	const char *name;
	struct __ursa_th_fixture *fixture;
	void (*setup)(struct __ursa_th_metadata *m, void *self,
		      const void *variant);
	void (*body)(struct __ursa_th_metadata *m, void *self,
		     const void *variant);
	void (*teardown)(struct __ursa_th_metadata *m, void *self,
			 const void *variant);
	size_t self_size;
	int termsig;
	unsigned int timeout;
	int seq;
	struct __ursa_th_test *next;
};

struct __ursa_th_xfail {
	const char *fixture;
	const char *variant;
	const char *test;
	struct __ursa_th_xfail *next;
};

/*
 * Registration. Constructors run in an order the toolchain picks, so
 * each object carries __COUNTER__ and the lists are kept sorted by it:
 * tests run in the order the file declares them.
 */
static struct __ursa_th_fixture __ursa_th_fixture_global __URSA_TH_UNUSED = {
	.name = "global",
	.seq = -1,
};
static struct __ursa_th_fixture *__ursa_th_fixtures __URSA_TH_UNUSED;
static struct __ursa_th_xfail *__ursa_th_xfails __URSA_TH_UNUSED;

static inline __URSA_TH_UNUSED void
__ursa_th_add_fixture(struct __ursa_th_fixture *f)
{
	struct __ursa_th_fixture **p = &__ursa_th_fixtures;

	if (f->registered)
		return;
	f->registered = true;
	while (*p && (*p)->seq <= f->seq)
		p = &(*p)->next;
	f->next = *p;
	*p = f;
}

static inline __URSA_TH_UNUSED void
__ursa_th_add_variant(struct __ursa_th_fixture *f, struct __ursa_th_variant *v)
{
	struct __ursa_th_variant **p = &f->variants;

	while (*p && (*p)->seq <= v->seq)
		p = &(*p)->next;
	v->next = *p;
	*p = v;
}

static inline __URSA_TH_UNUSED void __ursa_th_add_test(struct __ursa_th_test *t)
{
	struct __ursa_th_test **p = &t->fixture->tests;

	__ursa_th_add_fixture(t->fixture);
	while (*p && (*p)->seq <= t->seq)
		p = &(*p)->next;
	t->next = *p;
	*p = t;
}

static inline __URSA_TH_UNUSED void
__ursa_th_add_xfail(struct __ursa_th_xfail *x)
{
	x->next = __ursa_th_xfails;
	__ursa_th_xfails = x;
}

/* Defining tests */

#define __URSA_TH_TEST(test_name, signo, secs)                              \
	static void __ursa_th_fn_global__##test_name(                       \
		struct __ursa_th_metadata *_metadata);                      \
	static void __ursa_th_thunk_global__##test_name(                    \
		struct __ursa_th_metadata *m, void *s __URSA_TH_UNUSED,     \
		const void *v __URSA_TH_UNUSED)                             \
	{                                                                   \
		__ursa_th_fn_global__##test_name(m);                        \
	}                                                                   \
	static struct __ursa_th_test __ursa_th_test_global__##test_name = { \
		.name = #test_name,                                         \
		.fixture = &__ursa_th_fixture_global,                       \
		.body = __ursa_th_thunk_global__##test_name,                \
		.termsig = (signo),                                         \
		.timeout = (secs),                                          \
		.seq = __COUNTER__,                                         \
	};                                                                  \
	static void __attribute__((constructor))                            \
	__ursa_th_reg_global__##test_name(void)                             \
	{                                                                   \
		__ursa_th_add_test(&__ursa_th_test_global__##test_name);    \
	}                                                                   \
	static void __ursa_th_fn_global__##test_name(                       \
		struct __ursa_th_metadata *_metadata __URSA_TH_UNUSED)

/**
 * TEST() - Define a test that has no fixture.
 * @test_name: Name of the test, a C identifier; it runs as global.@test_name.
 *
 * Follow it with the test's body in braces. The body can use the
 * ASSERT_*() and EXPECT_*() macros, SKIP() and TH_LOG().
 */
#define TEST(test_name) __URSA_TH_TEST(test_name, 0, TEST_TIMEOUT_DEFAULT)

/**
 * TEST_SIGNAL() - Define a test that passes when a signal kills it.
 * @test_name: Name of the test.
 * @signo: The signal that must end the test, such as SIGABRT.
 *
 * The test fails if it returns, or if another signal kills it.
 */
#define TEST_SIGNAL(test_name, signo) \
	__URSA_TH_TEST(test_name, signo, TEST_TIMEOUT_DEFAULT)

/**
 * TEST_TIMEOUT() - Define a test with its own time limit.
 * @test_name: Name of the test.
 * @seconds: Seconds the test may run before it is killed and fails; 0
 *	for no limit.
 */
#define TEST_TIMEOUT(test_name, seconds) __URSA_TH_TEST(test_name, 0, seconds)

/**
 * FIXTURE_DATA() - The type of a fixture's per-test data.
 * @fixture_name: Name given to FIXTURE().
 *
 * A struct type: "FIXTURE_DATA(name) *p" is a pointer to the data that
 * tests see as ``self``.
 */
#define FIXTURE_DATA(fixture_name) struct __ursa_th_self_##fixture_name

/**
 * FIXTURE_VARIANT() - Declare the data each variant of a fixture has.
 * @fixture_name: Name given to FIXTURE().
 *
 * Follow it with the members in braces and a semicolon. Tests and the
 * setup and teardown of the fixture see the running variant's data as
 * the const pointer ``variant``. Without variants, ``variant`` is NULL.
 */
#define FIXTURE_VARIANT(fixture_name) struct __ursa_th_vdata_##fixture_name

/**
 * FIXTURE() - Declare a fixture and the data of its tests.
 * @fixture_name: Name of the fixture, a C identifier.
 *
 * Follow it with the members in braces and a semicolon. Each test gets
 * its own zeroed copy, as ``self``. A fixture needs FIXTURE_SETUP() and
 * FIXTURE_TEARDOWN(), both before its first TEST_F().
 */
#define FIXTURE(fixture_name)                                                \
	FIXTURE_VARIANT(fixture_name);                                       \
	static struct __ursa_th_fixture __ursa_th_fixture_##fixture_name = { \
		.name = #fixture_name,                                       \
		.seq = __COUNTER__,                                          \
	};                                                                   \
	static void __attribute__((constructor))                             \
	__ursa_th_reg_fixture_##fixture_name(void)                           \
	{                                                                    \
		__ursa_th_add_fixture(&__ursa_th_fixture_##fixture_name);    \
	}                                                                    \
	FIXTURE_DATA(fixture_name)

#define __URSA_TH_FIXTURE_FN(kind, fixture_name)                        \
	static void __ursa_th_##kind##_fn_##fixture_name(               \
		struct __ursa_th_metadata *_metadata,                   \
		FIXTURE_DATA(fixture_name) * self,                      \
		const FIXTURE_VARIANT(fixture_name) * variant);         \
	static void __URSA_TH_UNUSED __ursa_th_##kind##_##fixture_name( \
		struct __ursa_th_metadata *m, void *s, const void *v)   \
	{                                                               \
		__ursa_th_##kind##_fn_##fixture_name(m, s, v);          \
	}                                                               \
	static void __ursa_th_##kind##_fn_##fixture_name(               \
		struct __ursa_th_metadata *_metadata __URSA_TH_UNUSED,  \
		FIXTURE_DATA(fixture_name) * self __URSA_TH_UNUSED,     \
		const FIXTURE_VARIANT(fixture_name) *                   \
			variant __URSA_TH_UNUSED)

/**
 * FIXTURE_SETUP() - Define the setup of a fixture.
 * @fixture_name: Name given to FIXTURE().
 *
 * Follow it with a body in braces. It runs in the test's process before
 * each test, with ``self`` zeroed and ``variant`` set. If it fails or
 * calls SKIP(), the test's body does not run. It can use every macro a
 * test can.
 */
#define FIXTURE_SETUP(fixture_name) __URSA_TH_FIXTURE_FN(setup, fixture_name)

/**
 * FIXTURE_TEARDOWN() - Define the teardown of a fixture.
 * @fixture_name: Name given to FIXTURE().
 *
 * Follow it with a body in braces. It runs after each test whose setup
 * returned, even when the test failed, ended on an ASSERT_*() or was
 * skipped. It does not run when an ASSERT_*() ended the setup, or when
 * a signal killed the test.
 */
#define FIXTURE_TEARDOWN(fixture_name) \
	__URSA_TH_FIXTURE_FN(teardown, fixture_name)

#define __URSA_TH_VD(f, v) __ursa_th_vdata_##f##__##v
#define __URSA_TH_VARIANT(f, v) __ursa_th_variant_##f##__##v
#define __URSA_TH_VARIANT_REG(f, v) __ursa_th_reg_variant_##f##__##v

/**
 * FIXTURE_VARIANT_ADD() - Add a variant to a fixture.
 * @fixture_name: Name given to FIXTURE().
 * @variant_name: Name of the variant; tests run as
 *	fixture.variant.test.
 *
 * Follow it with an initializer of the FIXTURE_VARIANT() struct and a
 * semicolon: FIXTURE_VARIANT_ADD(f, fast) { .flags = 1, };
 */
#define FIXTURE_VARIANT_ADD(fixture_name, variant_name)                     \
	static const FIXTURE_VARIANT(fixture_name)                          \
		__URSA_TH_VD(fixture_name, variant_name);                   \
	static struct __ursa_th_variant __URSA_TH_VARIANT(fixture_name,     \
							  variant_name) = { \
		.name = #variant_name,                                      \
		.data = &__URSA_TH_VD(fixture_name, variant_name),          \
		.seq = __COUNTER__,                                         \
	};                                                                  \
	static void __attribute__((constructor))                            \
	__URSA_TH_VARIANT_REG(fixture_name, variant_name)(void)             \
	{                                                                   \
		__ursa_th_add_variant(&__ursa_th_fixture_##fixture_name,    \
				      &__URSA_TH_VARIANT(fixture_name,      \
							 variant_name));    \
	}                                                                   \
	static const FIXTURE_VARIANT(fixture_name)                          \
		__URSA_TH_VD(fixture_name, variant_name) =

#define __URSA_TH_TEST_F(fixture_name, test_name, signo, secs)                 \
	static void __ursa_th_fn_##fixture_name##__##test_name(                \
		struct __ursa_th_metadata *_metadata,                          \
		FIXTURE_DATA(fixture_name) * self,                             \
		const FIXTURE_VARIANT(fixture_name) * variant);                \
	static void __ursa_th_thunk_##fixture_name##__##test_name(             \
		struct __ursa_th_metadata *m, void *s, const void *v)          \
	{                                                                      \
		__ursa_th_fn_##fixture_name##__##test_name(m, s, v);           \
	}                                                                      \
	static struct __ursa_th_test                                           \
		__ursa_th_test_##fixture_name##__##test_name = {               \
			.name = #test_name,                                    \
			.fixture = &__ursa_th_fixture_##fixture_name,          \
			.setup = __ursa_th_setup_##fixture_name,               \
			.body = __ursa_th_thunk_##fixture_name##__##test_name, \
			.teardown = __ursa_th_teardown_##fixture_name,         \
			.self_size = sizeof(FIXTURE_DATA(fixture_name)),       \
			.termsig = (signo),                                    \
			.timeout = (secs),                                     \
			.seq = __COUNTER__,                                    \
		};                                                             \
	static void __attribute__((constructor))                               \
	__ursa_th_reg_##fixture_name##__##test_name(void)                      \
	{                                                                      \
		__ursa_th_add_test(                                            \
			&__ursa_th_test_##fixture_name##__##test_name);        \
	}                                                                      \
	static void __ursa_th_fn_##fixture_name##__##test_name(                \
		struct __ursa_th_metadata *_metadata __URSA_TH_UNUSED,         \
		FIXTURE_DATA(fixture_name) * self __URSA_TH_UNUSED,            \
		const FIXTURE_VARIANT(fixture_name) *                          \
			variant __URSA_TH_UNUSED)

/**
 * TEST_F() - Define a test that uses a fixture.
 * @fixture_name: Name given to FIXTURE().
 * @test_name: Name of the test.
 *
 * Follow it with the test's body in braces. It sees its fixture data as
 * ``self`` and its variant as ``variant``. It runs once per variant of
 * the fixture, as fixture.variant.test, or once as fixture.test.
 */
#define TEST_F(fixture_name, test_name) \
	__URSA_TH_TEST_F(fixture_name, test_name, 0, TEST_TIMEOUT_DEFAULT)

/**
 * TEST_F_SIGNAL() - Define a fixture test that passes when a signal
 * kills it.
 * @fixture_name: Name given to FIXTURE().
 * @test_name: Name of the test.
 * @signo: The signal that must end the test.
 */
#define TEST_F_SIGNAL(fixture_name, test_name, signo) \
	__URSA_TH_TEST_F(fixture_name, test_name, signo, TEST_TIMEOUT_DEFAULT)

/**
 * TEST_F_TIMEOUT() - Define a fixture test with its own time limit.
 * @fixture_name: Name given to FIXTURE().
 * @test_name: Name of the test.
 * @seconds: Seconds the test may run before it is killed and fails; 0
 *	for no limit.
 */
#define TEST_F_TIMEOUT(fixture_name, test_name, seconds) \
	__URSA_TH_TEST_F(fixture_name, test_name, 0, seconds)

#define __URSA_TH_XF(f, v, t) __ursa_th_xf_##f##__##v##__##t
#define __URSA_TH_XF_REG(f, v, t) __ursa_th_reg_xf_##f##__##v##__##t

/**
 * XFAIL_ADD() - Mark a test as expected to fail.
 * @fixture_name: Name given to FIXTURE(), or global for a TEST().
 * @variant_name: Name of the variant; leave it empty for a fixture
 *	without variants and for a TEST(): XFAIL_ADD(global, , name);
 * @test_name: Name of the test.
 *
 * A failure of that test is reported as "ok N name # XFAIL", and does
 * not fail the program. If the test passes, it is reported as
 * "ok N name # XPASS" and the program exits with KSFT_XPASS.
 */
#define XFAIL_ADD(fixture_name, variant_name, test_name)                       \
	static struct __ursa_th_xfail __URSA_TH_XF(fixture_name, variant_name, \
						   test_name);                 \
	static void __attribute__((constructor))                               \
	__URSA_TH_XF_REG(fixture_name, variant_name, test_name)(void)          \
	{                                                                      \
		__ursa_th_add_xfail(                                           \
			&__URSA_TH_XF(fixture_name, variant_name, test_name)); \
	}                                                                      \
	static struct __ursa_th_xfail __URSA_TH_XF(fixture_name, variant_name, \
						   test_name) = {              \
		#fixture_name, #variant_name, #test_name, NULL                 \
	}

/* Diagnostics */

/* Print a message as TAP diagnostic lines: "# " before each line. */
static inline __URSA_TH_UNUSED void __ursa_th_print_lines(const char *head,
							  const char *msg)
{
	const char *nl;

	printf("# %s", head);
	while ((nl = strchr(msg, '\n')) && nl[1]) {
		printf("%.*s\n# ", (int)(nl - msg), msg);
		msg = nl + 1;
	}
	printf("%s%s", msg, nl ? "" : "\n");
}

static inline __URSA_TH_UNUSED __attribute__((format(printf, 4, 0))) void
__ursa_th_vlog(struct __ursa_th_metadata *m, const char *file, int line,
	       const char *fmt, va_list ap)
{
	char head[512], buf[1024];

	snprintf(head, sizeof(head), "%s:%d:%s:", file, line, m->name);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	__ursa_th_print_lines(head, buf);
}

static inline __URSA_TH_UNUSED __attribute__((format(printf, 4, 5))) void
__ursa_th_log(struct __ursa_th_metadata *m, const char *file, int line,
	      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	__ursa_th_vlog(m, file, line, fmt, ap);
	va_end(ap);
}

/* Record a failure: print it, and keep the first one for an XFAIL line. */
static inline __URSA_TH_UNUSED __attribute__((format(printf, 4, 5))) void
__ursa_th_fail(struct __ursa_th_metadata *m, const char *file, int line,
	       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (m->results && !m->results->failure[0]) {
		va_list aq;
		char *p;

		va_copy(aq, ap);
		vsnprintf(m->results->failure, sizeof(m->results->failure), fmt,
			  aq);
		va_end(aq);
		for (p = m->results->failure; *p; p++)
			if (*p == '\n' || *p == '#')
				*p = ' ';
	}
	__ursa_th_vlog(m, file, line, fmt, ap);
	va_end(ap);
	m->exit_code = KSFT_FAIL;
}

/**
 * TH_LOG() - Print a diagnostic from a test.
 * @fmt: printf() format.
 * @...: Its arguments.
 *
 * Prints "# file:line:test:message" on standard output. Written right
 * after an assertion, without a semicolon between them, it prints only
 * when that assertion fails: ASSERT_EQ(0, ret) TH_LOG("errno %d", errno);
 */
#define TH_LOG(fmt, ...) \
	__ursa_th_log(_metadata, __FILE__, __LINE__, fmt, ##__VA_ARGS__)

static inline __URSA_TH_UNUSED __attribute__((format(printf, 2, 3))) void
__ursa_th_skip(struct __ursa_th_metadata *m, const char *fmt, ...)
{
	va_list ap;
	char *p;

	if (m->results) {
		va_start(ap, fmt);
		vsnprintf(m->results->reason, sizeof(m->results->reason), fmt,
			  ap);
		va_end(ap);
		for (p = m->results->reason; *p; p++)
			if (*p == '\n' || *p == '#')
				*p = ' ';
	}
	if (m->exit_code == KSFT_PASS)
		m->exit_code = KSFT_SKIP;
}

/**
 * SKIP() - Skip the rest of a test, with a reason.
 * @statement: What to run after marking the test skipped, usually
 *	return.
 * @fmt: printf() format of the reason.
 * @...: Its arguments.
 *
 * The test is reported as "ok N name # SKIP reason", unless it had
 * already failed. Called from FIXTURE_SETUP(), the test's body does not
 * run.
 */
#define SKIP(statement, fmt, ...)                              \
	do {                                                   \
		__ursa_th_skip(_metadata, fmt, ##__VA_ARGS__); \
		statement;                                     \
	} while (0)

/* Assertions */

/* A value under test, kept with its kind so that it prints as written. */
struct __ursa_th_val {
	char kind; /* 's'igned, 'u'nsigned, 'f'loating or 'p'ointer */
	intmax_t s;
	uintmax_t u;
	long double f;
	const volatile void *p;
};

static inline __URSA_TH_UNUSED struct __ursa_th_val __ursa_th_val_s(intmax_t v)
{
	struct __ursa_th_val r = { .kind = 's', .s = v };

	return r;
}

static inline __URSA_TH_UNUSED struct __ursa_th_val __ursa_th_val_u(uintmax_t v)
{
	struct __ursa_th_val r = { .kind = 'u', .u = v };

	return r;
}

static inline __URSA_TH_UNUSED struct __ursa_th_val
__ursa_th_val_f(long double v)
{
	struct __ursa_th_val r = { .kind = 'f', .f = v };

	return r;
}

static inline __URSA_TH_UNUSED struct __ursa_th_val
__ursa_th_val_p(const volatile void *v)
{
	struct __ursa_th_val r = { .kind = 'p', .p = v };

	return r;
}

/*
 * Capture x once, by its type after the usual promotions (so that char,
 * bool, enums and bit-fields are integers and arrays are pointers).
 */
/* clang-format 14 does not know _Generic. */
/* clang-format off */
#define __URSA_TH_VAL(x)					\
	_Generic(0 ? (x) : (x),					\
		int: __ursa_th_val_s,				\
		long: __ursa_th_val_s,				\
		long long: __ursa_th_val_s,			\
		unsigned int: __ursa_th_val_u,			\
		unsigned long: __ursa_th_val_u,			\
		unsigned long long: __ursa_th_val_u,		\
		float: __ursa_th_val_f,				\
		double: __ursa_th_val_f,			\
		long double: __ursa_th_val_f,			\
		default: __ursa_th_val_p)(x)
/* clang-format on */

enum __ursa_th_op {
	__URSA_TH_EQ,
	__URSA_TH_NE,
	__URSA_TH_LT,
	__URSA_TH_LE,
	__URSA_TH_GT,
	__URSA_TH_GE,
};

static inline __URSA_TH_UNUSED uintmax_t
__ursa_th_as_u(const struct __ursa_th_val *v)
{
	if (v->kind == 's')
		return (uintmax_t)v->s;
	if (v->kind == 'p')
		return (uintptr_t)v->p;
	return v->u;
}

static inline __URSA_TH_UNUSED long double
__ursa_th_as_ld(const struct __ursa_th_val *v)
{
	if (v->kind == 'f')
		return v->f;
	if (v->kind == 's')
		return (long double)v->s;
	return (long double)__ursa_th_as_u(v);
}

/*
 * Order two values by what they are, not by C's conversions: -1 is
 * less than any unsigned value. Returns -1, 0 or 1, or 2 if unordered
 * (a NaN).
 */
static inline __URSA_TH_UNUSED int
__ursa_th_order(const struct __ursa_th_val *a, const struct __ursa_th_val *b)
{
	bool aneg = a->kind == 's' && a->s < 0;
	bool bneg = b->kind == 's' && b->s < 0;
	uintmax_t x, y;

	if (a->kind == 'f' || b->kind == 'f') {
		long double fx = __ursa_th_as_ld(a), fy = __ursa_th_as_ld(b);

		if (fx < fy)
			return -1;
		if (fx > fy)
			return 1;
		return fx == fy ? 0 : 2;
	}
	if (aneg && bneg)
		return a->s < b->s ? -1 : a->s > b->s;
	if (aneg || bneg)
		return aneg ? -1 : 1;
	x = __ursa_th_as_u(a);
	y = __ursa_th_as_u(b);
	return x < y ? -1 : x > y;
}

static inline __URSA_TH_UNUSED const char *
__ursa_th_fmt(char *buf, size_t size, const struct __ursa_th_val *v)
{
	switch (v->kind) {
	case 's':
		snprintf(buf, size, "%jd", v->s);
		break;
	case 'u':
		snprintf(buf, size, "%ju", v->u);
		break;
	case 'f':
		snprintf(buf, size, "%Lg", v->f);
		break;
	default:
		snprintf(buf, size, "%p", (const void *)(uintptr_t)v->p);
		break;
	}
	return buf;
}

/* Return 1, after reporting, when "a op b" does not hold. */
static inline __URSA_TH_UNUSED int
__ursa_th_check(struct __ursa_th_metadata *m, const char *file, int line,
		enum __ursa_th_op op, const char *a_str,
		const struct __ursa_th_val *a, const char *b_str,
		const struct __ursa_th_val *b)
{
	static const char *const op_str[] = { "==", "!=", "<", "<=", ">", ">=" };
	int ord = __ursa_th_order(a, b);
	char abuf[64], bbuf[64];
	bool ok = false;

	switch (op) {
	case __URSA_TH_EQ:
		ok = ord == 0;
		break;
	case __URSA_TH_NE:
		ok = ord != 0;
		break;
	case __URSA_TH_LT:
		ok = ord == -1;
		break;
	case __URSA_TH_LE:
		ok = ord == -1 || ord == 0;
		break;
	case __URSA_TH_GT:
		ok = ord == 1;
		break;
	case __URSA_TH_GE:
		ok = ord == 1 || ord == 0;
		break;
	}
	if (ok)
		return 0;
	__ursa_th_fail(m, file, line, "Expected %s (%s) %s %s (%s)", a_str,
		       __ursa_th_fmt(abuf, sizeof(abuf), a), op_str[op], b_str,
		       __ursa_th_fmt(bbuf, sizeof(bbuf), b));
	return 1;
}

static inline __URSA_TH_UNUSED bool
__ursa_th_is_zero(const struct __ursa_th_val *v)
{
	switch (v->kind) {
	case 's':
		return v->s == 0;
	case 'u':
		return v->u == 0;
	case 'f':
		return v->f == 0;
	default:
		return v->p == NULL;
	}
}

/* want: 1 true, 0 false, -1 NULL. */
static inline __URSA_TH_UNUSED int
__ursa_th_truth(struct __ursa_th_metadata *m, const char *file, int line,
		const char *str, struct __ursa_th_val v, int want)
{
	bool zero = __ursa_th_is_zero(&v);
	char buf[64];

	if (want == 1 ? !zero : zero)
		return 0;
	__ursa_th_fmt(buf, sizeof(buf), &v);
	if (want < 0)
		__ursa_th_fail(m, file, line, "Expected %s (%s) == NULL", str,
			       buf);
	else
		__ursa_th_fail(m, file, line, "Expected %s (%s) is %s", str,
			       buf, want ? "true" : "false");
	return 1;
}

static inline __URSA_TH_UNUSED int
__ursa_th_strcheck(struct __ursa_th_metadata *m, const char *file, int line,
		   bool eq, const char *a_str, const char *a, const char *b_str,
		   const char *b)
{
	bool same = a == b || (a && b && !strcmp(a, b));

	if (same == eq)
		return 0;
	__ursa_th_fail(m, file, line, "Expected %s (\"%s\") %s %s (\"%s\")",
		       a_str, a ? a : "(null)", eq ? "==" : "!=", b_str,
		       b ? b : "(null)");
	return 1;
}

/* The step of an assertion's loop: an ASSERT_*() ends the test here. */
static inline __URSA_TH_UNUSED void __ursa_th_bail(struct __ursa_th_metadata *m,
						   bool is_assert)
{
	m->trigger = 0;
	if (is_assert) {
		fflush(stdout);
		fflush(stderr);
		longjmp(m->env, 1);
	}
}

/*
 * An assertion is a for statement whose body runs only on failure: the
 * statement after it, ";" or a TH_LOG(), then the step bails out.
 */
#define __URSA_TH_LOOP(failed, is_assert)                       \
	for (_metadata->trigger = (failed); _metadata->trigger; \
	     __ursa_th_bail(_metadata, is_assert))

#define __URSA_TH_CMP(expected, e_str, seen, s_str, op, is_assert)             \
	__URSA_TH_LOOP(({                                                      \
			       struct __ursa_th_val __ursa_th_e =              \
				       __URSA_TH_VAL(expected);                \
			       struct __ursa_th_val __ursa_th_s =              \
				       __URSA_TH_VAL(seen);                    \
			       __ursa_th_check(_metadata, __FILE__, __LINE__,  \
					       op, e_str, &__ursa_th_e, s_str, \
					       &__ursa_th_s);                  \
		       }),                                                     \
		       is_assert)

#define __URSA_TH_TRUTH(seen, s_str, want, is_assert)                        \
	__URSA_TH_LOOP(__ursa_th_truth(_metadata, __FILE__, __LINE__, s_str, \
				       __URSA_TH_VAL(seen), want),           \
		       is_assert)

#define __URSA_TH_STR(expected, e_str, seen, s_str, eq, is_assert)     \
	__URSA_TH_LOOP(({                                              \
			       const char *__ursa_th_e = (expected);   \
			       const char *__ursa_th_s = (seen);       \
			       __ursa_th_strcheck(_metadata, __FILE__, \
						  __LINE__, eq, e_str, \
						  __ursa_th_e, s_str,  \
						  __ursa_th_s);        \
		       }),                                             \
		       is_assert)

/**
 * ASSERT_EQ() - Fail and end the test unless expected == seen.
 * @expected: The expected value, evaluated once.
 * @seen: The value found, evaluated once.
 *
 * Integers compare by value whatever their types (-1 is not equal to
 * UINT_MAX), pointers by address. On failure, prints
 * "# file:line:test:Expected expected (value) == seen (value)", then
 * the statement that follows (";" or a TH_LOG()), and ends the test;
 * FIXTURE_TEARDOWN() still runs.
 */
#define ASSERT_EQ(expected, seen) \
	__URSA_TH_CMP(expected, #expected, seen, #seen, __URSA_TH_EQ, 1)

/**
 * ASSERT_NE() - Fail and end the test unless expected != seen.
 * @expected: A value, evaluated once.
 * @seen: The value found, evaluated once.
 */
#define ASSERT_NE(expected, seen) \
	__URSA_TH_CMP(expected, #expected, seen, #seen, __URSA_TH_NE, 1)

/**
 * ASSERT_LT() - Fail and end the test unless expected < seen.
 * @expected: A value, evaluated once.
 * @seen: The value found, evaluated once.
 */
#define ASSERT_LT(expected, seen) \
	__URSA_TH_CMP(expected, #expected, seen, #seen, __URSA_TH_LT, 1)

/**
 * ASSERT_LE() - Fail and end the test unless expected <= seen.
 * @expected: A value, evaluated once.
 * @seen: The value found, evaluated once.
 */
#define ASSERT_LE(expected, seen) \
	__URSA_TH_CMP(expected, #expected, seen, #seen, __URSA_TH_LE, 1)

/**
 * ASSERT_GT() - Fail and end the test unless expected > seen.
 * @expected: A value, evaluated once.
 * @seen: The value found, evaluated once.
 */
#define ASSERT_GT(expected, seen) \
	__URSA_TH_CMP(expected, #expected, seen, #seen, __URSA_TH_GT, 1)

/**
 * ASSERT_GE() - Fail and end the test unless expected >= seen.
 * @expected: A value, evaluated once.
 * @seen: The value found, evaluated once.
 */
#define ASSERT_GE(expected, seen) \
	__URSA_TH_CMP(expected, #expected, seen, #seen, __URSA_TH_GE, 1)

/**
 * ASSERT_TRUE() - Fail and end the test unless seen is non-zero.
 * @seen: A scalar or a pointer, evaluated once.
 */
#define ASSERT_TRUE(seen) __URSA_TH_TRUTH(seen, #seen, 1, 1)

/**
 * ASSERT_FALSE() - Fail and end the test unless seen is zero.
 * @seen: A scalar or a pointer, evaluated once.
 */
#define ASSERT_FALSE(seen) __URSA_TH_TRUTH(seen, #seen, 0, 1)

/**
 * ASSERT_NULL() - Fail and end the test unless seen is NULL.
 * @seen: A pointer, evaluated once.
 */
#define ASSERT_NULL(seen) __URSA_TH_TRUTH(seen, #seen, -1, 1)

/**
 * ASSERT_STREQ() - Fail and end the test unless two strings are equal.
 * @expected: A string, evaluated once.
 * @seen: The string found, evaluated once.
 *
 * Two NULL pointers are equal; NULL and a string are not.
 */
#define ASSERT_STREQ(expected, seen) \
	__URSA_TH_STR(expected, #expected, seen, #seen, true, 1)

/**
 * ASSERT_STRNE() - Fail and end the test if two strings are equal.
 * @expected: A string, evaluated once.
 * @seen: The string found, evaluated once.
 */
#define ASSERT_STRNE(expected, seen) \
	__URSA_TH_STR(expected, #expected, seen, #seen, false, 1)

/**
 * EXPECT_EQ() - Fail the test, and go on, unless expected == seen.
 * @expected: The expected value, evaluated once.
 * @seen: The value found, evaluated once.
 *
 * Like ASSERT_EQ(), but the test carries on after the failure.
 */
#define EXPECT_EQ(expected, seen) \
	__URSA_TH_CMP(expected, #expected, seen, #seen, __URSA_TH_EQ, 0)

/**
 * EXPECT_NE() - Fail the test, and go on, unless expected != seen.
 * @expected: A value, evaluated once.
 * @seen: The value found, evaluated once.
 */
#define EXPECT_NE(expected, seen) \
	__URSA_TH_CMP(expected, #expected, seen, #seen, __URSA_TH_NE, 0)

/**
 * EXPECT_LT() - Fail the test, and go on, unless expected < seen.
 * @expected: A value, evaluated once.
 * @seen: The value found, evaluated once.
 */
#define EXPECT_LT(expected, seen) \
	__URSA_TH_CMP(expected, #expected, seen, #seen, __URSA_TH_LT, 0)

/**
 * EXPECT_LE() - Fail the test, and go on, unless expected <= seen.
 * @expected: A value, evaluated once.
 * @seen: The value found, evaluated once.
 */
#define EXPECT_LE(expected, seen) \
	__URSA_TH_CMP(expected, #expected, seen, #seen, __URSA_TH_LE, 0)

/**
 * EXPECT_GT() - Fail the test, and go on, unless expected > seen.
 * @expected: A value, evaluated once.
 * @seen: The value found, evaluated once.
 */
#define EXPECT_GT(expected, seen) \
	__URSA_TH_CMP(expected, #expected, seen, #seen, __URSA_TH_GT, 0)

/**
 * EXPECT_GE() - Fail the test, and go on, unless expected >= seen.
 * @expected: A value, evaluated once.
 * @seen: The value found, evaluated once.
 */
#define EXPECT_GE(expected, seen) \
	__URSA_TH_CMP(expected, #expected, seen, #seen, __URSA_TH_GE, 0)

/**
 * EXPECT_TRUE() - Fail the test, and go on, unless seen is non-zero.
 * @seen: A scalar or a pointer, evaluated once.
 */
#define EXPECT_TRUE(seen) __URSA_TH_TRUTH(seen, #seen, 1, 0)

/**
 * EXPECT_FALSE() - Fail the test, and go on, unless seen is zero.
 * @seen: A scalar or a pointer, evaluated once.
 */
#define EXPECT_FALSE(seen) __URSA_TH_TRUTH(seen, #seen, 0, 0)

/**
 * EXPECT_NULL() - Fail the test, and go on, unless seen is NULL.
 * @seen: A pointer, evaluated once.
 */
#define EXPECT_NULL(seen) __URSA_TH_TRUTH(seen, #seen, -1, 0)

/**
 * EXPECT_STREQ() - Fail the test, and go on, unless two strings are
 * equal.
 * @expected: A string, evaluated once.
 * @seen: The string found, evaluated once.
 */
#define EXPECT_STREQ(expected, seen) \
	__URSA_TH_STR(expected, #expected, seen, #seen, true, 0)

/**
 * EXPECT_STRNE() - Fail the test, and go on, if two strings are equal.
 * @expected: A string, evaluated once.
 * @seen: The string found, evaluated once.
 */
#define EXPECT_STRNE(expected, seen) \
	__URSA_TH_STR(expected, #expected, seen, #seen, false, 0)

/* Running tests */

/* The child's state, outside its stack so that longjmp() keeps it. */
static struct {
	struct __ursa_th_metadata *m;
	const struct __ursa_th_test *t;
	const void *variant;
	void *self;
} __ursa_th_cur __URSA_TH_UNUSED;

static volatile sig_atomic_t __ursa_th_timed_out __URSA_TH_UNUSED;
static volatile pid_t __ursa_th_child_pid __URSA_TH_UNUSED;

static inline __URSA_TH_UNUSED void __ursa_th_on_alarm(int sig)
{
	(void)sig;
	__ursa_th_timed_out = 1;
	if (__ursa_th_child_pid > 0)
		kill(__ursa_th_child_pid, SIGKILL);
}

/* In the child: setup, body and teardown, then exit with the result. */
static inline __URSA_TH_UNUSED __attribute__((noreturn)) void
__ursa_th_child(void)
{
	/* No locals: longjmp() would leave them undefined. */
	__ursa_th_cur.self = calloc(
		1, __ursa_th_cur.t->self_size ? __ursa_th_cur.t->self_size : 1);
	if (!__ursa_th_cur.self) {
		printf("# %s: out of memory\n", __ursa_th_cur.m->name);
		fflush(stdout);
		_exit(KSFT_FAIL);
	}
	if (setjmp(__ursa_th_cur.m->env) == 0) {
		if (__ursa_th_cur.t->setup)
			__ursa_th_cur.t->setup(__ursa_th_cur.m,
					       __ursa_th_cur.self,
					       __ursa_th_cur.variant);
		__ursa_th_cur.m->setup_done = true;
		if (__ursa_th_cur.m->exit_code == KSFT_PASS)
			__ursa_th_cur.t->body(__ursa_th_cur.m,
					      __ursa_th_cur.self,
					      __ursa_th_cur.variant);
	}
	/* Here after a return, or after an ASSERT_*() failed. */
	if (__ursa_th_cur.m->setup_done && __ursa_th_cur.t->teardown &&
	    !__ursa_th_cur.m->in_teardown) {
		__ursa_th_cur.m->in_teardown = true;
		if (setjmp(__ursa_th_cur.m->env) == 0)
			__ursa_th_cur.t->teardown(__ursa_th_cur.m,
						  __ursa_th_cur.self,
						  __ursa_th_cur.variant);
	}
	free(__ursa_th_cur.self);
	fflush(stdout);
	fflush(stderr);
	_exit(__ursa_th_cur.m->exit_code);
}

struct __ursa_th_totals {
	unsigned int pass, fail, xfail, xpass, skip, error;
};

static inline __URSA_TH_UNUSED bool
__ursa_th_is_xfail(const char *f, const char *v, const char *t)
{
	const struct __ursa_th_xfail *x;

	for (x = __ursa_th_xfails; x; x = x->next)
		if (!strcmp(x->fixture, f) && !strcmp(x->variant, v) &&
		    !strcmp(x->test, t))
			return true;
	return false;
}

/* Fork, wait with the test's time limit, and work out the result. */
static inline __URSA_TH_UNUSED int
__ursa_th_run_one(const struct __ursa_th_test *t,
		  const struct __ursa_th_variant *v, const char *name,
		  struct __ursa_th_results *res,
		  const struct sigaction *old_alarm)
{
	struct __ursa_th_metadata m;
	int status = 0, result;
	pid_t pid;

	memset(&m, 0, sizeof(m));
	memset(res, 0, sizeof(*res));
	m.name = name;
	m.exit_code = KSFT_PASS;
	m.results = res;

	printf("#  RUN           %s ...\n", name);
	fflush(stdout);
	fflush(stderr);
	__ursa_th_timed_out = 0;
	pid = fork();
	if (pid < 0) {
		snprintf(res->failure, sizeof(res->failure), "fork: %s",
			 strerror(errno));
		return __URSA_TH_ERROR;
	}
	if (pid == 0) {
		sigaction(SIGALRM, old_alarm, NULL);
		__ursa_th_cur.m = &m;
		__ursa_th_cur.t = t;
		__ursa_th_cur.variant = v->data;
		__ursa_th_child();
	}
	__ursa_th_child_pid = pid;
	alarm(t->timeout);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			alarm(0);
			__ursa_th_child_pid = 0;
			snprintf(res->failure, sizeof(res->failure),
				 "waitpid: %s", strerror(errno));
			return __URSA_TH_ERROR;
		}
	}
	alarm(0);
	__ursa_th_child_pid = 0;

	if (__ursa_th_timed_out && WIFSIGNALED(status) &&
	    WTERMSIG(status) == SIGKILL) {
		printf("# %s: Test terminated by timeout\n", name);
		snprintf(res->failure, sizeof(res->failure),
			 "terminated by timeout (%u s)", t->timeout);
		result = KSFT_FAIL;
	} else if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);

		if (t->termsig && sig == t->termsig) {
			result = KSFT_PASS;
		} else {
			printf("# %s: Test terminated unexpectedly by signal %d (%s)\n",
			       name, sig, strsignal(sig));
			if (!res->failure[0])
				snprintf(res->failure, sizeof(res->failure),
					 "terminated by signal %d", sig);
			result = KSFT_FAIL;
		}
	} else {
		int code = WIFEXITED(status) ? WEXITSTATUS(status) : KSFT_FAIL;

		if (code == KSFT_SKIP) {
			result = KSFT_SKIP;
		} else if (t->termsig) {
			printf("# %s: Test exited with code %d instead of signal %d (%s)\n",
			       name, code, t->termsig, strsignal(t->termsig));
			if (!res->failure[0])
				snprintf(res->failure, sizeof(res->failure),
					 "no signal %d", t->termsig);
			result = KSFT_FAIL;
		} else if (code == KSFT_PASS || code == KSFT_FAIL) {
			result = code;
		} else {
			printf("# %s: Test exited with unexpected code %d\n",
			       name, code);
			if (!res->failure[0])
				snprintf(res->failure, sizeof(res->failure),
					 "exit code %d", code);
			result = KSFT_FAIL;
		}
	}
	return result;
}

static inline __URSA_TH_UNUSED bool __ursa_th_listed(char **list, int n,
						     const char *s)
{
	int i;

	if (!n)
		return true;
	for (i = 0; i < n; i++)
		if (!strcmp(list[i], s))
			return true;
	return false;
}

struct __ursa_th_filter {
	char **tests, **fixtures, **variants;
	int nr_tests, nr_fixtures, nr_variants;
};

static inline __URSA_TH_UNUSED void
__ursa_th_name(char *buf, size_t size, const struct __ursa_th_fixture *f,
	       const struct __ursa_th_variant *v,
	       const struct __ursa_th_test *t)
{
	snprintf(buf, size, "%s%s%s.%s", f->name, v->name[0] ? "." : "",
		 v->name, t->name);
}

static inline __URSA_TH_UNUSED bool
__ursa_th_selected(const struct __ursa_th_filter *flt,
		   const struct __ursa_th_fixture *f,
		   const struct __ursa_th_variant *v,
		   const struct __ursa_th_test *t, const char *name)
{
	return __ursa_th_listed(flt->fixtures, flt->nr_fixtures, f->name) &&
	       __ursa_th_listed(flt->variants, flt->nr_variants, v->name) &&
	       (__ursa_th_listed(flt->tests, flt->nr_tests, t->name) ||
		__ursa_th_listed(flt->tests, flt->nr_tests, name));
}

static const struct __ursa_th_variant __ursa_th_no_variant __URSA_TH_UNUSED = {
	.name = "",
};

/* The variants a fixture runs with: its own, or one unnamed one. */
static inline __URSA_TH_UNUSED const struct __ursa_th_variant *
__ursa_th_first_variant(const struct __ursa_th_fixture *f)
{
	return f->variants ? f->variants : &__ursa_th_no_variant;
}

static inline __URSA_TH_UNUSED void __ursa_th_usage(FILE *out,
						    const char *argv0)
{
	fprintf(out,
		"usage: %s [-h] [-l] [-f FIXTURE] [-v VARIANT] [-t TEST]\n"
		"  -h          this help\n"
		"  -l          list the tests, one fixture.variant.test a line\n"
		"  -f FIXTURE  run only the tests of FIXTURE (global for TEST())\n"
		"  -v VARIANT  run only the tests of VARIANT\n"
		"  -t TEST     run only TEST (its name or fixture.variant.test)\n"
		"Each option can be given more than once.\n",
		argv0);
}

/* Print the result lines of one test and count it. */
static inline __URSA_TH_UNUSED void
__ursa_th_report(unsigned int nr, const char *name, int result,
		 const struct __ursa_th_results *res,
		 struct __ursa_th_totals *tot)
{
	switch (result) {
	case KSFT_PASS:
		printf("#%14s  %s\nok %u %s\n", "OK", name, nr, name);
		tot->pass++;
		break;
	case KSFT_SKIP:
		printf("#%14s  %s\nok %u %s # SKIP %s\n", "SKIP",
		       res->reason[0] ? res->reason : "(no reason)", nr, name,
		       res->reason[0] ? res->reason : "(no reason)");
		tot->skip++;
		break;
	case KSFT_XFAIL:
		printf("#%14s  %s\nok %u %s # XFAIL %s\n", "XFAIL", name, nr,
		       name, res->failure[0] ? res->failure : "failed");
		tot->xfail++;
		break;
	case KSFT_XPASS:
		printf("#%14s  %s\nok %u %s # XPASS\n", "XPASS", name, nr,
		       name);
		tot->xpass++;
		break;
	case __URSA_TH_ERROR:
		printf("#%14s  %s\nnot ok %u %s # error %s\n", "ERROR", name,
		       nr, name, res->failure);
		tot->error++;
		break;
	default:
		printf("#%14s  %s\nnot ok %u %s\n", "FAIL", name, nr, name);
		tot->fail++;
		break;
	}
}

/*
 * What TEST_HARNESS_MAIN calls: run the selected tests and print TAP.
 * Returns KSFT_FAIL if a test failed, else KSFT_XPASS if one passed
 * unexpectedly, else KSFT_SKIP if every test was skipped, else
 * KSFT_PASS.
 */
static inline __URSA_TH_UNUSED int __ursa_th_main(int argc, char **argv)
{
	struct __ursa_th_filter flt = { 0 };
	struct __ursa_th_totals tot = { 0 };
	struct __ursa_th_results *res;
	const struct __ursa_th_fixture *f;
	const struct __ursa_th_variant *v;
	const struct __ursa_th_test *t;
	struct sigaction sa, old_alarm;
	unsigned int nr_tests = 0, nr_cases = 0, nr = 0, passed;
	bool list = false;
	char name[512];
	int opt, ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	flt.tests = calloc((size_t)argc + 1, sizeof(char *));
	flt.fixtures = calloc((size_t)argc + 1, sizeof(char *));
	flt.variants = calloc((size_t)argc + 1, sizeof(char *));
	if (!flt.tests || !flt.fixtures || !flt.variants) {
		fprintf(stderr, "%s: out of memory\n", argv[0]);
		return KSFT_FAIL;
	}
	while ((opt = getopt(argc, argv, "hlt:f:v:")) != -1) {
		switch (opt) {
		case 'h':
			__ursa_th_usage(stdout, argv[0]);
			ret = KSFT_PASS;
			goto out;
		case 'l':
			list = true;
			break;
		case 't':
			flt.tests[flt.nr_tests++] = optarg;
			break;
		case 'f':
			flt.fixtures[flt.nr_fixtures++] = optarg;
			break;
		case 'v':
			flt.variants[flt.nr_variants++] = optarg;
			break;
		default:
			__ursa_th_usage(stderr, argv[0]);
			ret = KSFT_FAIL;
			goto out;
		}
	}
	if (optind < argc) {
		__ursa_th_usage(stderr, argv[0]);
		ret = KSFT_FAIL;
		goto out;
	}

	for (f = __ursa_th_fixtures; f; f = f->next) {
		for (v = __ursa_th_first_variant(f); v; v = v->next) {
			unsigned int n = 0;

			for (t = f->tests; t; t = t->next) {
				__ursa_th_name(name, sizeof(name), f, v, t);
				if (!__ursa_th_selected(&flt, f, v, t, name))
					continue;
				if (list)
					printf("%s\n", name);
				n++;
			}
			nr_tests += n;
			nr_cases += n > 0;
		}
	}
	if (list) {
		ret = KSFT_PASS;
		goto out;
	}

	res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED) {
		printf("Bail out! mmap: %s\n", strerror(errno));
		ret = KSFT_FAIL;
		goto out;
	}
	/* A SIGCHLD ignored by whoever started us would lose the status. */
	signal(SIGCHLD, SIG_DFL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = __ursa_th_on_alarm;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, &old_alarm);

	printf("TAP version 13\n1..%u\n", nr_tests);
	printf("# Starting %u tests from %u test cases.\n", nr_tests, nr_cases);
	for (f = __ursa_th_fixtures; f; f = f->next) {
		for (v = __ursa_th_first_variant(f); v; v = v->next) {
			for (t = f->tests; t; t = t->next) {
				int result;

				__ursa_th_name(name, sizeof(name), f, v, t);
				if (!__ursa_th_selected(&flt, f, v, t, name))
					continue;
				result = __ursa_th_run_one(t, v, name, res,
							   &old_alarm);
				if (__ursa_th_is_xfail(f->name, v->name,
						       t->name)) {
					if (result == KSFT_FAIL)
						result = KSFT_XFAIL;
					else if (result == KSFT_PASS)
						result = KSFT_XPASS;
				}
				__ursa_th_report(++nr, name, result, res, &tot);
			}
		}
	}
	sigaction(SIGALRM, &old_alarm, NULL);
	munmap(res, sizeof(*res));

	if (tot.fail || tot.error)
		ret = KSFT_FAIL;
	else if (tot.xpass)
		ret = KSFT_XPASS;
	else if (nr_tests == 0 || tot.skip == nr_tests)
		ret = KSFT_SKIP;
	else
		ret = KSFT_PASS;
	passed = tot.pass + tot.xfail + tot.skip;
	printf("# %s: %u / %u tests passed.\n",
	       ret == KSFT_FAIL || ret == KSFT_XPASS ? "FAILED" : "PASSED",
	       passed, nr_tests);
	printf("# Totals: pass:%u fail:%u xfail:%u xpass:%u skip:%u error:%u\n",
	       tot.pass, tot.fail, tot.xfail, tot.xpass, tot.skip, tot.error);
out:
	fflush(stdout);
	free(flt.tests);
	free(flt.fixtures);
	free(flt.variants);
	return ret;
}

/**
 * TEST_HARNESS_MAIN - Define main() of a test program.
 *
 * Write it once, at the end of the file, after the tests. The program
 * runs every test, or those that -f, -v and -t select; -l lists them
 * and -h shows the options. It exits with KSFT_PASS, KSFT_FAIL,
 * KSFT_XPASS or KSFT_SKIP.
 */
#define TEST_HARNESS_MAIN                          \
	int main(int argc, char **argv)            \
	{                                          \
		return __ursa_th_main(argc, argv); \
	}

/*
 * ------------------------------------------------------------------
 * ursa-aware helpers go here (they may include other ursa headers).
 * ------------------------------------------------------------------
 */

#endif /* URSA_HARNESS_H */
