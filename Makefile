# Build, install and package cafix.
#
#   make                      build release binaries for this machine
#   make ARCH=arm64           cross-build them for another architecture
#   make install PREFIX=/usr DESTDIR=/tmp/stage
#   make uninstall PREFIX=/usr DESTDIR=/tmp/stage
#   make deb [ARCH=i386]      target/debian/{libcafix,cafix}_<version>_<arch>.deb
#   make rpm [ARCH=aarch64]   target/rpm/RPMS/<arch>/cafix{,-libs}-<version>-1.<arch>.rpm
#   make test-shim ARCH=arm64 the shim crates' unit tests for arm64, under qemu-user
#   make all-arches           link libcafix.so and its engine for every architecture
#                             below, cafix for amd64, i386 and arm64, and check
#                             (cargo check) cafix for the others
#   make dist                 release tarballs in target/dist (packaging/dist.sh)
#   make check                the tests a packager's build runs, as any user
#
# Installed files:
#   $(BINDIR)/cafix                        the command
#   $(LIBDIR)/libcafix.so                  the preload library, in the directory
#                                          the dynamic loader searches, so that
#                                          LD_PRELOAD=libcafix.so works by name
#   $(LIBDIR)/libcafix_engine.so           what libcafix.so loads from its own
#                                          directory when it is needed
#   $(PKGLIBDIR)/libcafix.so               symbolic links to the two, at a stable
#   $(PKGLIBDIR)/libcafix_engine.so        path packagers can name in wrappers,
#                                          .desktop files or /etc/ld.so.preload
#                                          (libcafix.so looks for the engine in
#                                          the directory it was loaded from, so
#                                          both directories hold both names)
#   $(MANDIR)/man1/cafix.1, man8/libcafix.8
#   bash, zsh and fish completions
#   $(SYSCONFDIR)/cafix.conf.example       (never overwrites /etc/cafix.conf)
#
# `install-lib` installs the two libraries and libcafix.8 (Debian's libcafix,
# RPM's cafix-libs: one per architecture, co-installable), `install-bin` the
# rest (the command: one per machine).

# ---- architectures -------------------------------------------------------------
# ARCH: the Debian name of the architecture to build for (RPM's and uname's
# are accepted too); this machine's by default. Each line: Debian
# name, Rust target, GNU multiarch triplet, C cross compiler, RPM name,
# qemu-user's name.
ARCHES := \
  amd64:x86_64-unknown-linux-gnu:x86_64-linux-gnu:x86_64-linux-gnu-gcc:x86_64:x86_64 \
  arm64:aarch64-unknown-linux-gnu:aarch64-linux-gnu:aarch64-linux-gnu-gcc:aarch64:aarch64 \
  armhf:armv7-unknown-linux-gnueabihf:arm-linux-gnueabihf:arm-linux-gnueabihf-gcc:armv7hl:arm \
  i386:i686-unknown-linux-gnu:i386-linux-gnu:i686-linux-gnu-gcc:i686:i386 \
  ppc64el:powerpc64le-unknown-linux-gnu:powerpc64le-linux-gnu:powerpc64le-linux-gnu-gcc:ppc64le:ppc64le \
  riscv64:riscv64gc-unknown-linux-gnu:riscv64-linux-gnu:riscv64-linux-gnu-gcc:riscv64:riscv64 \
  s390x:s390x-unknown-linux-gnu:s390x-linux-gnu:s390x-linux-gnu-gcc:s390x:s390x
# Field $(2) of the line whose Debian, RPM or qemu name is $(1) (or uname's
# armv7l).
arch_field = $(word $(2),$(subst :, ,$(firstword $(foreach a,$(ARCHES),$(if $(filter $(patsubst armv7l,arm,$(1)),$(word 1,$(subst :, ,$(a))) $(word 5,$(subst :, ,$(a))) $(word 6,$(subst :, ,$(a)))),$(a))))))

HOST_ARCH   := $(call arch_field,$(shell dpkg --print-architecture 2>/dev/null || uname -m),1)
ARCH        ?= $(HOST_ARCH)
DEB_ARCH    := $(call arch_field,$(ARCH),1)
ifeq ($(DEB_ARCH),)
  $(error ARCH=$(ARCH): not one of $(foreach a,$(ARCHES),$(firstword $(subst :, ,$(a)))))
