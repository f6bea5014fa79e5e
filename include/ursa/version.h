/* SPDX-License-Identifier: MIT */
/**
 * DOC: Version
 *
 * The version of the headers. The Makefile reads URSA_VERSION_STRING from
 * here, so this is the one place the version is set.
 */
#ifndef URSA_VERSION_H
#define URSA_VERSION_H

#define URSA_VERSION_MAJOR 0
#define URSA_VERSION_MINOR 1
#define URSA_VERSION_PATCH 0
#define URSA_VERSION_STRING "0.1.0"

/**
 * ursa_version() - The version of the library that is running.
 *
 * Compare it with %URSA_VERSION_STRING to detect a program built against
 * other headers than the shared library it runs with.
 *
 * Context: Any.
 * Return: the version as a static string, such as "0.1.0".
 */
const char *ursa_version(void);

#endif /* URSA_VERSION_H */
