/* SPDX-License-Identifier: MIT */
/**
 * DOC: Widgets
 *
 * A sample header for scripts/tests/kdoc/run.sh: every kind of thing
 * scripts/kdoc reads, each documented correctly. "scripts/kdoc check"
 * must find nothing to report in it, and the man pages made from it must
 * render without a warning.
 *
 * A widget is embedded in the caller's struct (&struct ursa_widget);
 * start one with ursa_widget_init(). Results follow the io_uring
 * convention: a count, or -errno such as %-EINVAL.
 */
#ifndef URSA_TESTS_GOOD_H
#define URSA_TESTS_GOOD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * URSA_WIDGET_MAX - The most widgets one owner may hold (count).
 */
#define URSA_WIDGET_MAX 64

/* An object-like macro needs no comment. */
#define URSA_WIDGET_MAGIC 0x57494447u

struct ursa_widget;

/**
 * typedef ursa_widget_fn - A widget's callback.
 * @w: The widget.
 * @res: A count, or a negative errno.
 */
typedef void ursa_widget_fn(struct ursa_widget *w, int res);

/**
 * enum ursa_widget_state - Where a widget is in its life.
 * @URSA_WIDGET_IDLE: Initialised, not started.
 * @URSA_WIDGET_RUNNING: Started; its callback is due.
 * @URSA_WIDGET_DONE: Its callback has run.
 */
enum ursa_widget_state {
	URSA_WIDGET_IDLE = 0,
	URSA_WIDGET_RUNNING,
	URSA_WIDGET_DONE,
};

/**
 * struct ursa_widget - A widget, embedded in the caller's struct.
 * @state: One of &enum ursa_widget_state.
 * @fn: The callback.
 * @on_free: Called when the owner lets go; may be %NULL.
 * @name: A short name, '\0'-terminated.
 * @val: The result as an integer.
 * @ptr: The result as a pointer.
 * @stats: Counters.
 * @stats.runs: Times the callback ran (count).
 * @stats.errors: Runs with a negative result (count).
 */
struct ursa_widget {
	enum ursa_widget_state state;
	ursa_widget_fn *fn;
	void (*on_free)(struct ursa_widget *w, void *arg);
	char name[16];
	union {
		int64_t val;
		void *ptr;
	};
	struct {
		uint64_t runs;
		uint64_t errors;
	} stats;
};

/**
 * ursa_widget_init() - Initialise an idle widget.
 * @w: The widget, in caller-owned memory.
 * @fn: Its callback.
 *
 * Context: Any.
 */
void ursa_widget_init(struct ursa_widget *w, ursa_widget_fn *fn);

/**
 * ursa_widget_start() - Start a widget, with an optional deadline and a
 * completion hook.
 * @w: An idle widget.
 * @timeout_ns: The deadline, relative to now (ns); 0 for none.
 * @hook: Called with @w and @arg before the callback; may be %NULL.
 * @arg: The hook's argument.
 *
 * Starting a running widget changes nothing. The hook runs first, then
 * the callback given to ursa_widget_init(), as with poll(2).
 *
 * Context: The owner's thread: plain code or a callback.
 * Return: 0 on success, or a negative errno:
 * * -EBUSY - @w is already running.
 * * -EINVAL - @timeout_ns is over an hour, or @w was never initialised.
 *
 * Semantics: At most one start is in effect at a time; a second one
 * before the callback has run fails and changes nothing.
 * Note: The hook must not free @w.
 */
int ursa_widget_start(struct ursa_widget *w,
		      uint64_t timeout_ns,
		      void (*hook)(struct ursa_widget *w, void *arg),
		      void *arg);

/**
 * ursa_widget_logf() - Log a line about a widget.
 * @w: The widget.
 * @fmt: A printf(3) format.
 * @...: Its arguments.
 *
 * A backslash in @fmt, as in "\n", is printed as it is.
 *
 * 'Quoted' words and a line that starts with a dot:
 * .ini files are not special.
 *
 * Context: Any.
 * Return: the number of bytes written (count), or a negative errno.
 *
 * Example:
 *	struct ursa_widget w = {
 *		.state = URSA_WIDGET_IDLE,
 *	};
 *
 *	ursa_widget_logf(&w, "%s: %d\n", "widget", -1);
 */
int ursa_widget_logf(struct ursa_widget *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/**
 * ursa_widget_is_done() - Test whether a widget's callback has run.
 * @w: The widget.
 *
 * Context: The owner's thread.
 * Return: %true if the callback has run.
 */
static inline bool ursa_widget_is_done(const struct ursa_widget *w)
{
	if (!w)
		return false;
	return w->state == URSA_WIDGET_DONE;
}

/**
 * ursa_widget_reset() - Make a widget idle again.
 * @w: The widget; it must not be running.
 *
 * Context: The owner's thread.
 */
static inline void ursa_widget_reset(struct ursa_widget *w)
{
	w->state = URSA_WIDGET_IDLE;
}

static inline void __ursa_widget_internal(struct ursa_widget *w)
{
	(void)w;
}

/**
 * ursa_widget_entry - Get the struct that embeds a widget.
 * @ptr: The &struct ursa_widget pointer.
 * @type: The type of the containing struct.
 * @member: The name of the widget within @type.
 */
#define ursa_widget_entry(ptr, type, member) \
	((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/**
 * URSA_WIDGET_INIT() - Static initialiser of an idle widget.
 * @callback: Its callback.
 */
#define URSA_WIDGET_INIT(callback)             \
	{                                      \
		.state = URSA_WIDGET_IDLE,     \
		.fn = (callback),              \
	}

/**
 * ursa_widget_log - Log a line about a widget, with its name.
 * @w: The widget.
 * @fmt: A printf(3) format.
 * @args...: Its arguments.
 */
#define ursa_widget_log(w, fmt, args...) ursa_widget_logf(w, fmt, ##args)

#ifdef __cplusplus
}
#endif

#endif /* URSA_TESTS_GOOD_H */
