//! End-to-end tests: real Dovecot instances on loopback (see
//! `tests/support/cluster.py`) driven by Python's imaplib through pytest.
//! Needs root (Dovecot's master process), `dovecot-core`, `dovecot-imapd`
//! and Debian's python3-pytest, all of which `make setup` installs.

mod common;

#[test]
fn end_to_end_suite() {
    assert!(
        // SAFETY: geteuid has no preconditions.
        unsafe { libc::geteuid() } == 0,
        "the end-to-end tests start Dovecot and must run as root"
    );
    let manifest = env!("CARGO_MANIFEST_DIR");
    let status = common::python()
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/e2e"])
        .current_dir(manifest)
        .env("SHARED_IMAPC_MODULE", common::built_module())
        .env("SHARED_IMAPC_IMAP_MODULE", env!("SIC_IMAP_MODULE"))
        .env("SHARED_DICT_TOOL", env!("CARGO_BIN_EXE_shared-dict"))
        .status()
        .expect("run /usr/bin/python3 -m pytest (install python3-pytest: make setup)");
    assert!(
        status.success(),
        "end-to-end tests failed (their output is above)"
    );
}
