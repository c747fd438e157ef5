# shared_imapc: build, install, test and package the Dovecot plugin.
#
#   make               build the module (release)
#   make install       install it into Dovecot's moduledir (honours DESTDIR)
#   make test          install missing build/test packages, then run every test
#   make demo          start a local demo cluster with the plugin loaded
#   make demo-stop     stop it
#   make deb           build a Debian package into dist/

DOVECOT_CONFIG ?= /usr/lib/dovecot/dovecot-config
MODULEDIR ?= $(shell . $(DOVECOT_CONFIG) 2>/dev/null && echo $$dovecot_moduledir)
ifeq ($(MODULEDIR),)
MODULEDIR = /usr/lib/dovecot/modules
endif
MODULE_FILE = lib30_shared_imapc_plugin.so
CARGO ?= cargo
PYTHON ?= python3
DEMO_DIR ?= $(CURDIR)/demo-data

RELEASE_LIB = target/release/libshared_imapc.so
# The module to install or package; the release build unless told otherwise.
MODULE ?= $(RELEASE_LIB)

.PHONY: all build module install uninstall setup test lint demo demo-stop deb clean

all: build

build:
	$(CARGO) build --release

module:
	@[ "$(MODULE)" != "$(RELEASE_LIB)" ] || $(CARGO) build --release

install: module
	install -d $(DESTDIR)$(MODULEDIR)
	install -m 0644 $(MODULE) $(DESTDIR)$(MODULEDIR)/$(MODULE_FILE)

uninstall:
	rm -f $(DESTDIR)$(MODULEDIR)/$(MODULE_FILE)

setup:
	scripts/install-deps

lint: setup
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

test: lint
	$(CARGO) test

demo: setup
	$(CARGO) build
	$(PYTHON) tests/support/demo.py start --dir $(DEMO_DIR) --module target/debug/libshared_imapc.so

demo-stop:
	$(PYTHON) tests/support/demo.py stop --dir $(DEMO_DIR)

deb: module
	MODULEDIR=$(MODULEDIR) packaging/build-deb $(MODULE) dist

clean:
	$(CARGO) clean
	rm -rf dist
