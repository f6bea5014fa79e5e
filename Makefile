# SPDX-License-Identifier: MIT
#
# ursa's top-level Makefile, in the manner of kbuild.
#
#   make                  build libursa.a, libursa.so and the enabled programs
#   make check            unit tests, the same under ASan+UBSan, valgrind,
#                         the selftests under prove, and the tree checks
#   make bench            build and run tools/bench
#   make run              build and start the main program
#   make install          PREFIX=/usr/local DESTDIR= (headers, libs, ursa.pc, man)
#   make defconfig | menuconfig | olddefconfig | savedefconfig
#   make allnoconfig | allyesconfig
#
#   V=1 shows the commands, O=dir builds out of tree, SAN=1 builds with
#   AddressSanitizer and UndefinedBehaviorSanitizer.
#
# Each source folder has a Makefile that only lists what it builds:
#   obj-y / obj-$(CONFIG_X)     objects that go into libursa
#   progs-y                     programs; NAME-objs lists their objects
#   tests-y                     cmocka unit tests, run by "make check"
#   bench-y                     benchmarks, run by "make bench"
#   NAME-ldlibs                 extra libraries for one program

MAKEFLAGS += --no-builtin-rules --no-builtin-variables
.SUFFIXES:
.DEFAULT_GOAL := all

srctree := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
ifneq ($(O),)
objtree := $(abspath $(O))
else
objtree := $(srctree)
endif
export srctree

PYTHON ?= /usr/bin/python3
CC ?= cc
ifeq ($(origin CC),default)
CC := cc
endif
AR ?= ar
ifeq ($(origin AR),default)
AR := ar
endif

VERSION := $(shell sed -n 's/^\#define URSA_VERSION_STRING "\(.*\)"/\1/p' \
		$(srctree)/include/ursa/version.h)
SOVERSION := $(firstword $(subst ., ,$(VERSION)))

# ---------------------------------------------------------------------------
# Quiet output in the kernel's form.

ifeq ($(V),1)
quiet :=
Q :=
else
quiet := quiet_
Q := @
endif

# $(call cmd,name) echoes quiet_cmd_name (unless V=1) and runs cmd_name.
cmd = @$(if $($(quiet)cmd_$(1)),echo '  $($(quiet)cmd_$(1))';) $(cmd_$(1))

# ---------------------------------------------------------------------------
# Kconfig, through kconfiglib.

KCONFIG_CONFIG ?= $(objtree)/.config
export KCONFIG_CONFIG
URSA_ARCH ?= $(shell uname -m)
export URSA_ARCH
kconfig := $(PYTHON) -m
kconfig-files := $(shell find $(srctree) -name Kconfig -not -path '*/build*')
autoconf-h := $(objtree)/include/generated/autoconf.h
auto-conf := $(objtree)/include/config/auto.conf

config-targets := defconfig menuconfig olddefconfig savedefconfig \
		  allnoconfig allyesconfig oldconfig
ifneq ($(filter $(config-targets),$(MAKECMDGOALS)),)
ifneq ($(filter-out $(config-targets),$(MAKECMDGOALS)),)
mixed-targets := 1
endif
config-only := 1
endif

ifdef mixed-targets
# "make defconfig all": run each goal in turn, like kbuild does.
$(MAKECMDGOALS): __one_by_one
	@:
__one_by_one:
	$(Q)set -e; for t in $(MAKECMDGOALS); do \
		$(MAKE) -f $(srctree)/Makefile $$t; done
.PHONY: __one_by_one $(MAKECMDGOALS)
else

$(objtree)/include/generated $(objtree)/include/config:
	$(Q)mkdir -p $@

defconfig:
	$(Q)mkdir -p $(dir $(KCONFIG_CONFIG))
	$(Q)$(kconfig) defconfig --kconfig $(srctree)/Kconfig \
		$(srctree)/configs/defconfig
menuconfig:
	$(Q)mkdir -p $(dir $(KCONFIG_CONFIG))
	$(Q)MENUCONFIG_STYLE=aquatic $(kconfig) menuconfig $(srctree)/Kconfig
oldconfig olddefconfig allnoconfig allyesconfig:
	$(Q)mkdir -p $(dir $(KCONFIG_CONFIG))
	$(Q)$(kconfig) $@ $(srctree)/Kconfig
savedefconfig:
	$(Q)$(kconfig) savedefconfig --kconfig $(srctree)/Kconfig \
		--out $(objtree)/defconfig
	@echo '  GEN     defconfig (copy it to configs/defconfig to keep it)'
.PHONY: $(config-targets)