endif
RUST_TARGET := $(call arch_field,$(ARCH),2)
MULTIARCH   := $(call arch_field,$(ARCH),3)
CROSS_CC    := $(call arch_field,$(ARCH),4)
RPM_ARCH    := $(call arch_field,$(ARCH),5)
QEMU_ARCH   := $(call arch_field,$(ARCH),6)

# A cross build names the Rust target, links with Debian's cross compiler
# (also the C compiler of libcafix.so's trampolines and of openssl-sys) and
# takes OpenSSL from that architecture's multiarch libssl-dev.
ifeq ($(DEB_ARCH),$(HOST_ARCH))
  CROSS :=
  OUT   := release
else
  CROSS := --target $(RUST_TARGET)
  OUT   := $(RUST_TARGET)/release
  RUST_TARGET_VAR := $(shell echo $(RUST_TARGET) | tr a-z- A-Z_)
  # Test programs of another architecture run under qemu-user, except
  # i386 ones on amd64, which the kernel runs itself.
  ifneq ($(HOST_ARCH)-$(DEB_ARCH),amd64-i386)
    RUNNER := CARGO_TARGET_$(RUST_TARGET_VAR)_RUNNER=qemu-$(QEMU_ARCH)-static
  endif
  CROSS_ENV := CARGO_TARGET_$(RUST_TARGET_VAR)_LINKER=$(CROSS_CC) \
    CC_$(subst -,_,$(RUST_TARGET))=$(CROSS_CC) \
    PKG_CONFIG_ALLOW_CROSS=1 \
    PKG_CONFIG_LIBDIR=/usr/lib/$(MULTIARCH)/pkgconfig:/usr/share/pkgconfig
endif

PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR     ?= $(PREFIX)/bin
PKGLIBDIR  ?= $(PREFIX)/lib/cafix
MANDIR     ?= $(PREFIX)/share/man
DATADIR    ?= $(PREFIX)/share
SYSCONFDIR ?= /etc
CARGO      ?= cargo
TARGET_DIR ?= target

# LIBDIR: where this distribution's dynamic loader finds libraries by name,
# what glibc calls $LIB: Debian's multiarch directory (lib/x86_64-linux-gnu),
# lib64 where the system's libc lives in a real /usr/lib64 (Fedora, openSUSE),
# else lib (Arch, Alpine). /usr/lib/<multiarch> and /usr/lib64 are searched
# without ld.so.cache; other prefixes need the `ldconfig` that `make install`
# runs when it installs into this system as root.
ifeq ($(origin LIBDIR),undefined)
  HAS_MULTIARCH := $(shell dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || $(CC) -print-multiarch 2>/dev/null)
  ifneq ($(HAS_MULTIARCH),)
    LIBDIR := $(PREFIX)/lib/$(MULTIARCH)
  else ifeq ($(shell test -d /usr/lib64 && test ! -L /usr/lib64 && test -e /usr/lib64/libc.so.6 && echo lib64),lib64)
    LIBDIR := $(PREFIX)/lib64
  else
    LIBDIR := $(PREFIX)/lib
  endif
endif
# The stable path's links point there, relatively (../x86_64-linux-gnu/...).
LIBDIR_FROM_PKGLIBDIR = $(shell realpath -sm --relative-to=$(PKGLIBDIR) $(LIBDIR))

VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)

BIN := $(TARGET_DIR)/$(OUT)/cafix
LIB := $(TARGET_DIR)/$(OUT)/libcafix.so
ENGINE := $(TARGET_DIR)/$(OUT)/libcafix_engine.so

.PHONY: all build build-lib check-cli test-shim all-arches generated install install-lib install-bin uninstall deb rpm clean print-libdir dist check

all: build

