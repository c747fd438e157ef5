# shared_imapc: build, install, test and package the Dovecot plugin.
#
#   make               build the module (release)
#   make install       install both modules into Dovecot's moduledir (honours DESTDIR)
#   make test          install missing build/test packages, then run every test
#   make demo          start a local demo cluster with the plugin loaded
#   make demo-stop     stop it
#   make deb           build a Debian package into dist/
#   make bench-client  client core benchmark (parser, login) printed as a table
#   make bench-dict    shared_dict against Dovecot's file and fs:posix drivers
#   make bench-storage shared_imapc against the built-in imapc and the owner's direct reading
#   make soak          the differential test's randomized sequences on new seeds (SECONDS, default 600)
#   make fuzz          fuzz the response parser, then the storage's use of answers (FUZZ_SECONDS each, default 60)

DOVECOT_CONFIG ?= /usr/lib/dovecot/dovecot-config
MODULEDIR ?= $(shell . $(DOVECOT_CONFIG) 2>/dev/null && echo $$dovecot_moduledir)
ifeq ($(MODULEDIR),)
MODULEDIR = /usr/lib/dovecot/modules
endif
MODULE_FILE = lib30_shared_imapc_plugin.so
IMAP_MODULE_FILE = lib95_imap_shared_imapc_plugin.so
CARGO ?= cargo
# Debian's Python, where setup installs python3-pytest: another python3 first
# on PATH (pyenv, a virtualenv) has neither pytest nor a say in the tests.
PYTHON ?= /usr/bin/python3
DEMO_DIR ?= $(CURDIR)/demo-data
FUZZ_SECONDS ?= 60

RELEASE_LIB = target/release/libshared_imapc.so
# The modules to install or package; the release build unless told otherwise.
# build.rs puts the imap plugin module next to the cdylib.
MODULE ?= $(RELEASE_LIB)
IMAP_MODULE ?= $(dir $(MODULE))$(IMAP_MODULE_FILE)

.PHONY: all build module install uninstall setup setup-build test lint soak bench-client bench-dict bench-storage fuzz demo demo-stop deb clean

all: build

build:
	$(CARGO) build --release

module:
	@[ "$(MODULE)" != "$(RELEASE_LIB)" ] || $(CARGO) build --release

install: module
	install -d $(DESTDIR)$(MODULEDIR)
	install -m 0644 $(MODULE) $(DESTDIR)$(MODULEDIR)/$(MODULE_FILE)
	install -m 0644 $(IMAP_MODULE) $(DESTDIR)$(MODULEDIR)/$(IMAP_MODULE_FILE)

uninstall:
	rm -f $(DESTDIR)$(MODULEDIR)/$(MODULE_FILE) $(DESTDIR)$(MODULEDIR)/$(IMAP_MODULE_FILE)

# What building and the demo need (Dovecot, its headers, libclang).
setup-build:
	scripts/install-deps build

# That, and the test tools (PostgreSQL, OpenSSL, pytest, mbsync).
setup:
	scripts/install-deps test

# The fuzz targets are their own crate: `make test` must catch them falling
# behind the library's types, not the next `make fuzz`.
lint: setup
	$(CARGO) fmt --check
	$(CARGO) fmt --check --manifest-path fuzz/Cargo.toml
	$(CARGO) clippy --all-targets -- -D warnings
	$(CARGO) clippy --manifest-path fuzz/Cargo.toml --all-targets -- -D warnings

test: lint
	SHARED_IMAPC_PYTHON=$(PYTHON) $(CARGO) test

# Bob through shared_imapc against alice on her own folder's twin, with
# random command sequences on new seeds until SECONDS have passed; a
# difference names its seed and the last commands.
SECONDS ?= 600
soak: setup
	$(CARGO) build
	SHARED_IMAPC_SOAK_SECONDS=$(SECONDS) SHARED_IMAPC_MODULE=$(CURDIR)/target/debug/libshared_imapc.so \
	SHARED_DICT_TOOL=$(CURDIR)/target/debug/shared-dict \
	$(PYTHON) -m pytest -q -p no:cacheprovider tests/e2e/test_shared_differential.py -k soak

# cargo-fuzz passes -Z flags; RUSTC_BOOTSTRAP lets the stable toolchain take
# them (the only toolchain here). A crash input lands in fuzz/artifacts/:
# copy a response_parser one to fuzz/regressions/ so cargo test keeps
# checking it. storage_answers' inputs are answers cut at NUL bytes
# (fuzz/seeds-storage/); its warnings go to stderr, closed here.
bench-client: setup
	$(CARGO) bench --bench client

bench-dict: setup
	$(CARGO) bench --bench dict

# shared_imapc against the built-in imapc and the owner's direct reading,
# on a 10,000-message folder (BENCH_ARGS="--messages 2000 --runs 3" for less).
bench-storage: setup
	$(CARGO) build --release
	SHARED_IMAPC_MODULE=$(CURDIR)/target/release/libshared_imapc.so $(PYTHON) benches/storage.py $(BENCH_ARGS)

fuzz:
	command -v cargo-fuzz >/dev/null || $(CARGO) install --locked cargo-fuzz
	mkdir -p fuzz/corpus fuzz/corpus-storage
	cd fuzz && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run --sanitizer none response_parser corpus seeds -- -max_total_time=$(FUZZ_SECONDS)
	cd fuzz && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run --sanitizer none storage_answers corpus-storage seeds-storage -- -max_total_time=$(FUZZ_SECONDS) -close_fd_mask=2

# The proxy on DEMO_PORT and the backends after it, or free ports when taken.
DEMO_PORT ?= 10143
demo: setup-build
	$(CARGO) build
	$(PYTHON) tests/support/demo.py start --dir $(DEMO_DIR) --port $(DEMO_PORT) --module target/debug/libshared_imapc.so

demo-stop:
	$(PYTHON) tests/support/demo.py stop --dir $(DEMO_DIR)

deb: module
	MODULEDIR=$(MODULEDIR) packaging/build-deb $(MODULE) $(IMAP_MODULE) dist

clean:
	$(CARGO) clean
	rm -rf dist
