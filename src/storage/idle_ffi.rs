//! The C ABI of a folder's IDLE on the owner's server (see
//! `include/shared_imapc.h` and `folder/idle.rs`): the C side watches the
//! socket from Dovecot's ioloop; every entry point runs in `ffi_guard`.

use std::ffi::{c_int, c_uint};

use super::folder::IdleNews;
use super::storage_ffi::SicFolder;
use crate::sys::guard::ffi_guard;

/// # Safety
/// `folder` came from `sic_folder_open`; `renew_msecs_r` is writable.
#[no_mangle]
pub unsafe extern "C" fn sic_folder_idle_start(
    folder: *mut SicFolder,
    renew_msecs_r: *mut c_uint,
) -> c_int {
    ffi_guard("sic_folder_idle_start", -1, || {
        // SAFETY: guaranteed by the caller.
        let (Some(folder), Some(renew)) = (unsafe { folder.as_mut() }, unsafe {
            renew_msecs_r.as_mut()
        }) else {
            return -1;
        };
        let Some(fd) = folder.folder.start_idle() else {
            return -1;
        };
        let msecs = folder.folder.max_idle_time().as_millis();
        *renew = c_uint::try_from(msecs).unwrap_or(c_uint::MAX);
        // SAFETY: `fd` is the open socket of the session's connection; the
        // copy is the caller's, so Dovecot's ioloop never watches a number
        // the connection closed (and the system may have given again).
        unsafe { libc::dup(fd) }
    })
}

/// # Safety
/// `folder` came from `sic_folder_open`.
#[no_mangle]
pub unsafe extern "C" fn sic_folder_idle_check(folder: *mut SicFolder) -> c_int {
    ffi_guard("sic_folder_idle_check", -1, || {
        // SAFETY: guaranteed by the caller.
        let Some(folder) = (unsafe { folder.as_mut() }) else {
            return -1;
        };
        match folder.folder.check_idle() {
            IdleNews::Quiet => 0,
            IdleNews::News => 1,
            IdleNews::Over => -1,
        }
    })
}

/// # Safety
/// `folder` is null or came from `sic_folder_open`.
#[no_mangle]
pub unsafe extern "C" fn sic_folder_idle_stop(folder: *mut SicFolder) {
    ffi_guard("sic_folder_idle_stop", (), || {
        // SAFETY: guaranteed by the caller.
        if let Some(folder) = unsafe { folder.as_mut() } {
            folder.folder.stop_idle();
        }
    })
}
