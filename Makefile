# SPDX-License-Identifier: GPL-2.0
#
#   make            modules (W=1), user-space tools, selftests
#   make check      install what is missing, build, lint, boot a cluster, test
#   make demo       install what is missing, build, boot 3 nodes and show them
#   make bench      benchmarks (ratios against peers measured in the same run)
KVER ?= $(shell scripts/kver.sh 2>/dev/null)
KDIR ?= /lib/modules/$(KVER)/build
BUILD := $(CURDIR)/build
USER_CFLAGS := -Wall -Wextra -Werror -O2 -g
NODES ?= 3

all: modules userspace selftests

deps:
	@scripts/install-deps.sh

modules:
	@test -n "$(KVER)" || { echo "no cloud kernel headers: make deps"; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules

# Sparse over every kernel source; any warning fails.
sparse:
	@test -n "$(KVER)" || { echo "no cloud kernel headers: make deps"; exit 1; }
	@mkdir -p $(BUILD)
	{ $(MAKE) -C $(KDIR) M=$(CURDIR) W=1 C=2 modules 2>&1; \
	  echo "sparse: make exited $$?"; } | tee $(BUILD)/sparse.log
	@grep -qx 'sparse: make exited 0' $(BUILD)/sparse.log
	@! grep -E '(warning|error):' $(BUILD)/sparse.log

$(BUILD)/bin/kddm-agent: userspace/agent/kddm-agent.c
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -o $@ $<

$(BUILD)/bin/kddm-test: userspace/tools/kddm-test.c include/uapi/kddm/kddm_test.h
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -Iinclude/uapi -o $@ $<

$(BUILD)/bin/ipc-tool: userspace/tools/ipc-tool.c userspace/tools/ipc-common.h
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -Iuserspace/tools -o $@ $<

$(BUILD)/bin/kdfs-mmap: userspace/tools/kdfs-mmap.c
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -o $@ $<

$(BUILD)/bin/kdfs-xattr: userspace/tools/kdfs-xattr.c
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -o $@ $<

$(BUILD)/bin/kdfs-lock: userspace/tools/kdfs-lock.c
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -o $@ $<

$(BUILD)/bin/mig-worker: userspace/tools/mig-worker.c \
		include/uapi/kddm/kddm_mig_mem.h
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -Iinclude/uapi -pthread -o $@ $<

$(BUILD)/bin/ipc-smoke: kipc/tests/ipc-smoke.c
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -o $@ $<

$(BUILD)/bin/ipc-diff: kipc/tests/ipc-diff.c
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -o $@ $<

$(BUILD)/bin/msg-tool: kipc/tests/msg-tool.c userspace/tools/ipc-common.h
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -Iuserspace/tools -o $@ $<

$(BUILD)/bin/sem-tool: kipc/tests/sem-tool.c userspace/tools/ipc-common.h
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -Iuserspace/tools -o $@ $<

# 32-bit (ia32) static copies, for kipc's compat entry points: built when
# the compiler can (gcc-multilib), else the tests that need them skip.
HAVE_M32 := $(shell echo 'int main(void) { return 0; }' | \
	      $(CC) -m32 -static -x c -o /dev/null - 2>/dev/null && echo y)
ifeq ($(HAVE_M32),y)
BIN32 := $(BUILD)/bin/ipc-diff32 $(BUILD)/bin/ipc-diff32d $(BUILD)/bin/ipc-tool32 \
	 $(BUILD)/bin/msg-tool32 $(BUILD)/bin/sem-tool32
endif

$(BUILD)/bin/ipc-diff32: kipc/tests/ipc-diff.c
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -m32 -static -o $@ $<

# the same, through the direct ia32 calls instead of glibc's ipc(2)
$(BUILD)/bin/ipc-diff32d: kipc/tests/ipc-diff.c kipc/tests/ipc-direct.h
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -m32 -static -DIPC_DIRECT -o $@ $<

$(BUILD)/bin/ipc-tool32: userspace/tools/ipc-tool.c userspace/tools/ipc-common.h
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -Iuserspace/tools -m32 -static -o $@ $<

$(BUILD)/bin/msg-tool32: kipc/tests/msg-tool.c userspace/tools/ipc-common.h
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -Iuserspace/tools -m32 -static -o $@ $<

$(BUILD)/bin/sem-tool32: kipc/tests/sem-tool.c userspace/tools/ipc-common.h
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -Iuserspace/tools -m32 -static -o $@ $<

userspace: $(BUILD)/bin/kddm-agent $(BUILD)/bin/kddm-test $(BUILD)/bin/ipc-tool \
	   $(BUILD)/bin/ipc-smoke $(BUILD)/bin/ipc-diff $(BUILD)/bin/msg-tool \
	   $(BUILD)/bin/sem-tool $(BUILD)/bin/kdfs-mmap \
	   $(BUILD)/bin/kdfs-xattr $(BUILD)/bin/kdfs-lock $(BUILD)/bin/mig-worker \
	   $(BIN32)
	$(MAKE) -C userspace/kddm BUILD=$(BUILD)
	$(MAKE) -C userspace/migrate BUILD=$(BUILD)
	$(MAKE) -C userspace/balancer BUILD=$(BUILD)
	$(MAKE) -C userspace/kddm-sim
	$(MAKE) -C bench BUILD=$(BUILD)

selftests:
	$(MAKE) -C selftests OUTPUT=$(BUILD)/selftests

# Kernel code (module directories, public headers) and the selftests.
CHECKPATCH_FILES = $(shell find kddm kdfs kipc migrate include selftests \
	-name '*.[ch]' -not -name '*.mod.c' 2>/dev/null | sort)

# (twelve files at a time, on every CPU: some 50 s on one)
checkpatch:
	@ksft=$$(scripts/ksft.sh) && \
	printf '%s\n' $(CHECKPATCH_FILES) | \
	xargs -r -P "$$(nproc)" -n 12 perl $$ksft/scripts/checkpatch.pl \
		--no-tree --quiet -f && \
	echo "checkpatch: $(words $(CHECKPATCH_FILES)) files clean"

check: deps
	$(MAKE) -j"$$(nproc)" all
	$(MAKE) -j"$$(nproc)" sparse
	$(MAKE) checkpatch
	selftests/run.sh -n $(NODES)
	selftests/run-newer-kernel.sh -n $(NODES)

demo: deps
	$(MAKE) all
	scripts/demo.sh

bench: deps
	$(MAKE) all
	$(MAKE) -C bench BUILD=$(BUILD)
	bench/kddm-bench.sh
	bench/kipc-bench.sh
	bench/kdfs-bench.sh
	bench/migrate-bench.sh

# The balancing experiment (bench/balance/run.sh): plots and a report in
# build/balance (see Documentation/balancer/index.rst).
balance-experiment: deps
	@scripts/install-deps.sh scripts/packages.list scripts/packages-balance.list
	$(MAKE) all
	$(MAKE) -C bench BUILD=$(BUILD)
	bench/balance/run.sh

# User-space parts, as packagers expect (DESTDIR, PREFIX): the kddm CLI,
# kddm-setup, the systemd unit, man pages, an example kddm.conf.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/kddm
UNITDIR ?= $(PREFIX)/lib/systemd/system
INSTALLED = $(BINDIR)/kddm $(SBINDIR)/kddm-setup $(UNITDIR)/kddm.service \
	$(MANDIR)/man8/kddm.8 $(MANDIR)/man8/kddm-setup.8 \
	$(MANDIR)/man5/kddm.conf.5 $(DOCDIR)/examples/kddm.conf

install:
	$(MAKE) -C userspace/kddm BUILD=$(BUILD) $(BUILD)/bin/kddm
	install -D -m 755 $(BUILD)/bin/kddm $(DESTDIR)$(BINDIR)/kddm
	install -D -m 755 userspace/kddm-setup $(DESTDIR)$(SBINDIR)/kddm-setup
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|/usr/sbin/kddm-setup|$(SBINDIR)/kddm-setup|' \
		userspace/systemd/kddm.service > $(DESTDIR)$(UNITDIR)/kddm.service
	chmod 644 $(DESTDIR)$(UNITDIR)/kddm.service
	install -D -m 644 man/kddm.8 $(DESTDIR)$(MANDIR)/man8/kddm.8
	install -D -m 644 man/kddm-setup.8 $(DESTDIR)$(MANDIR)/man8/kddm-setup.8
	install -D -m 644 man/kddm.conf.5 $(DESTDIR)$(MANDIR)/man5/kddm.conf.5
	install -D -m 644 userspace/kddm.conf.example \
		$(DESTDIR)$(DOCDIR)/examples/kddm.conf

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))

