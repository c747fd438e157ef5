//! Builds the C harness in `tests/c/` against `include/` and the built
//! library, and runs it against a loopback cluster (Dovecot's own test
//! framework prints each check).

mod common;

use std::process::Command;

use common::cluster::TestCluster;

#[test]
fn c_harness_passes() {
    let dir = common::scratch_dir("c-harness");
    let module_dir = common::module_dir(&dir);
    let dict_dir = dir.join("dict");
    std::fs::create_dir_all(&dict_dir).unwrap();
    let exe = dir.join("test-shared-imapc");
    common::compile_c(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/test-shared-imapc.c"),
        &exe,
    );

    let cluster = TestCluster::start();
    // cargo points LD_LIBRARY_PATH at target/<profile> too, which may hold an
    // older copy of the library; the harness must use its rpath, i.e. this one.
    let run = Command::new(&exe)
        .arg(&module_dir)
        .arg(cluster.proxy_port.to_string())
        .arg(&cluster.master_password)
        .arg(&dict_dir)
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .expect("run C harness");
    let stdout = String::from_utf8_lossy(&run.stdout);
    println!("{stdout}{}", String::from_utf8_lossy(&run.stderr));
    assert!(run.status.success(), "C harness failed");
    assert!(
        stdout.contains("0 / 7 tests failed"),
        "unexpected summary:\n{stdout}"
    );
}
