# SPDX-License-Identifier: MIT
#
# Included last by each selftests/<target>/Makefile, which sets:
#
#   TEST_GEN_PROGS   test programs built from NAME.c; the runner runs them
#   TEST_GEN_FILES   programs built from NAME.c that only the tests run
#   TEST_PROGS       scripts, installed as they are; the runner runs them
#   TEST_FILES       other files the tests need, installed next to them
#   LOCAL_HDRS       headers the programs depend on
#   CFLAGS, LDFLAGS, LDLIBS   flags on top of the defaults below
#
# Built programs go to OUTPUT (the selftests Makefile gives each target
# OUTPUT/<target>); there, next to them, the scripts, TEST_FILES, config
# and settings are copied, so that OUTPUT has the layout of an install.
# Goals: all, install (INSTALL_PATH=dir), clean, emit_tests.

lib_dir := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
src_dir := $(patsubst %/,%,$(dir $(abspath $(firstword $(MAKEFILE_LIST)))))
TARGET := $(notdir $(src_dir))

OUTPUT ?= $(lib_dir)/build/$(TARGET)
URSA_CFLAGS ?= -I$(lib_dir)/../include
URSA_LIBS ?=
SAN_CFLAGS ?=
CC ?= cc

MAKEFLAGS += --no-builtin-rules
.SUFFIXES:

out := $(abspath $(OUTPUT))

ifeq ($(V),1)
Q :=
msg =
else
Q := @
msg = @printf '  %-7s %s\n' '$(1)' '$(2)';
endif

# The target's own flags come after the defaults, without repeating them.
base_cflags := -std=gnu11 -O2 -g -Wall -Wextra -Werror $(URSA_CFLAGS) \
	$(SAN_CFLAGS)
all_cflags = $(base_cflags) $(filter-out $(base_cflags),$(CFLAGS))
all_ldflags = $(SAN_CFLAGS) $(filter-out $(SAN_CFLAGS),$(LDFLAGS))
all_ldlibs = $(LDLIBS) $(filter-out $(LDLIBS),$(URSA_LIBS))

gen := $(addprefix $(out)/,$(TEST_GEN_PROGS) $(TEST_GEN_FILES))
# What is installed from the source folder as it is.
plain := $(TEST_PROGS) $(TEST_FILES) $(wildcard config settings)
# Built out of tree, OUTPUT gets a copy of those.
ifneq ($(out),$(src_dir))
copies := $(addprefix $(out)/,$(notdir $(plain)))
endif

all: $(gen) $(copies)
	@:

$(out):
	$(Q)mkdir -p $@

# Relinked when the library changes, not only when the test's source does.
$(out)/%: %.c $(LOCAL_HDRS) $(filter %.a,$(URSA_LIBS)) | $(out)
	$(call msg,CC,selftests/$(TARGET)/$*)$(CC) $(all_cflags) \
		$(all_ldflags) -MMD -MP -MF $(out)/$*.d -o $@ $< $(all_ldlibs)

define copy_rule
$(out)/$(notdir $(1)): $(1) | $(out)
	$$(call msg,COPY,selftests/$(TARGET)/$(notdir $(1)))cp -f $$< $$@
endef
ifneq ($(out),$(src_dir))
$(foreach f,$(plain),$(eval $(call copy_rule,$(f))))
endif

-include $(wildcard $(out)/*.d)

# One "target:program" line per test the runner runs, in order.
emit_tests:
	@for p in $(notdir $(TEST_GEN_PROGS) $(TEST_PROGS)); do \
		echo "$(TARGET):$$p"; \
	done

install: all
	$(Q)test -n "$(INSTALL_PATH)" || \
		{ echo "install: INSTALL_PATH is empty" >&2; exit 1; }
	$(call msg,INSTALL,selftests/$(TARGET))mkdir -p $(INSTALL_PATH)
	$(Q)$(if $(strip $(gen) $(plain)),cp -f $(gen) $(plain) $(INSTALL_PATH)/)
	$(Q)for p in $(notdir $(TEST_PROGS)); do \
		chmod 755 $(INSTALL_PATH)/$$p || exit 1; \
	done

clean:
	$(call msg,CLEAN,selftests/$(TARGET))rm -f $(gen) \
		$(addsuffix .d,$(gen)) $(copies)

.PHONY: all emit_tests install clean