# DKMS: the module sources (no test module) in $(DKMS_SRC), then dkms
# add, build and install for the running kernel (and, with AUTOINSTALL,
# each kernel installed later). dkms-source alone makes the tree.
VERSION := $(shell sed -n 's/^\#define KDDM_VERSION "\(.*\)"/\1/p' include/kddm/version.h)
DKMS_SRC ?= $(DESTDIR)/usr/src/kddm-$(VERSION)
DKMS_DIRS := kddm kipc kdfs include $(wildcard migrate)
# the tracked files; outside a git checkout (make deb's copy), the files
# there but build products
ifneq ($(wildcard .git),)
DKMS_LIST = git ls-files -z Kbuild $(DKMS_DIRS)
else
DKMS_LIST = find Kbuild $(DKMS_DIRS) -type f -not -name '.*' \
	-not -name '*.o' -not -name '*.ko' -not -name '*.mod*' -print0
endif

dkms-source:
	rm -rf $(DKMS_SRC)
	install -d $(DKMS_SRC)
	$(DKMS_LIST) | grep -zv '/tests/' | tar --null -T - -cf - | \
		tar -xf - -C $(DKMS_SRC)
	sed 's/@VERSION@/$(VERSION)/' dkms.conf.in > $(DKMS_SRC)/dkms.conf

