//! The storage target reaches the C shim, which links Dovecot's libraries:
//! the main crate's rpath to them applies to its own binaries only, so the
//! fuzz targets get it here, from the same `dovecot-config`.

use std::env;

const DEFAULT_DOVECOT_CONFIG: &str = "/usr/lib/dovecot/dovecot-config";

fn main() {
    println!("cargo:rerun-if-env-changed=DOVECOT_CONFIG");
    let path = env::var("DOVECOT_CONFIG").unwrap_or_else(|_| DEFAULT_DOVECOT_CONFIG.into());
    let config = std::fs::read_to_string(&path).unwrap_or_default();
    let libdir = config
        .lines()
        .find_map(|line| line.strip_prefix("dovecot_pkglibdir="))
        .map(|value| value.trim_matches(|c| c == '"' || c == '\''))
        .unwrap_or("/usr/lib/dovecot");
    println!("cargo:rustc-link-arg=-Wl,-rpath,{libdir}");
}
