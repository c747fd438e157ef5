//! The module entry points Dovecot looks up when it loads
//! `lib30_shared_imapc_plugin.so`: `shared_imapc_plugin_version`,
//! `shared_imapc_plugin_init` and `shared_imapc_plugin_deinit`.
//!
//! They are Rust items because a cdylib exports only what Rust itself marks
//! `#[no_mangle]`; the hooks they register live in the C shim.

use std::ffi::c_char;

use crate::sys::bindings::{module, sic_shim_deinit, sic_shim_init};
use crate::sys::guard::ffi_guard;
use crate::sys::log::set_in_dovecot;
use crate::sys::DOVECOT_ABI_VERSION;

/// A C string pointer that may live in a `static`.
#[repr(transparent)]
pub struct VersionString(*const c_char);

// SAFETY: the pointer refers to an immutable 'static C string.
unsafe impl Sync for VersionString {}

/// The Dovecot ABI this module was built for; Dovecot refuses to load the
/// module into a different one.
#[no_mangle]
#[allow(non_upper_case_globals)]
pub static shared_imapc_plugin_version: VersionString = VersionString(DOVECOT_ABI_VERSION.as_ptr());

/// Called by Dovecot when it loads the module: registers the hooks.
///
/// # Safety
/// `module` is the module struct Dovecot's loader made for this library.
#[no_mangle]
pub unsafe extern "C" fn shared_imapc_plugin_init(module: *mut module) {
    ffi_guard("shared_imapc_plugin_init", (), || {
        set_in_dovecot(true);
        limit_malloc_arenas();
        // SAFETY: Dovecot passes its own live module struct, on its thread.
        unsafe { sic_shim_init(module) }
    })
}

/// glibc gives each thread that allocates an arena of its own, reserving
/// 64 MiB of address space each; the pool's login threads would so exceed
/// Dovecot's vsz_limit (256 MiB by default) and abort the process. Dovecot
/// itself is single-threaded, so two arenas lose nothing.
fn limit_malloc_arenas() {
    // SAFETY: mallopt only changes allocator tuning; called on Dovecot's
    // thread before any login thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Called by Dovecot before it unloads the module: removes the hooks.
///
/// # Safety
/// Called once, after `shared_imapc_plugin_init`, on Dovecot's thread.
#[no_mangle]
pub unsafe extern "C" fn shared_imapc_plugin_deinit() {
    ffi_guard("shared_imapc_plugin_deinit", (), || {
        // SAFETY: called once by Dovecot after a successful init.
        unsafe { sic_shim_deinit() }
    })
}