# Reproducible from any directory: the paths rustc and the C compiler of
# libcafix.so's trampolines record (panic locations of vendored crates, build
# scripts' OUT_DIR, debug information) name the tree as `.` and the target
# directory as `target`, wherever they are. Added to RUSTFLAGS and CFLAGS
# from the environment (a distribution's flags), which cargo prefers to its
# configuration's build.rustflags.
REMAP_FLAGS := --remap-path-prefix=$(CURDIR)=. --remap-path-prefix=$(abspath $(TARGET_DIR))=target
C_REMAP_FLAGS := -ffile-prefix-map=$(CURDIR)=. -ffile-prefix-map=$(abspath $(TARGET_DIR))=target
CARGO_BUILD = $(CROSS_ENV) RUSTFLAGS="$$RUSTFLAGS $(REMAP_FLAGS)" CFLAGS="$$CFLAGS $(C_REMAP_FLAGS)" \
  $(CARGO) build --release $(CROSS) --target-dir $(TARGET_DIR)

# libcafix_engine.so, then libcafix.so: shim/preload is in its own workspace
# (shim/Cargo.toml: panic = "abort"), built into the same target directory.
build-lib:
	$(CARGO_BUILD) -p cafix-engine
	$(CARGO_BUILD) --manifest-path shim/preload/Cargo.toml

build: build-lib
	$(CARGO_BUILD) --bin cafix

# The shim crates' unit tests built for ARCH and run here (see RUNNER):
# cafix-common, the engine, the library code the engine uses (without the
# command's features), and libcafix.so's symbol-table walk.
test-shim:
	$(CROSS_ENV) $(RUNNER) $(CARGO) test $(CROSS) --target-dir $(TARGET_DIR) -p cafix-common -p cafix-engine
	$(CROSS_ENV) $(RUNNER) $(CARGO) test $(CROSS) --target-dir $(TARGET_DIR) -p cafix --lib --no-default-features
	$(CROSS_ENV) $(RUNNER) $(CARGO) test $(CROSS) --target-dir $(TARGET_DIR) --manifest-path shim/preload/Cargo.toml

# `cargo check` of the command, for an architecture whose libssl-dev is not
# installed: OpenSSL's headers are this machine's, with the configuration
# headers (Debian keeps them in the multiarch directory) of an installed
# architecture of the same word size, and no library files looked for
# (OPENSSL_STATIC=0: check-only, nothing is linked).
CHECK_INCLUDE = $(abspath $(TARGET_DIR)/check-include/$(DEB_ARCH))
check-cli:
	rm -rf $(CHECK_INCLUDE) && mkdir -p $(CHECK_INCLUDE)/openssl
	if [ -d /usr/include/$(MULTIARCH)/openssl ]; then \
	  conf=/usr/include/$(MULTIARCH)/openssl; \
	elif $(CROSS_CC) -dM -E -xc /dev/null | grep -q '__SIZEOF_POINTER__ 8'; then \
	  conf=/usr/include/x86_64-linux-gnu/openssl; \
	else \
	  conf=/usr/include/i386-linux-gnu/openssl; \
	fi; \
	ln -s $$conf/configuration.h $$conf/opensslconf.h $(CHECK_INCLUDE)/openssl/
	$(CROSS_ENV) OPENSSL_INCLUDE_DIR=/usr/include OPENSSL_LIB_DIR=/usr/lib/$(MULTIARCH) OPENSSL_STATIC=0 \
	  CFLAGS_$(subst -,_,$(RUST_TARGET))=-I$(CHECK_INCLUDE) \
	  $(CARGO) check --release $(CROSS) --target-dir $(TARGET_DIR) --bin cafix

# What CI proves on every push: the preload linked for every architecture a
# distribution ships, the command built where its OpenSSL is installed
# (amd64, i386, arm64: multiarch libssl-dev) and checked elsewhere. Each
# step's time is printed.
LINKED_CLI := amd64 i386 arm64
all-arches:
	@set -e; for a in $(foreach a,$(ARCHES),$(firstword $(subst :, ,$(a)))); do \
	  start=$$(date +%s); \
	  if echo " $(LINKED_CLI) " | grep -q " $$a "; then what=build; else what="build-lib check-cli"; fi; \
	  $(MAKE) --no-print-directory ARCH=$$a $$what; \
	  echo "all-arches: $$a ($$what) $$(( $$(date +%s) - start )) s"; \
	done

