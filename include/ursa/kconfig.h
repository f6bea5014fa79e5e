/* SPDX-License-Identifier: MIT */
/**
 * DOC: Kconfig helpers
 *
 * IS_ENABLED(CONFIG_FOO) is 1 when the build's Kconfig set CONFIG_FOO to
 * y, and 0 otherwise, so that configuration tests read as C expressions
 * and both branches are always compiled. The options of the installed
 * library are in <ursa/autoconf.h>.
 */
#ifndef URSA_KCONFIG_H
#define URSA_KCONFIG_H

/*
 * A set option is defined as 1. Pasting it onto __URSA_KC_ON_ gives
 * __URSA_KC_ON_1, which expands to "0," and shifts a 1 into the second
 * argument position; any other spelling leaves the 0 there.
 */
#define __URSA_KC_ON_1 0,
#define __ursa_kc_second(ignored, val, ...) val
#define __ursa_kc_pick(junk_or_zero_comma) \
	__ursa_kc_second(junk_or_zero_comma 1, 0)
#define __ursa_kc_paste(val) __ursa_kc_pick(__URSA_KC_ON_##val)
#define __ursa_kc_defined(x) __ursa_kc_paste(x)

#ifndef IS_ENABLED
/**
 * IS_ENABLED - Test a Kconfig option at compile time.
 * @option: The option, as CONFIG_NAME.
 *
 * Return: 1 if @option is set to y, else 0.
 */
#define IS_ENABLED(option) __ursa_kc_defined(option)
#endif

#endif /* URSA_KCONFIG_H */
