/* SPDX-License-Identifier: MIT */
/**
 * DOC: Tasks
 *
 * A task is a stackful coroutine that runs on a run queue: Effect's fiber,
 * so that application code can read top to bottom the way the seeds'
 * Effect.gen code does. Everything a task awaits is one of the callback
 * primitives underneath: the await registers the task as a waiter and
 * switches away; the wake-up switches back. Awaiting something that is
 * already done returns at once, with no switch.
 *
 * Interruption follows Effect. ursa_task_interrupt() makes the task's
 * current await, or its next one, return INTERRUPT; interrupting twice is
 * the same as once. Inside an uninterruptible region the interruption
 * waits until the region ends. An awaited I/O request is cancelled, and
 * the await returns when its CQE does, since the kernel owns its buffers
 * until then. When the task function returns, its scope's finalizers run
 * in LIFO order, uninterruptibly, and the task's exit is INTERRUPT if it
 * was interrupted, whatever the function returned.
 *
 * Stacks are mmap'd with a guard page below them and pooled per thread. A
 * task that overflows its stack stops the process with a message that
 * names the task, never with silent corruption. The context switch is a
 * few instructions of assembly on x86-64 and AArch64 (ucontext elsewhere,
 * by Kconfig), annotated for AddressSanitizer and registered with
 * valgrind.
 *
 * Tasks belong to their run queue's thread.
 */
#ifndef URSA_TASK_H
#define URSA_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ursa/deferred.h>
#include <ursa/emit.h>
#include <ursa/exit.h>
#include <ursa/input.h>
#include <ursa/list.h>
#include <ursa/sched.h>

struct ursa_task;
struct ursa_scope;

/**
 * URSA_TASK_FINALIZER_SLOTS - Finalizer nodes a task holds for callers
 * that pass none (count).
 */
#define URSA_TASK_FINALIZER_SLOTS 8

/**
 * typedef ursa_task_fn - A task's body.
 * @arg: The argument given to the spawn.
 *
 * Return: the task's exit, such as ursa_exit_success(value).
 */
typedef struct ursa_exit ursa_task_fn(void *arg);

/**
 * struct ursa_task_group - Tasks joined or interrupted together.
 * @tasks: The live tasks of the group.
 * @nr: How many (count).
 * @empty: Waiters to wake when the group has no task left.
 */
struct ursa_task_group {
	struct ursa_list_head tasks;
	unsigned int nr;
	struct ursa_list_head empty;
};

/**
 * struct ursa_task_opts - How to spawn a task.
 * @stack_size: Usable stack (bytes); 0 means CONFIG_URSA_TASK_STACK_SIZE.
 *	Stacks of the default size come from a per-thread pool.
 * @name: A name for messages (the stack overflow report); not copied.
 * @group: The group the task joins, or %NULL.
 */
struct ursa_task_opts {
	size_t stack_size;
	const char *name;
	struct ursa_task_group *group;
};

/**
 * struct ursa_finalizer - A cleanup registered with a scope.
 * @node: On the scope's list.
 * @fn: Called once when the scope closes, with the scope's exit.
 * @arg: Its argument.
 */
struct ursa_finalizer {
	struct ursa_list_head node;
	void (*fn)(void *arg, const struct ursa_exit *exit);
	void *arg;
};

/**
 * struct ursa_scope - Finalizers closed together in LIFO order.
 * @finalizers: Registered finalizers, newest first.
 * @parent: The enclosing scope of the task, or %NULL.
 * @closed: The scope has been closed.
 */
struct ursa_scope {
	struct ursa_list_head finalizers;
	struct ursa_scope *parent;
	bool closed;
};

/**
 * ursa_task_spawn() - Create a task and queue it to start.
 * @rq: The run queue it runs from.
 * @fn: The task's body.
 * @arg: Its argument.
 * @opts: Options, or %NULL for the defaults.
 *
 * The task starts when the run queue next runs, never inside this call.
 * The caller owns a handle: release it with ursa_task_join() from a task,
 * or with ursa_task_release() (Effect: fork, and daemon children when
 * released at once).
 *
 * Context: The run queue's thread: plain code, a callback or a task.
 * Return: the task, or an error pointer:
 * * -ENOMEM - no memory or address space for the stack.
 * * -EINVAL - @fn is %NULL or @opts->stack_size is under 16 KiB.
 */
struct ursa_task *ursa_task_spawn(struct ursa_runq *rq, ursa_task_fn *fn,
				  void *arg, const struct ursa_task_opts *opts);

/**
 * ursa_task_join() - Wait for a task to finish, and release it.
 * @t: A task whose handle the caller owns.
 *
 * Effect: Fiber.join. If the joining task is itself interrupted while it
 * waits, the join returns INTERRUPT and @t is released without waiting;
 * @t keeps running until it finishes.
 *
 * Context: A task.
 * Return: @t's exit, or INTERRUPT as above, or DIE(-EPERM) outside a
 * task, in which case the handle is not released: release it with
 * ursa_task_release().
 */
