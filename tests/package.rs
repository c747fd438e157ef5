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
    let symbols = run(Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(module));
    for entry in ENTRY_POINTS {
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
}

#[test]
fn make_install_honours_destdir() {
    let destdir = common::scratch_dir("make-install");
    run(Command::new("make")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("install")
        .arg(format!("DESTDIR={}", destdir.display()))
        .arg(format!("MODULE={}", common::built_module().display()))
        .arg("MODULEDIR=/usr/lib/dovecot/modules"));
    let installed = destdir.join("usr/lib/dovecot/modules/lib30_shared_imapc_plugin.so");
    assert!(installed.is_file(), "{} missing", installed.display());
    assert_exports_entry_points(&installed);
}

#[test]
fn debian_package_installs_module_and_example_config() {
    let scratch = common::scratch_dir("deb");
    let out = run(
        Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/packaging/build-deb"))
            .arg(common::built_module())
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
    assert_exports_entry_points(&root.join("usr/lib/dovecot/modules/lib30_shared_imapc_plugin.so"));
    let example = std::fs::read_to_string(
        root.join("usr/share/doc/dovecot-shared-imapc/90-shared-imapc.conf.example"),
    )
    .unwrap();
    assert!(example.contains("mail_plugins = $mail_plugins acl shared_imapc"));
}