# No .config yet: start from the defconfig, as the README promises.
$(KCONFIG_CONFIG):
	@echo '  GEN     $(notdir $@) from configs/defconfig'
	$(Q)mkdir -p $(dir $@)
	$(Q)$(kconfig) defconfig --kconfig $(srctree)/Kconfig \
		$(srctree)/configs/defconfig >/dev/null

quiet_cmd_genconfig = GEN     include/generated/autoconf.h
      cmd_genconfig = $(kconfig) genconfig --header-path $(autoconf-h) \
			--config-out $(auto-conf) $(srctree)/Kconfig

$(auto-conf): $(KCONFIG_CONFIG) $(kconfig-files) \
	      | $(objtree)/include/generated $(objtree)/include/config
	$(call cmd,genconfig)
$(autoconf-h): $(auto-conf)
	@:

ifndef config-only
ifeq ($(filter clean distclean help deps,$(MAKECMDGOALS)),)
-include $(auto-conf)
endif
endif

# ---------------------------------------------------------------------------
# Flags.

WARN := -Wall -Wextra -Werror -Wno-unused-parameter -Wmissing-prototypes \
	-Wstrict-prototypes -Wshadow -Wvla -Wformat=2
CFLAGS ?= -O2 -g
override CFLAGS += -std=gnu11 $(WARN) -fPIC -fno-semantic-interposition \
	-ftls-model=initial-exec \
	-fno-strict-aliasing -D_GNU_SOURCE
CPPFLAGS := -I$(objtree)/include -I$(srctree)/include
DEPFLAGS = -MMD -MP -MF $(@:.o=.d)
LDFLAGS ?=

ifeq ($(SAN),1)
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
	    -fno-sanitize-recover=all
override CFLAGS += $(SANFLAGS)
override LDFLAGS += $(SANFLAGS)
SO_LDFLAGS :=
else
SO_LDFLAGS := -Wl,--no-undefined
endif

LIBS := -luring $(if $(filter y,$(CONFIG_URSA_BPF)),-lbpf)
CMOCKA_LIBS := -lcmocka

# ---------------------------------------------------------------------------
# Descend into the source folders. Order matters only for readability.

dirs := framework framework/tests uring apps/demo apps/echo apps/http apps/fchunk tools/bench tools/bpf

lib-objs :=
all-progs :=
all-tests :=
all-bench :=

# $(1): folder, $(2): program, $(3): the list it joins
define add-prog
$(3) += $(1)/$(2)
objs-$(1)/$(2) := $(addprefix $(1)/,$(or $($(2)-objs),$(2).o))
ldlibs-$(1)/$(2) := $($(2)-ldlibs)
endef

define descend
obj-y :=
progs-y :=
tests-y :=
bench-y :=
ccflags-y :=
include $(srctree)/$(1)/Makefile
lib-objs += $$(addprefix $(1)/,$$(obj-y))
$$(foreach p,$$(progs-y),$$(eval $$(call add-prog,$(1),$$(p),all-progs)))
$$(foreach p,$$(tests-y),$$(eval $$(call add-prog,$(1),$$(p),all-tests)))
$$(foreach p,$$(bench-y),$$(eval $$(call add-prog,$(1),$$(p),all-bench)))
$(objtree)/$(1)/%.o: dir-ccflags := $$(ccflags-y)
endef

ifndef config-only
$(foreach d,$(dirs),$(eval $(call descend,$(d))))
endif

lib-objs := $(addprefix $(objtree)/,$(lib-objs))
prog-objs := $(addprefix $(objtree)/,$(foreach p,$(all-progs) $(all-tests) \
		$(all-bench),$(objs-$(p))))
all-objs := $(sort $(lib-objs) $(prog-objs))

libursa-a := $(objtree)/libursa.a
libursa-so := $(objtree)/libursa.so.$(VERSION)
libursa-soname := libursa.so.$(SOVERSION)

# ---------------------------------------------------------------------------
# Rules.

quiet_cmd_cc = CC      $(patsubst $(objtree)/%,%,$@)
      cmd_cc = $(CC) $(CPPFLAGS) $(CFLAGS) $(dir-ccflags) $(DEPFLAGS) \
		-c -o $@ $<

quiet_cmd_ar = AR      $(notdir $@)
      cmd_ar = rm -f $@ && $(AR) rcs $@ $(filter %.o,$^)

quiet_cmd_so = LD      $(notdir $@)
      cmd_so = $(CC) -shared $(LDFLAGS) $(SO_LDFLAGS) \
		-Wl,-soname,$(libursa-soname) \
		-Wl,--version-script,$(srctree)/libursa.map \
		-o $@ $(filter %.o,$^) $(LIBS) && \
		ln -sf $(notdir $@) $(objtree)/$(libursa-soname) && \
		ln -sf $(libursa-soname) $(objtree)/libursa.so