struct ursa_exit ursa_task_join(struct ursa_task *t);

/**
 * ursa_task_release() - Give up a task handle without waiting.
 * @t: A task whose handle the caller owns.
 *
 * The task runs on; its memory goes back to the pool when it finishes.
 *
 * Context: The task's thread.
 */
void ursa_task_release(struct ursa_task *t);

/**
 * ursa_task_done() - The deferred a task's exit is delivered through.
 * @t: A task whose handle the caller owns.
 *
 * For callback code that wants to wait for a task: await it with a
 * waiter, then ursa_task_release().
 *
 * Context: The task's thread.
 * Return: the deferred, completed with the task's exit.
 */
struct ursa_deferred *ursa_task_done(struct ursa_task *t);

/**
 * ursa_task_interrupt() - Interrupt a task.
 * @t: The task.
 *
 * Returns at once (Effect: Fiber.interruptFork); join to wait for it.
 *
 * Context: The task's thread: a task (the interrupter's id is recorded),
 * or callback code (id 0).
 * Return: %true if the request was recorded, %false if @t had already
 * finished or been interrupted.
 */
bool ursa_task_interrupt(struct ursa_task *t);

/**
 * ursa_task_current() - The task running now.
 *
 * Context: Any.
 * Return: the task, or %NULL outside a task.
 */
struct ursa_task *ursa_task_current(void);

/**
 * ursa_task_id() - A task's id, unique per process.
 * @t: The task, or %NULL for the current one.
 *
 * Context: Any.
 * Return: the id (from 1), or 0 for %NULL outside a task.
 */
uint64_t ursa_task_id(const struct ursa_task *t);

/**
 * ursa_task_yield() - Let the rest of the run queue run first.
 *
 * Effect: Effect.yieldNow.
 *
 * Context: A task.
 * Return: 0, or a negative errno:
 * * -ECANCELED - the task is interrupted.
 * * -EPERM - not called from a task.
 */
int ursa_task_yield(void);

/**
 * ursa_task_uninterruptible() - Enter or leave an uninterruptible region.
 * @on: %true to enter, %false to leave; regions nest.
 *
 * While inside, awaits are not interrupted; an interruption waits until
 * the outermost region ends. Effect: Effect.uninterruptible.
 *
 * Context: A task.
 * Return: 0, or a negative errno:
 * * -EPERM - not called from a task.
 * * -EINVAL - leaving a region that was never entered.
 */
int ursa_task_uninterruptible(bool on);

/**
 * ursa_task_is_interrupted() - Test whether the current task is interrupted.
 *
 * Context: A task.
 * Return: %true once ursa_task_interrupt() was called on it.
 */
bool ursa_task_is_interrupted(void);

/**
 * ursa_await() - Wait for a deferred, from a task.
 * @d: The deferred.
 *
 * Returns at once, with no switch, when @d is already done. Effect:
 * Deferred.await inside Effect.gen.
 *
 * Context: A task.
 * Return: @d's exit; INTERRUPT if the task is interrupted; DIE(-EPERM)
 * outside a task.
 */
struct ursa_exit ursa_await(struct ursa_deferred *d);

/**
 * ursa_await_input_emit() - Emit into an input and wait until it is taken.
 * @in: The input.
 * @val: The element.
 *
 * Context: A task.
 * Return: 0 once a consumer took @val, or a negative errno:
 * * -EBUSY - an earlier element is still pending.
 * * -EPIPE - the input is terminal.
 * * -ECANCELED - the task was interrupted; the element may still be taken.
 * * -EPERM - not called from a task.
 */
int ursa_await_input_emit(struct ursa_input *in, int64_t val);

/**
 * ursa_await_input_take() - Take from an input, from a task.
 * @in: The input.
 * @out: Where to store the element, the done value or the error's exit.
 *
 * Context: A task.
 * Return: an &enum ursa_take_what, or a negative errno:
 * * -ECANCELED - the task was interrupted; no element was taken.
 * * -EPERM - not called from a task.
 */
int ursa_await_input_take(struct ursa_input *in, struct ursa_exit *out);

/**
 * ursa_await_input_read() - Wait until a consumer waits on an input.
 * @in: The input.
 *
 * Context: A task.
 * Return: 0, or a negative errno:
 * * -ECANCELED - the task was interrupted.
 * * -EPERM - not called from a task.
 */
int ursa_await_input_read(struct ursa_input *in);

/**
 * ursa_await_emit_take() - Take one entry of an emit buffer, from a task.
 * @em: The emit buffer.
 * @out: Where to store the entry.
 * @exit: Where to store the failure for %URSA_TAKE_ERROR, or %NULL.
 *
 * Context: A task.
 * Return: an &enum ursa_take_what, or a negative errno:
 * * -ECANCELED - the task was interrupted; no entry was taken.
 * * -EPERM - not called from a task.
 */
