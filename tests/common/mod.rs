//! Helpers shared by the integration tests: where cargo put the built module.

#[allow(dead_code)] // not every test binary starts a cluster
pub mod cluster;
#[allow(dead_code)]
pub mod dict_semantics;
#[allow(dead_code)]
pub mod fake_server;
#[allow(dead_code)]
pub mod postgres;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use shared_imapc::client::connection::Target;
use shared_imapc::imap::framer::Limits;
use shared_imapc::storage::settings::SslMode;

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

/// The Python that runs the test support scripts and pytest: Debian's own,
/// where `make setup` installs python3-pytest, whatever other `python3`
/// comes first on `PATH` (`SHARED_IMAPC_PYTHON` overrides it).
#[allow(dead_code)] // not every test binary runs Python
pub fn python() -> Command {
    Command::new(
        std::env::var_os("SHARED_IMAPC_PYTHON").unwrap_or_else(|| "/usr/bin/python3".into()),
    )
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

/// Compiles a C program against Dovecot, `include/` and the built library.
#[allow(dead_code)] // not every test binary compiles C
pub fn compile_c(source: &Path, exe: &Path) {
    let libdir = env!("SIC_DOVECOT_LIBDIR");
    let build_dir = build_dir();
    let compile = Command::new("cc")
        .args(["-std=gnu99", "-O2", "-Wall", "-Werror", "-DHAVE_CONFIG_H"])
        .arg(format!("-I{}", env!("SIC_DOVECOT_INCLUDE")))
        .arg(concat!("-I", env!("CARGO_MANIFEST_DIR"), "/include"))
        .arg(source)
        .arg("-o")
        .arg(exe)
        .arg(format!("-L{}", build_dir.display()))
        .arg("-lshared_imapc")
        .arg(format!("-L{libdir}"))
        .args(["-ldovecot-storage", "-ldovecot"])
        .arg(format!("-Wl,-rpath,{}:{libdir}", build_dir.display()))
        .output()
        .expect("run cc");
    assert!(
        compile.status.success(),
        "{} did not compile:\n{}",
        source.display(),
        String::from_utf8_lossy(&compile.stderr)
    );
}

/// A directory holding the built module under its Dovecot name.
#[allow(dead_code)]
pub fn module_dir(parent: &Path) -> PathBuf {
    let dir = parent.join("modules");
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(built_module(), dir.join(MODULE_FILE)).unwrap();
    dir
}

/// A plain-IMAP target on `host:port` with test-friendly timeouts.
#[allow(dead_code)]
pub fn target(host: &str, port: u16) -> Target {
    Target {
        host: host.into(),
        port,
        addresses: Vec::new(),
        connect_timeout: Duration::from_secs(5),
        command_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(300),
        ssl: SslMode::No,
        tls: Default::default(),
        limits: Limits::default(),
    }
}
