//! What an administrator installs: `make install` into a DESTDIR, and the
//! Debian package installed into a scratch root with dpkg.

mod common;

use std::path::Path;
use std::process::Command;

const ENTRY_POINTS: &[&str] = &[
    "shared_imapc_plugin_init",
    "shared_imapc_plugin_deinit",
    "shared_imapc_plugin_version",
];
/// The imap plugin module's, besides the dependencies Dovecot checks.
const IMAP_ENTRY_POINTS: &[&str] = &[
    "imap_shared_imapc_plugin_init",
    "imap_shared_imapc_plugin_deinit",
    "imap_shared_imapc_plugin_version",
    "imap_shared_imapc_plugin_dependencies",
    "imap_shared_imapc_plugin_binary_dependency",
];
const MODULE_DIR: &str = "usr/lib/dovecot/modules";
const IMAP_MODULE_FILE: &str = "lib95_imap_shared_imapc_plugin.so";

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn assert_exports_entry_points(module: &Path) {
    assert_exports(module, ENTRY_POINTS);
}

fn assert_exports(module: &Path, entry_points: &[&str]) {
    let symbols = run(Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(module));
    for entry in entry_points {
        assert!(
            symbols.lines().any(|l| l.ends_with(&format!(" {entry}"))),
            "{} does not export {entry}",
            module.display()
        );
    }
}

/// "2.3.ABIv19(2.3.19.1)" -> "dovecot-abi-2.3.abiv19", as dovecot-core provides it.
fn abi_package() -> String {
    let config_h = Path::new(env!("SIC_DOVECOT_INCLUDE")).join("config.h");
    let text = std::fs::read_to_string(config_h).unwrap();
    let abi = text
        .lines()
        .find_map(|l| l.strip_prefix("#define DOVECOT_ABI_VERSION \""))
        .and_then(|v| v.split('(').next())
        .expect("DOVECOT_ABI_VERSION");
    format!("dovecot-abi-{}", abi.to_lowercase())
}

#[test]
fn built_module_exports_the_dovecot_entry_points() {
    assert_exports_entry_points(&common::built_module());
    assert_exports(Path::new(env!("SIC_IMAP_MODULE")), IMAP_ENTRY_POINTS);
}

#[test]
fn make_install_honours_destdir() {
    let destdir = common::scratch_dir("make-install");
    run(Command::new("make")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("install")
        .arg(format!("DESTDIR={}", destdir.display()))
        .arg(format!("MODULE={}", common::built_module().display()))
        .arg(format!("IMAP_MODULE={}", env!("SIC_IMAP_MODULE")))
        .arg("MODULEDIR=/usr/lib/dovecot/modules"));
    let installed = destdir.join(MODULE_DIR).join(common::MODULE_FILE);
    assert!(installed.is_file(), "{} missing", installed.display());
    assert_exports_entry_points(&installed);
    assert_exports(
        &destdir.join(MODULE_DIR).join(IMAP_MODULE_FILE),
        IMAP_ENTRY_POINTS,
    );
}

#[test]
fn debian_package_installs_module_and_example_config() {
    let scratch = common::scratch_dir("deb");
    let out = run(
        Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/packaging/build-deb"))
            .arg(common::built_module())
            .arg(env!("SIC_IMAP_MODULE"))
            .arg(scratch.join("dist")),
    );
    let deb = out.trim().to_string();

    let depends = run(Command::new("dpkg-deb").args(["-f", &deb, "Depends"]));
    assert!(depends.contains(&abi_package()), "Depends: {depends}");
    assert!(depends.contains("dovecot-core"), "Depends: {depends}");
    // Every library the module links is one that Depends brings.
    let dynamic = run(Command::new("readelf")
        .arg("-d")
        .arg(common::built_module()));
    for needed in dynamic
        .lines()
        .filter_map(|l| l.split("Shared library: [").nth(1))
    {
        let library = needed.trim_end_matches(']');
        let covered = ["libdovecot", "libc.so", "libgcc_s.so", "ld-linux"]
            .iter()
            .any(|known| library.starts_with(known));
        assert!(
            covered,
            "{library} is linked but no package in Depends: {depends}"
        );
    }

    // A real dpkg install into an empty root (dependencies live on the host).
    let root = scratch.join("root");
    for dir in ["var/lib/dpkg/info", "var/lib/dpkg/updates"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    std::fs::write(root.join("var/lib/dpkg/status"), "").unwrap();
    let root_arg = format!("--root={}", root.display());
    run(Command::new("dpkg").args([
        &root_arg,
        "--force-depends",
        "--force-script-chrootless",
        "-i",
        &deb,
    ]));

    let status = run(Command::new("dpkg").args([&root_arg, "-s", "dovecot-shared-imapc"]));
    assert!(status.contains("Status: install ok installed"), "{status}");
    let files = run(Command::new("dpkg").args([&root_arg, "-L", "dovecot-shared-imapc"]));
    for expected in [
        "/usr/lib/dovecot/modules/lib30_shared_imapc_plugin.so",
        "/usr/lib/dovecot/modules/lib95_imap_shared_imapc_plugin.so",
        "/usr/share/doc/dovecot-shared-imapc/90-shared-imapc.conf.example",
        "/usr/share/doc/dovecot-shared-imapc/copyright",
    ] {
        assert!(
            files.lines().any(|l| l == expected),
            "{expected} not in package:\n{files}"
        );
        assert!(
            root.join(&expected[1..]).is_file(),
            "{expected} not installed"
        );
    }
    assert_exports_entry_points(&root.join(MODULE_DIR).join(common::MODULE_FILE));
    assert_exports(
        &root.join(MODULE_DIR).join(IMAP_MODULE_FILE),
        IMAP_ENTRY_POINTS,
    );
    let example = std::fs::read_to_string(
        root.join("usr/share/doc/dovecot-shared-imapc/90-shared-imapc.conf.example"),
    )
    .unwrap();
    assert!(example.contains("mail_plugins = $mail_plugins acl shared_imapc"));
    assert!(example.contains("mail_plugins = $mail_plugins imap_acl imap_shared_imapc"));
}
