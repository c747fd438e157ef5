//! The C ABI of the commands that go to the owner's server whole (see
//! `include/shared_imapc.h`): ACL commands, quota and `/shared` METADATA,
//! used by the imap plugin module and the storage's mailbox attributes.

use std::ffi::{c_char, c_int};

use super::account::Owner;
use super::error::StorageResult;
use super::storage_ffi::{guarded, internal, SicError};
use crate::sys::strings::{borrow, to_c};

/// The owner and the NUL-terminated strings a function was given.
///
/// # Safety
/// `owner` is null or came from `sic_owner_new`; `name` is null or
/// NUL-terminated.
unsafe fn owner_and_name<'a>(
    owner: *mut Owner,
    name: *const c_char,
) -> StorageResult<(&'a mut Owner, String)> {
    // SAFETY: guaranteed by the caller.
    let (owner, name) = unsafe { (owner.as_mut(), borrow(name)) };
    match (owner, name) {
        (Some(owner), Some(name)) => Ok((owner, name.into_owned())),
        _ => Err(internal()),
    }
}

/// # Safety
/// `owner` came from `sic_owner_new`; strings are NUL-terminated
/// (`identifier` and `rights` may be null).
#[no_mangle]
pub unsafe extern "C" fn sic_owner_acl(
    owner: *mut Owner,
    command: *const c_char,
    name: *const c_char,
    identifier: *const c_char,
    rights: *const c_char,
    error_r: *mut SicError,
) -> *mut c_char {
    guarded("sic_owner_acl", error_r, std::ptr::null_mut(), || {
        // SAFETY: guaranteed by the caller.
        let (owner, name) = unsafe { owner_and_name(owner, name)? };
        // SAFETY: guaranteed by the caller.
        let (command, identifier, rights) =
            unsafe { (borrow(command), borrow(identifier), borrow(rights)) };
        let command = command.ok_or_else(internal)?;
        let text = owner.acl(&command, &name, identifier.as_deref(), rights.as_deref())?;
        Ok(to_c(&text))
    })
}

/// # Safety
/// `owner` came from `sic_owner_new`; `name` is NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn sic_owner_quota_root(
    owner: *mut Owner,
    name: *const c_char,
    error_r: *mut SicError,
) -> *mut c_char {
    guarded(
        "sic_owner_quota_root",
        error_r,
        std::ptr::null_mut(),
        || {
            // SAFETY: guaranteed by the caller.
            let (owner, name) = unsafe { owner_and_name(owner, name)? };
            Ok(to_c(&owner.quota_root(&name)?))
        },
    )
}

/// # Safety
/// `owner` came from `sic_owner_new`; `root` is NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn sic_owner_quota(
    owner: *mut Owner,
    root: *const c_char,
    error_r: *mut SicError,
) -> *mut c_char {
    guarded("sic_owner_quota", error_r, std::ptr::null_mut(), || {
        // SAFETY: guaranteed by the caller.
        let (owner, root) = unsafe { owner_and_name(owner, root)? };
        Ok(to_c(&owner.quota(&root)?))
    })
}

/// # Safety
/// `owner` came from `sic_owner_new`; strings are NUL-terminated;
/// `value_r` is writable.
#[no_mangle]
pub unsafe extern "C" fn sic_owner_metadata_get(
    owner: *mut Owner,
    name: *const c_char,
    key: *const c_char,
    value_r: *mut *mut c_char,
    error_r: *mut SicError,
) -> c_int {
    guarded("sic_owner_metadata_get", error_r, -1, || {
        // SAFETY: guaranteed by the caller.
        let (owner, name) = unsafe { owner_and_name(owner, name)? };
        // SAFETY: guaranteed by the caller.
        let (key, out) = unsafe { (borrow(key), value_r.as_mut()) };
        let (Some(key), Some(out)) = (key, out) else {
            return Err(internal());
        };
        let Some(value) = owner.shared_metadata(&name, &key)? else {
            return Ok(0);
        };
        *out = to_c(&String::from_utf8_lossy(&value));
        Ok(1)
    })
}

/// # Safety
/// `owner` came from `sic_owner_new`; `name` and `key` are NUL-terminated;
/// `value` is null or `value_size` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn sic_owner_metadata_set(
    owner: *mut Owner,
    name: *const c_char,
    key: *const c_char,
    value: *const u8,
    value_size: usize,
    error_r: *mut SicError,
) -> c_int {
    guarded("sic_owner_metadata_set", error_r, -1, || {
        // SAFETY: guaranteed by the caller.
        let (owner, name) = unsafe { owner_and_name(owner, name)? };
        // SAFETY: guaranteed by the caller.
        let key = unsafe { borrow(key) }.ok_or_else(internal)?;
        let value = (!value.is_null()).then(|| {
            // SAFETY: the caller passes `value_size` readable bytes.
            unsafe { std::slice::from_raw_parts(value, value_size) }
        });
        owner.set_shared_metadata(&name, &key, value)?;
        Ok(0)
    })
}

/// # Safety
/// `owner` came from `sic_owner_new`; strings are NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn sic_owner_metadata_keys(
    owner: *mut Owner,
    name: *const c_char,
    prefix: *const c_char,
    error_r: *mut SicError,
) -> *mut c_char {
    guarded(
        "sic_owner_metadata_keys",
        error_r,
        std::ptr::null_mut(),
        || {
            // SAFETY: guaranteed by the caller.
            let (owner, name) = unsafe { owner_and_name(owner, name)? };
            // SAFETY: guaranteed by the caller.
            let prefix = unsafe { borrow(prefix) }.ok_or_else(internal)?;
            Ok(to_c(
                &owner.shared_metadata_keys(&name, &prefix)?.join("\n"),
            ))
        },
    )
}
