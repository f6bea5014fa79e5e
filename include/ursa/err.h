/* SPDX-License-Identifier: MIT */
/**
 * DOC: Error pointers
 *
 * A function that returns a pointer can return a negative errno in it,
 * the way the kernel does: the top 4095 addresses are never valid
 * objects. ursa's own functions return plain negative errno values where
 * no pointer is involved, and never set errno.
 */
#ifndef URSA_ERR_H
#define URSA_ERR_H

#include <stdbool.h>
#include <stdint.h>

/**
 * URSA_MAX_ERRNO - The largest errno value an error pointer can carry.
 */
#define URSA_MAX_ERRNO 4095

/**
 * ursa_err_ptr() - Encode a negative errno as a pointer.
 * @err: A negative errno, from -1 to -%URSA_MAX_ERRNO.
 *
 * Context: Any.
 * Return: a pointer that ursa_is_err() recognises.
 */
static inline void *ursa_err_ptr(long err)
{
	return (void *)err;
}

/**
 * ursa_ptr_err() - Decode the errno from an error pointer.
 * @ptr: A pointer for which ursa_is_err() is %true.
 *
 * Context: Any.
 * Return: the negative errno that @ptr carries.
 */
static inline long ursa_ptr_err(const void *ptr)
{
	return (long)ptr;
}

/**
 * ursa_is_err() - Test whether a pointer carries an errno.
 * @ptr: Any pointer.
 *
 * Context: Any.
 * Return: %true if @ptr encodes an errno, %false for a valid pointer or
 * %NULL.
 */
static inline bool ursa_is_err(const void *ptr)
{
	return (uintptr_t)ptr >= (uintptr_t)-URSA_MAX_ERRNO;
}

/**
 * ursa_is_err_or_null() - Test whether a pointer is %NULL or an errno.
 * @ptr: Any pointer.
 *
 * Context: Any.
 * Return: %true if @ptr is %NULL or encodes an errno.
 */
static inline bool ursa_is_err_or_null(const void *ptr)
{
	return !ptr || ursa_is_err(ptr);
}

/* The kernel's spellings, for code that reads like the kernel's. */
#ifndef ERR_PTR
#define ERR_PTR(err) ursa_err_ptr(err)
#define PTR_ERR(ptr) ursa_ptr_err(ptr)
#define IS_ERR(ptr) ursa_is_err(ptr)
#define IS_ERR_OR_NULL(ptr) ursa_is_err_or_null(ptr)
#endif

#endif /* URSA_ERR_H */
