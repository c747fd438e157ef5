//! Helpers shared by the integration tests: where cargo put the built module.

#[allow(dead_code)] // not every test binary starts a cluster
pub mod cluster;
#[allow(dead_code)]
pub mod fake_server;

use std::path::PathBuf;

/// The module file Dovecot loads, under the name it expects.
#[allow(dead_code)] // not every test binary needs it
pub const MODULE_FILE: &str = "lib30_shared_imapc_plugin.so";

/// `target/<profile>/deps`: where integration tests run from, and where
/// `cargo test` puts the cdylib it built for them (it does not copy it up to
/// `target/<profile>` as `cargo build` does).
pub fn build_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent().expect("target/<profile>/deps").to_path_buf()
}

/// The cdylib cargo built for this test run.
pub fn built_module() -> PathBuf {
    let path = build_dir().join("libshared_imapc.so");
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// A fresh directory under the build dir, removed first if it exists.
#[allow(dead_code)] // not every test binary needs one
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = build_dir().join("test-scratch").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}