quiet_cmd_link = LD      $(patsubst $(objtree)/%,%,$@)
      cmd_link = $(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(libursa-a) \
		$(ldlibs-$(patsubst $(objtree)/%,%,$@)) $(LIBS) -lpthread

$(objtree)/%.o: $(srctree)/%.c $(autoconf-h)
	@mkdir -p $(dir $@)
	$(call cmd,cc)

quiet_cmd_as = AS      $(patsubst $(objtree)/%,%,$@)
      cmd_as = $(CC) $(CPPFLAGS) $(filter-out -std=gnu11,$(CFLAGS)) \
		$(DEPFLAGS) -c -o $@ $<

$(objtree)/%.o: $(srctree)/%.S $(autoconf-h)
	@mkdir -p $(dir $@)
	$(call cmd,as)

$(libursa-a): $(lib-objs)
	$(call cmd,ar)

$(libursa-so): $(lib-objs) $(srctree)/libursa.map
	$(call cmd,so)

# Each program links against the static library, so the binaries in the
# tree run without LD_LIBRARY_PATH.
define prog-rule
$(objtree)/$(1): $(addprefix $(objtree)/,$(objs-$(1))) $(libursa-a)
	$$(call cmd,link)
endef
$(foreach p,$(all-progs) $(all-tests) $(all-bench),\
	$(eval $(call prog-rule,$(p))))

progs := $(addprefix $(objtree)/,$(all-progs))
tests := $(addprefix $(objtree)/,$(all-tests))
benches := $(addprefix $(objtree)/,$(all-bench))

all: $(libursa-a) $(libursa-so) $(progs)
tests: $(tests)
benches: $(benches)
.PHONY: all tests benches

-include $(all-objs:.o=.d)

# ---------------------------------------------------------------------------
# Selftests (kselftest style, their own Makefile).

selftests-out := $(objtree)/build-selftests
# The suites of what the config builds: a program left out has no suite.
selftests-targets := harness uring tasks_guide sources install \
	$(if $(filter y,$(CONFIG_URSA_BPF)),bpf) \
	$(if $(filter y,$(CONFIG_URSA_FCHUNK)),fchunk) \
	$(if $(filter y,$(CONFIG_URSA_HTTP)),http)
selftests-vars = OUTPUT=$(selftests-out) CC="$(CC)" \
	TARGETS="$(strip $(selftests-targets))" \
	URSA_CFLAGS="-I$(objtree)/include -I$(srctree)/include" \
	URSA_LIBS="$(libursa-a) $(LIBS) -lpthread" \
	SAN_CFLAGS="$(SANFLAGS)" V=$(V) URSA_OBJTREE=$(objtree) \
	URSA_STAGE=$(stage)

# selftests/install builds a program against the installed library: the
# install is staged under $(stage) (DESTDIR), again when its inputs change.
stage := $(objtree)/stage
$(stage)/.staged: $(libursa-a) $(libursa-so) $(objtree)/ursa.pc $(progs) \
		  $(wildcard $(srctree)/include/ursa/*.h)
	@echo '  STAGE   $(patsubst $(objtree)/%,%,$(stage))'
	$(Q)rm -rf $(stage)
	$(Q)$(MAKE) --no-print-directory -f $(srctree)/Makefile O=$(objtree) \
		install DESTDIR=$(stage) PREFIX=/usr/local >/dev/null
	$(Q)touch $@

selftests: $(libursa-a) $(progs) $(stage)/.staged
	$(Q)$(MAKE) --no-print-directory -C $(srctree)/selftests \
		$(selftests-vars) all
selftests_install: selftests
	$(Q)$(MAKE) --no-print-directory -C $(srctree)/selftests \
		$(selftests-vars) install INSTALL_PATH=$(INSTALL_PATH)
.PHONY: selftests selftests_install

# ---------------------------------------------------------------------------
# check: everything CI runs. scripts/check prints each suite's TAP and ends
# with one "N passed, N failed" line.

# With SAN=1 the whole build is the ASan+UBSan one: the unit tests and the
# selftests run sanitized, and valgrind, which cannot run ASan binaries,
# is left to the plain "make check".
check: all tests selftests
ifneq ($(SAN),1)
	$(Q)$(MAKE) --no-print-directory -f $(srctree)/Makefile \
		O=$(objtree)/build-san SAN=1 KCONFIG_CONFIG=$(KCONFIG_CONFIG) tests
endif
	$(Q)$(MAKE) --no-print-directory -f $(srctree)/Makefile \
		selftests_install INSTALL_PATH=$(objtree)/selftests-install
	$(Q)$(srctree)/scripts/check --srctree $(srctree) --objtree $(objtree) \
		--tests "$(all-tests)" $(if $(filter 1,$(SAN)),--san) \
		--selftests $(objtree)/selftests-install
.PHONY: check

bench: benches
	$(Q)set -e; for b in $(benches); do echo "# $$b"; $$b; done
.PHONY: bench

ifeq ($(CONFIG_URSA_HTTP),y)
run: $(objtree)/apps/http/ursa-http
	@echo '  RUN     ursa-http on http://127.0.0.1:8080/ (docs/; Ctrl-C stops it)'
	$(Q)$(objtree)/apps/http/ursa-http --listen 127.0.0.1:8080 \
		--root $(srctree)/docs
else
run:
	@echo 'make run: ursa-http is not enabled (CONFIG_URSA_HTTP)' >&2; exit 1
endif
.PHONY: run

# ---------------------------------------------------------------------------
# install

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR ?=

public-headers := $(wildcard $(srctree)/include/ursa/*.h)
man-out := $(objtree)/man-gen

quiet_cmd_man = GEN     man pages
      cmd_man = rm -rf $(man-out) && mkdir -p $(man-out) && \
		$(PYTHON) $(srctree)/scripts/kdoc man --outdir $(man-out) \
		--version $(VERSION) --source ursa \
		$(srctree)/include/ursa/*.h

man: $(public-headers)
	$(call cmd,man)
.PHONY: man

$(objtree)/ursa.pc: $(srctree)/scripts/ursa.pc.in $(srctree)/Makefile
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
		-e 's|@REQUIRES_BPF@|$(if $(filter y,$(CONFIG_URSA_BPF)), libbpf)|' \
		-e 's|@SAN_LIBS@|$(if $(filter 1,$(SAN)), -fsanitize=address -fsanitize=undefined)|' \
		$< > $@

install: all man $(objtree)/ursa.pc
	@echo '  INSTALL $(DESTDIR)$(PREFIX)'
	$(Q)install -d $(DESTDIR)$(INCLUDEDIR)/ursa $(DESTDIR)$(LIBDIR) \
		$(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man3 \
		$(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(BINDIR)
	$(Q)install -m 644 $(public-headers) $(DESTDIR)$(INCLUDEDIR)/ursa/
	$(Q)install -m 644 $(autoconf-h) $(DESTDIR)$(INCLUDEDIR)/ursa/autoconf.h
	$(Q)install -m 644 $(libursa-a) $(DESTDIR)$(LIBDIR)/
	$(Q)install -m 755 $(libursa-so) $(DESTDIR)$(LIBDIR)/
	$(Q)ln -sf $(notdir $(libursa-so)) $(DESTDIR)$(LIBDIR)/$(libursa-soname)
	$(Q)ln -sf $(libursa-soname) $(DESTDIR)$(LIBDIR)/libursa.so
	$(Q)install -m 644 $(objtree)/ursa.pc $(DESTDIR)$(PKGCONFIGDIR)/
	$(Q)install -m 644 $(wildcard $(man-out)/*.3) $(DESTDIR)$(MANDIR)/man3/
	$(Q)install -m 644 $(wildcard $(man-out)/*.7) $(DESTDIR)$(MANDIR)/man7/
	$(Q)$(if $(progs),install -m 755 $(progs) $(DESTDIR)$(BINDIR)/)
.PHONY: install

# ---------------------------------------------------------------------------

deps:
	$(Q)$(srctree)/scripts/install-deps
.PHONY: deps

clean:
	@echo '  CLEAN   $(objtree)'
	$(Q)rm -rf $(objtree)/build-san $(objtree)/build-selftests $(objtree)/stage \
		$(objtree)/selftests-install $(objtree)/man-gen $(objtree)/ursa.pc \
		$(objtree)/libursa.* $(objtree)/include/generated \
		$(objtree)/include/config
	$(Q)find $(objtree) -path $(objtree)/.git -prune -o \
		\( -name '*.o' -o -name '*.d' \) -type f -print | xargs rm -f
	$(Q)rm -f $(progs) $(tests) $(benches)
distclean: clean
	$(Q)rm -f $(KCONFIG_CONFIG) $(KCONFIG_CONFIG).old
.PHONY: clean distclean

help:
	@sed -n '3,17s/^# \{0,1\}//p' $(srctree)/Makefile
.PHONY: help

endif # mixed-targets
