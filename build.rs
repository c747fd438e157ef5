//! Build script: finds the installed Dovecot, generates Rust bindings for the
//! Dovecot types the Rust side touches, compiles the C shim against the same
//! headers, and records the Dovecot ABI version the module is built for.
//!
//! `DOVECOT_CONFIG` overrides the path of Dovecot's `dovecot-config`
//! (default `/usr/lib/dovecot/dovecot-config`).

use std::collections::HashMap;
use std::env;
use std::fs;
use std::path::{Path, PathBuf};

const DEFAULT_DOVECOT_CONFIG: &str = "/usr/lib/dovecot/dovecot-config";
const SHIM_SOURCES: &[&str] = &[
    "c-shim/plugin.c",
    "c-shim/log.c",
    "c-shim/dict.c",
    "c-shim/storage.c",
    "c-shim/list.c",
    "c-shim/sync.c",
    "c-shim/mail.c",
    "c-shim/store.c",
    "c-shim/search.c",
    "c-shim/groups.c",
    "c-shim/save.c",
    "c-shim/report.c",
    "c-shim/search-keys.c",
    "c-shim/attribute.c",
];
/// The imap plugin module, a C shared object of its own: it links against
/// the imap binary, which the main module must not (that one also loads in
/// lmtp, doveadm and the dict server). It calls into the main module, which
/// Dovecot loads before it with RTLD_GLOBAL; report.c and search-keys.c are
/// built into both, since a cdylib exports only Rust's symbols.
const IMAP_MODULE_SOURCES: &[&str] = &[
    "c-shim/imap-plugin.c",
    "c-shim/imap.c",
    "c-shim/imap-quota.c",
    "c-shim/report.c",
    "c-shim/search-keys.c",
];
/// The imap plugin module's file name, as Dovecot's moduledir holds it.
const IMAP_MODULE_FILE: &str = "lib95_imap_shared_imapc_plugin.so";

fn main() {
    println!("cargo:rerun-if-env-changed=DOVECOT_CONFIG");
    println!("cargo:rerun-if-changed=c-shim");
    println!("cargo:rerun-if-changed=include");

    let dovecot = Dovecot::find();
    let abi = dovecot.abi_version();
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));

    fs::write(
        out.join("dovecot_abi.rs"),
        format!(
            "/// `DOVECOT_ABI_VERSION` of the Dovecot this module was built against.\n\
             pub const DOVECOT_ABI_VERSION: &core::ffi::CStr = c{abi:?};\n\
             /// Dovecot's module directory at build time.\n\
             pub const DOVECOT_MODULEDIR: &str = {:?};\n",
            dovecot
                .var("dovecot_moduledir")
                .unwrap_or("/usr/lib/dovecot/modules")
        ),
    )
    .expect("write dovecot_abi.rs");

    generate_bindings(&dovecot, &out);
    compile_shim(&dovecot);
    build_imap_module(&dovecot, &out);
}

/// What `dovecot-config` says about the installed Dovecot.
struct Dovecot {
    vars: HashMap<String, String>,
    include_dir: PathBuf,
}

impl Dovecot {
    fn find() -> Dovecot {
        let path = env::var("DOVECOT_CONFIG").unwrap_or_else(|_| DEFAULT_DOVECOT_CONFIG.into());
        println!("cargo:rerun-if-changed={path}");
        let text = fs::read_to_string(&path).unwrap_or_else(|e| {
            fail(&format!(
                "cannot read Dovecot's build config {path}: {e}; install the `dovecot-dev` package \
                 (or set DOVECOT_CONFIG to its path)"
            ))
        });
        let vars = parse_shell_vars(&text);
        let include_dir = vars
            .get("LIBDOVECOT_INCLUDE")
            .and_then(|flags| flags.split_whitespace().find_map(|f| f.strip_prefix("-I")))
            .map(PathBuf::from)
            .or_else(|| vars.get("dovecot_pkgincludedir").map(PathBuf::from))
            .unwrap_or_else(|| {
                fail(&format!(
                    "{path} names no include directory (LIBDOVECOT_INCLUDE)"
                ))
            });
        if !include_dir.join("config.h").exists() || !include_dir.join("lib.h").exists() {
            fail(&format!(
                "Dovecot headers not found in {}: install the `dovecot-dev` package",
                include_dir.display()
            ));
        }
        Dovecot { vars, include_dir }
    }

    fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// `DOVECOT_ABI_VERSION` from the installed `config.h`.
    fn abi_version(&self) -> String {
        let config_h = self.include_dir.join("config.h");
        println!("cargo:rerun-if-changed={}", config_h.display());
        let text = fs::read_to_string(&config_h)
            .unwrap_or_else(|e| fail(&format!("{}: {e}", config_h.display())));
        text.lines()
            .find_map(|l| l.strip_prefix("#define DOVECOT_ABI_VERSION "))
            .map(|v| v.trim().trim_matches('"').to_string())
            .unwrap_or_else(|| {
                fail(&format!(
                    "{} defines no DOVECOT_ABI_VERSION",
                    config_h.display()
                ))
            })
    }