# Generated from the command's own definitions, so they match --help. By
# this machine's own build of the command: the files are the same for
# every architecture.
GENERATED = $(TARGET_DIR)/generated
generated:
	$(MAKE) --no-print-directory ARCH=$(HOST_ARCH) build
	rm -rf $(GENERATED) && mkdir -p $(GENERATED)/man $(GENERATED)/completions
	$(TARGET_DIR)/release/cafix man --out $(GENERATED)/man
	$(TARGET_DIR)/release/cafix completions bash > $(GENERATED)/completions/cafix.bash
	$(TARGET_DIR)/release/cafix completions zsh > $(GENERATED)/completions/_cafix
	$(TARGET_DIR)/release/cafix completions fish > $(GENERATED)/completions/cafix.fish

install: install-lib install-bin

install-lib: build-lib generated
	install -Dm644 $(LIB) $(DESTDIR)$(LIBDIR)/libcafix.so
	install -Dm644 $(ENGINE) $(DESTDIR)$(LIBDIR)/libcafix_engine.so
	install -Dm644 $(GENERATED)/man/libcafix.8 $(DESTDIR)$(MANDIR)/man8/libcafix.8
	# Into this very system as root: let ld.so.cache know (a package's
	# triggers or scriptlets do that for a DESTDIR install).
	if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then ldconfig; fi

install-bin: build generated
	install -Dm755 $(BIN) $(DESTDIR)$(BINDIR)/cafix
	if [ "$(LIBDIR)" != "$(PKGLIBDIR)" ]; then \
	  install -d $(DESTDIR)$(PKGLIBDIR) && \
	  ln -sfn $(LIBDIR_FROM_PKGLIBDIR)/libcafix.so $(DESTDIR)$(PKGLIBDIR)/libcafix.so && \
	  ln -sfn $(LIBDIR_FROM_PKGLIBDIR)/libcafix_engine.so $(DESTDIR)$(PKGLIBDIR)/libcafix_engine.so; \
	fi
	install -Dm644 $(GENERATED)/man/cafix.1 $(DESTDIR)$(MANDIR)/man1/cafix.1
	install -Dm644 $(GENERATED)/completions/cafix.bash $(DESTDIR)$(DATADIR)/bash-completion/completions/cafix
	install -Dm644 $(GENERATED)/completions/_cafix $(DESTDIR)$(DATADIR)/zsh/vendor-completions/_cafix
	install -Dm644 $(GENERATED)/completions/cafix.fish $(DESTDIR)$(DATADIR)/fish/vendor_completions.d/cafix.fish
	install -Dm644 packaging/cafix.conf $(DESTDIR)$(SYSCONFDIR)/cafix.conf.example

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/cafix
	rm -f $(DESTDIR)$(PKGLIBDIR)/libcafix.so $(DESTDIR)$(PKGLIBDIR)/libcafix_engine.so
	rm -f $(DESTDIR)$(LIBDIR)/libcafix.so $(DESTDIR)$(LIBDIR)/libcafix_engine.so
	-rmdir $(DESTDIR)$(PKGLIBDIR)
	rm -f $(DESTDIR)$(MANDIR)/man1/cafix.1 $(DESTDIR)$(MANDIR)/man8/libcafix.8
	rm -f $(DESTDIR)$(DATADIR)/bash-completion/completions/cafix
	rm -f $(DESTDIR)$(DATADIR)/zsh/vendor-completions/_cafix
	rm -f $(DESTDIR)$(DATADIR)/fish/vendor_completions.d/cafix.fish
	rm -f $(DESTDIR)$(SYSCONFDIR)/cafix.conf.example