int ursa_await_emit_take(struct ursa_emit *em, struct ursa_emit_entry *out,
			 struct ursa_exit *exit);

/**
 * ursa_await_emit_room() - Wait until an emit buffer has room.
 * @em: The emit buffer.
 *
 * Context: A task.
 * Return: 0, or a negative errno:
 * * -EPIPE - the stream ended or was cancelled.
 * * -ECANCELED - the task was interrupted.
 * * -EPERM - not called from a task.
 */
int ursa_await_emit_room(struct ursa_emit *em);

/**
 * ursa_scope_open() - Open a scope nested in the current task's scope.
 * @s: The scope, in caller-owned memory (usually the task's stack).
 *
 * Close it with ursa_scope_close() before the function that opened it
 * returns, as with any block-scoped resource. A task function that
 * returns with a nested scope still open cannot have that scope's
 * finalizers run (the scope's memory went with the frame): the task then
 * prints a warning naming itself, its exit is DIE(-EBUSY), and only its
 * root scope is closed.
 *
 * Context: A task.
 * Return: 0, or a negative errno:
 * * -EPERM - not called from a task.
 */
int ursa_scope_open(struct ursa_scope *s);

/**
 * ursa_scope_close() - Run a scope's finalizers, newest first.
 * @s: The scope. If it is one of the current task's open scopes, the
 *	scopes opened inside it are closed first, innermost first, and its
 *	parent becomes the current scope.
 * @exit: The exit the finalizers see, or %NULL for SUCCESS(0).
 *
 * Finalizers run once each, uninterruptibly when in a task. Effect:
 * Scope.close, which also closes the scopes forked from it.
 *
 * Context: The scope's thread.
 * Return: 0, or a negative errno:
 * * -EALREADY - @s was already closed.
 */
int ursa_scope_close(struct ursa_scope *s, const struct ursa_exit *exit);

/**
 * ursa_scope_add_finalizer() - Register a cleanup with a scope.
 * @s: The scope, or %NULL for the current task's innermost scope.
 * @f: The finalizer node, valid until the scope closes; or %NULL to use
 *	one of the task's own %URSA_TASK_FINALIZER_SLOTS nodes. A task's
 *	root scope closes after the task function has returned, so a node
 *	for it must not live in that function's frame: pass %NULL.
 * @fn: The cleanup.
 * @arg: Its argument.
 *
 * Effect: Scope.addFinalizer.
 *
 * Context: The scope's thread.
 * Return: 0, or a negative errno:
 * * -EPERM - @s or @f is %NULL outside a task.
 * * -EPIPE - the scope is closed.
 * * -ENOSPC - @f is %NULL and the task's slots are all in use.
 */
int ursa_scope_add_finalizer(struct ursa_scope *s, struct ursa_finalizer *f,
			     void (*fn)(void *arg, const struct ursa_exit *e),
			     void *arg);

/**
 * ursa_acquire_release() - Acquire a resource tied to the current scope.
 * @acquire: Acquires the resource; runs uninterruptibly.
 * @f: The finalizer node for the release, as for
 *	ursa_scope_add_finalizer(): %NULL uses one of the task's slots.
 * @release: Releases it when the scope closes; registered only if
 *	@acquire succeeded.
 * @arg: The argument of both.
 *
 * Effect: Effect.acquireRelease.
 *
 * Context: A task.
 * Return: @acquire's exit; DIE(-EPERM) outside a task; DIE(-ENOSPC) if
 * the release could not be registered (it has then run already).
 */
struct ursa_exit
ursa_acquire_release(ursa_task_fn *acquire, struct ursa_finalizer *f,
		     void (*release)(void *arg, const struct ursa_exit *e),
		     void *arg);

/**
 * ursa_task_group_init() - Initialise an empty task group.
 * @g: The group, in caller-owned memory.
 *
 * Context: Any.
 */
void ursa_task_group_init(struct ursa_task_group *g);

/**
 * ursa_task_group_interrupt() - Interrupt every task of a group.
 * @g: The group.
 *
 * Context: The group's thread.
 * Return: the number of tasks interrupted (count).
 */
unsigned int ursa_task_group_interrupt(struct ursa_task_group *g);

/**
 * ursa_task_group_wait() - Wait until a group has no task left.
 * @g: The group.
 *
 * Context: A task that is not in @g.
 * Return: 0, or a negative errno:
 * * -ECANCELED - the waiting task was interrupted.
 * * -EPERM - not called from a task.
 */
int ursa_task_group_wait(struct ursa_task_group *g);

/**
 * ursa_task_group_await() - Wait for an empty group with a callback waiter.
 * @g: The group.
 * @w: An idle waiter; it runs with SUCCESS(0) once @g is empty.
 *
 * Context: The group's thread.
 * Return: 0, or a negative errno:
 * * -EBUSY - @w is already pending.
 */
int ursa_task_group_await(struct ursa_task_group *g, struct ursa_waiter *w);

#endif /* URSA_TASK_H */