    /// Dovecot's CFLAGS minus link-time optimisation, which would leave the
    /// shim as GCC bytecode that the Rust linker cannot use.
    fn cflags(&self) -> Vec<String> {
        self.var("DOVECOT_CFLAGS")
            .unwrap_or("")
            .split_whitespace()
            .filter(|f| !f.starts_with("-flto") && *f != "-ffat-lto-objects")
            .map(String::from)
            .collect()
    }
}

fn generate_bindings(dovecot: &Dovecot, out: &Path) {
    let include = format!("-I{}", dovecot.include_dir.display());
    let builder = bindgen::Builder::default()
        .header("c-shim/shim.h")
        .clang_args([include.as_str(), "-DHAVE_CONFIG_H"])
        .allowlist_type("module")
        .allowlist_type("mail_user")
        .allowlist_type("event")
        .allowlist_function("sic_shim_.*")
        .allowlist_type("sic_log_level")
        .allowlist_type("dict_iterate_flags")
        .bitfield_enum("dict_iterate_flags")
        .rustified_enum("sic_log_level")
        .opaque_type("mail_user")
        .opaque_type("event")
        .opaque_type("module")
        .layout_tests(false)
        .generate_comments(false)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()));
    // bindgen panics when it cannot load libclang; turn that into one clear line.
    let generated =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || builder.generate()))
            .unwrap_or_else(|_| {
                fail("bindgen could not load libclang: install the `libclang-dev` package")
            });
    let bindings =
        generated.unwrap_or_else(|e| fail(&format!("bindgen failed on the Dovecot headers: {e}")));
    bindings
        .write_to_file(out.join("dovecot_bindings.rs"))
        .expect("write dovecot_bindings.rs");
}

fn compile_shim(dovecot: &Dovecot) {
    c_build(dovecot).files(SHIM_SOURCES).compile("sic_shim");

    // Test binaries and the C harness call into Dovecot's libraries; the
    // module itself finds the same, already loaded, libraries in the host.
    let libdir = dovecot
        .var("dovecot_pkglibdir")
        .unwrap_or("/usr/lib/dovecot");
    println!("cargo:rustc-link-search=native={libdir}");
    println!("cargo:rustc-link-lib=dylib=dovecot-storage");
    println!("cargo:rustc-link-lib=dylib=dovecot");
    println!("cargo:rustc-link-arg=-Wl,-rpath,{libdir}");
    // Where the C test harness finds the same Dovecot.
    println!(
        "cargo:rustc-env=SIC_DOVECOT_INCLUDE={}",
        dovecot.include_dir.display()
    );
    println!("cargo:rustc-env=SIC_DOVECOT_LIBDIR={libdir}");
}

/// The C compiler set up as for the shim: Dovecot's headers and flags,
/// warnings as errors.
fn c_build(dovecot: &Dovecot) -> cc::Build {
    let mut build = cc::Build::new();
    build
        .include(&dovecot.include_dir)
        .include("include")
        .define("HAVE_CONFIG_H", None)
        .warnings_into_errors(true);
    for flag in dovecot.cflags() {
        build.flag_if_supported(&flag);
    }
    build
}

/// Links the imap plugin module into `OUT_DIR`, and copies it next to the
/// cdylib (`target/<profile>/`) where `make install` and the tests find it;
/// `SIC_IMAP_MODULE` names it for the tests. Its undefined symbols are the
/// imap binary's and the main module's, resolved when Dovecot loads it.
fn build_imap_module(dovecot: &Dovecot, out: &Path) {
    let module = out.join(IMAP_MODULE_FILE);
    let compiler = c_build(dovecot).get_compiler();
    let status = compiler
        .to_command()
        .args(["-shared", "-fPIC", "-fvisibility=hidden", "-o"])
        .arg(&module)
        .args(IMAP_MODULE_SOURCES)
        .status()
        .unwrap_or_else(|e| fail(&format!("cannot run the C compiler: {e}")));
    if !status.success() {
        fail("the imap plugin module did not compile");
    }
    // OUT_DIR is target/<profile>/build/<crate>-<hash>/out.
    if let Some(profile_dir) = out.ancestors().nth(3) {
        fs::copy(&module, profile_dir.join(IMAP_MODULE_FILE))
            .unwrap_or_else(|e| fail(&format!("copy {IMAP_MODULE_FILE}: {e}")));
    }
    println!("cargo:rustc-env=SIC_IMAP_MODULE={}", module.display());
}

/// Parses the `NAME=value` / `NAME='value'` / `NAME="value"` lines of a
/// shell-sourced config file.
fn parse_shell_vars(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|line| line.split_once('='))
        .filter(|(name, _)| {
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
        .map(|(name, value)| {
            let v = value.trim();
            let v = v
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .or_else(|| v.strip_prefix('"').and_then(|v| v.strip_suffix('"')))
                .unwrap_or(v);
            (name.to_string(), v.to_string())
        })
        .collect()
}

/// Stops the build with one line that says what to do.
fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    println!("cargo:warning={message}");
    std::process::exit(1);
}
