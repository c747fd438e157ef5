//! Builds the C harness in `tests/c/` against `include/` and the built
//! library, and runs it against a loopback cluster (Dovecot's own test
//! framework prints each check).

mod common;

use common::cluster::TestCluster;
use std::process::Command;

#[test]
fn c_harness_passes() {
    let module = common::built_module();
    let dir = common::scratch_dir("c-harness");
    let module_dir = dir.join("modules");
    let dict_dir = dir.join("dict");
    std::fs::create_dir_all(&dict_dir).unwrap();
    std::fs::create_dir_all(&module_dir).unwrap();
    std::os::unix::fs::symlink(&module, module_dir.join(common::MODULE_FILE)).unwrap();

    let manifest = env!("CARGO_MANIFEST_DIR");
    let libdir = env!("SIC_DOVECOT_LIBDIR");
    let build_dir = common::build_dir();
    let exe = dir.join("test-shared-imapc");
    let compile = Command::new("cc")
        .args(["-std=gnu99", "-Wall", "-Werror", "-DHAVE_CONFIG_H"])
        .arg(format!("-I{}", env!("SIC_DOVECOT_INCLUDE")))
        .arg(format!("-I{manifest}/include"))
        .arg(format!("{manifest}/tests/c/test-shared-imapc.c"))
        .arg("-o")
        .arg(&exe)
        .arg(format!("-L{}", build_dir.display()))
        .arg("-lshared_imapc")
        .arg(format!("-L{libdir}"))
        .args(["-ldovecot-storage", "-ldovecot"])
        .arg(format!("-Wl,-rpath,{}:{libdir}", build_dir.display()))
        .output()
        .expect("run cc");
    assert!(
        compile.status.success(),
        "C harness did not compile:\n{}",
        String::from_utf8_lossy(&compile.stderr)
    );

    // cargo points LD_LIBRARY_PATH at target/<profile> too, which may hold an
    // older copy of the library; the harness must use its rpath, i.e. this one.
    let cluster = TestCluster::start();
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