# Debian packages from the same install rules, with dpkg-deb: libcafix
# (the libraries, Multi-Arch: same, so the i386 one installs beside the
# amd64 one and /usr/$$LIB/libcafix.so serves 32-bit processes too) and
# cafix (the command, which depends on libcafix of its architecture).
# Reproducible with SOURCE_DATE_EPOCH set (dpkg-deb's times), whatever the
# umask (install -D makes directories with it).
DEBDIR := $(abspath $(TARGET_DIR)/debian)
deb:
	rm -rf $(DEBDIR)/stage-$(DEB_ARCH)
	$(MAKE) --no-print-directory install-lib PREFIX=/usr DESTDIR=$(DEBDIR)/stage-$(DEB_ARCH)/libcafix
	$(MAKE) --no-print-directory install-bin PREFIX=/usr DESTDIR=$(DEBDIR)/stage-$(DEB_ARCH)/cafix
	set -e; for pkg in libcafix cafix; do \
	  stage=$(DEBDIR)/stage-$(DEB_ARCH)/$$pkg; \
	  gzip -9n $$stage/usr/share/man/man*/*.[0-9]; \
	  find $$stage -type d -exec chmod 0755 {} +; \
	  mkdir -p $$stage/DEBIAN; \
	  sed -e 's/@VERSION@/$(VERSION)/' -e 's/@ARCH@/$(DEB_ARCH)/' packaging/deb/$$pkg.control > $$stage/DEBIAN/control; \
	  if [ -e packaging/deb/$$pkg.triggers ]; then install -m644 packaging/deb/$$pkg.triggers $$stage/DEBIAN/triggers; fi; \
	  dpkg-deb --root-owner-group --build $$stage $(DEBDIR)/$${pkg}_$(VERSION)_$(DEB_ARCH).deb; \
	done

# RPMs from packaging/cafix.spec (cafix and cafix-libs, the latter
# co-installable for two architectures): the same install rule into a
# staging tree, with the directories of rpm's own configuration for the
# target (%{_libdir} is /usr/lib64 on x86_64, /usr/lib on i686), which the
# spec's %install copies. A cross build strips with the cross binutils.
RPMTOP := $(abspath $(TARGET_DIR)/rpm)
RPM_EVAL = $(shell rpm --target=$(RPM_ARCH) --eval '$(1)')
RPMDIRS = PREFIX=$(call RPM_EVAL,%{_prefix}) \
  BINDIR=$(call RPM_EVAL,%{_bindir}) \
  LIBDIR=$(call RPM_EVAL,%{_libdir}) \
  PKGLIBDIR=$(call RPM_EVAL,%{_prefix}/lib/cafix) \
  MANDIR=$(call RPM_EVAL,%{_mandir}) \
  DATADIR=$(call RPM_EVAL,%{_datadir}) \
  SYSCONFDIR=$(call RPM_EVAL,%{_sysconfdir})

rpm:
	rm -rf $(RPMTOP)/stage-$(RPM_ARCH)
	$(MAKE) --no-print-directory install $(RPMDIRS) DESTDIR=$(RPMTOP)/stage-$(RPM_ARCH)
	# Compressed as Fedora's brp-compress would (the spec turns it off).
	gzip -9n $(RPMTOP)/stage-$(RPM_ARCH)$(call RPM_EVAL,%{_mandir})/man*/*.[0-9]
	# Directories as any umask would make them (install -D uses the umask).
	find $(RPMTOP)/stage-$(RPM_ARCH) -type d -exec chmod 0755 {} +
	rpmbuild -bb --target $(RPM_ARCH) \
	  $(if $(CROSS),--define "__strip $(CROSS_CC:-gcc=-strip)" --define "__objdump $(CROSS_CC:-gcc=-objdump)") \
	  --define "_topdir $(RPMTOP)" \
	  --define "cafix_version $(VERSION)" \
	  --define "cafix_stage $(RPMTOP)/stage-$(RPM_ARCH)" \
	  packaging/cafix.spec

# What LIBDIR is here (for scripts and tests).
print-libdir:
	@echo $(LIBDIR)

clean:
	$(CARGO) clean

# The release tarballs (sources, vendored crates, SHA256SUMS) in
# $(TARGET_DIR)/dist, from git: see packaging/dist.sh and README's packager
# section.
dist:
	packaging/dist.sh $(TARGET_DIR)/dist

# The tests a packager's build runs, as root or as any other user, with no
# package installed by them: see tests/check.sh. CHECK_ARGS: more arguments
# of its last `cargo test` (a test target, a name filter, --lib ...).
check:
	CARGO="$(CARGO)" tests/check.sh $(CHECK_ARGS)
