# Build, install and package cafix.
#
#   make                      build release binaries
#   make install PREFIX=/usr DESTDIR=/tmp/stage
#   make uninstall PREFIX=/usr DESTDIR=/tmp/stage
#   make deb                  build target/debian/cafix_<version>_<arch>.deb
#   make rpm                  build target/rpm/RPMS/<arch>/cafix-<version>-1.<arch>.rpm
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
  MULTIARCH := $(shell dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || $(CC) -print-multiarch 2>/dev/null)
  ifneq ($(MULTIARCH),)
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
ARCH    := $(shell dpkg --print-architecture 2>/dev/null || uname -m)

BIN := $(TARGET_DIR)/release/cafix
LIB := $(TARGET_DIR)/release/libcafix.so
ENGINE := $(TARGET_DIR)/release/libcafix_engine.so

.PHONY: all build install uninstall deb rpm clean print-libdir dist check

all: build

# Reproducible from any directory: the paths rustc records (panic locations
# of vendored crates, build scripts' OUT_DIR) name the tree as `.` and the
# target directory as `target`, wherever they are. Added to RUSTFLAGS from
# the environment (a distribution's flags), which cargo prefers to its
# configuration's build.rustflags.
REMAP_FLAGS := --remap-path-prefix=$(CURDIR)=. --remap-path-prefix=$(abspath $(TARGET_DIR))=target
CARGO_BUILD = RUSTFLAGS="$$RUSTFLAGS $(REMAP_FLAGS)" $(CARGO) build --release --target-dir $(TARGET_DIR)

# The workspace (cafix, libcafix_engine.so), then libcafix.so: shim/preload is
# in its own workspace (shim/Cargo.toml: panic = "abort"), built into the
# same target directory.
build:
	$(CARGO_BUILD) --workspace
	$(CARGO_BUILD) --manifest-path shim/preload/Cargo.toml

# Generated from the command's own definitions, so they match --help.
$(TARGET_DIR)/generated: build
	rm -rf $@ && mkdir -p $@/man $@/completions
	$(BIN) man --out $@/man
	$(BIN) completions bash > $@/completions/cafix.bash
	$(BIN) completions zsh > $@/completions/_cafix
	$(BIN) completions fish > $@/completions/cafix.fish

install: build $(TARGET_DIR)/generated
	install -Dm755 $(BIN) $(DESTDIR)$(BINDIR)/cafix
	install -Dm644 $(LIB) $(DESTDIR)$(LIBDIR)/libcafix.so
	install -Dm644 $(ENGINE) $(DESTDIR)$(LIBDIR)/libcafix_engine.so
	if [ "$(LIBDIR)" != "$(PKGLIBDIR)" ]; then \
	  install -d $(DESTDIR)$(PKGLIBDIR) && \
	  ln -sfn $(LIBDIR_FROM_PKGLIBDIR)/libcafix.so $(DESTDIR)$(PKGLIBDIR)/libcafix.so && \
	  ln -sfn $(LIBDIR_FROM_PKGLIBDIR)/libcafix_engine.so $(DESTDIR)$(PKGLIBDIR)/libcafix_engine.so; \
	fi
	for page in $(TARGET_DIR)/generated/man/*.[0-9]; do \
	  section=$${page##*.}; \
	  install -Dm644 $$page $(DESTDIR)$(MANDIR)/man$$section/$$(basename $$page); \
	done
	install -Dm644 $(TARGET_DIR)/generated/completions/cafix.bash $(DESTDIR)$(DATADIR)/bash-completion/completions/cafix
	install -Dm644 $(TARGET_DIR)/generated/completions/_cafix $(DESTDIR)$(DATADIR)/zsh/vendor-completions/_cafix
	install -Dm644 $(TARGET_DIR)/generated/completions/cafix.fish $(DESTDIR)$(DATADIR)/fish/vendor_completions.d/cafix.fish
	install -Dm644 packaging/cafix.conf $(DESTDIR)$(SYSCONFDIR)/cafix.conf.example
	# Into this very system as root: let ld.so.cache know (a package's
	# triggers or scriptlets do that for a DESTDIR install).
	if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then ldconfig; fi

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

# A Debian package from the same install rule, with dpkg-deb.
STAGE := $(abspath $(TARGET_DIR)/debian/stage)

deb:
	rm -rf $(STAGE)
	$(MAKE) install PREFIX=/usr DESTDIR=$(STAGE)
	# Debian policy: man pages compressed, reproducibly (-n: no name or time).
	gzip -9n $(STAGE)/usr/share/man/man*/*.[0-9]
	mkdir -p $(STAGE)/DEBIAN
	sed -e 's/@VERSION@/$(VERSION)/' -e 's/@ARCH@/$(ARCH)/' packaging/debian-control > $(STAGE)/DEBIAN/control
	# ldconfig runs once the package is unpacked, so ld.so.cache names libcafix.so.
	install -m644 packaging/debian-triggers $(STAGE)/DEBIAN/triggers
	dpkg-deb --root-owner-group --build $(STAGE) $(TARGET_DIR)/debian/cafix_$(VERSION)_$(ARCH).deb

# An RPM from packaging/cafix.spec: the same install rule into a staging
# tree, with the directories of rpm's own configuration (%{_libdir} is
# /usr/lib64 on x86_64), which the spec's %install copies.
RPMTOP := $(abspath $(TARGET_DIR)/rpm)
RPMDIRS = PREFIX=$(shell rpm --eval '%{_prefix}') \
  BINDIR=$(shell rpm --eval '%{_bindir}') \
  LIBDIR=$(shell rpm --eval '%{_libdir}') \
  PKGLIBDIR=$(shell rpm --eval '%{_prefix}/lib/cafix') \
  MANDIR=$(shell rpm --eval '%{_mandir}') \
  DATADIR=$(shell rpm --eval '%{_datadir}') \
  SYSCONFDIR=$(shell rpm --eval '%{_sysconfdir}')

rpm:
	rm -rf $(RPMTOP)
	$(MAKE) install $(RPMDIRS) DESTDIR=$(RPMTOP)/stage
	# Compressed as Fedora's brp-compress would (the spec turns it off).
	gzip -9n $(RPMTOP)/stage$(shell rpm --eval '%{_mandir}')/man*/*.[0-9]
	rpmbuild -bb \
	  --define "_topdir $(RPMTOP)" \
	  --define "cafix_version $(VERSION)" \
	  --define "cafix_stage $(RPMTOP)/stage" \
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