dkms-install: dkms-source
	dkms status -m kddm -v $(VERSION) | grep -q . && \
		dkms remove -m kddm -v $(VERSION) --all || true
	dkms add $(DKMS_SRC)
	dkms build -m kddm -v $(VERSION)
	dkms install -m kddm -v $(VERSION)

dkms-remove:
	dkms remove -m kddm -v $(VERSION) --all || true
	rm -rf $(DKMS_SRC)

# Debian packages kddm-dkms and kddm-utils (debian/), built from a copy of
# the source tree in $(BUILD)/deb, where the .deb files land; lintian runs
# on them (make check's selftests/host/deb_build.sh fails on its errors).
deb:
	@v=$$(dpkg-parsechangelog -S Version); [ "$$v" = "$(VERSION)" ] || \
		{ echo "debian/changelog is at $$v, version.h at $(VERSION):" \
		       "add a changelog entry (dch -v $(VERSION))"; exit 1; }
	rm -rf $(BUILD)/deb
	install -d $(BUILD)/deb/kddm-$(VERSION)
	git ls-files -z | tar --null -T - -cf - | \
		tar -xf - -C $(BUILD)/deb/kddm-$(VERSION)
	cd $(BUILD)/deb/kddm-$(VERSION) && \
		dpkg-buildpackage -b -us -uc --no-sign
	lintian --fail-on error $(BUILD)/deb/kddm_$(VERSION)_*.changes

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null || true
	rm -rf $(BUILD)

.PHONY: all deps modules sparse userspace selftests checkpatch check demo bench balance-experiment clean \
	install uninstall dkms-source dkms-install dkms-remove deb
