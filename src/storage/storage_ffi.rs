//! The C ABI of the storage core (see `include/shared_imapc.h`): errors,
//! accounts, owners, folder lists and opening folders; a folder's syncs are
//! in `sync_ffi`, its messages in `message_ffi`. Every entry point runs in
//! `ffi_guard`; handles are boxes owned by the C side.

use std::ffi::{c_char, c_int, c_uint, CString};
use std::path::PathBuf;

use super::account::{Account, FolderStatus, Owner};
use super::error::{ErrorKind, StorageError};
use super::folder::Folder;
use super::list_cache;
use super::names::ListedFolder;
use super::settings_ffi::SicSettings;
use crate::sys::bindings::event;
use crate::sys::guard::ffi_guard;
use crate::sys::log::DebugLog;
use crate::sys::strings::{borrow, to_c};

/// `struct sic_error`: filled on failure; free with `sic_error_clear`.
#[repr(C)]
pub struct SicError {
    pub kind: c_int,
    pub message: *mut c_char,
    pub detail: *mut c_char,
}

fn report(error_r: *mut SicError, error: &StorageError) {
    // SAFETY: every function documents `error_r` as null or writable.
    if let Some(out) = unsafe { error_r.as_mut() } {
        out.kind = error.kind as c_int;
        out.message = to_c(&error.message);
        out.detail = error.detail.as_deref().map_or(std::ptr::null_mut(), to_c);
    }
}

pub(super) fn internal() -> StorageError {
    StorageError::new(ErrorKind::Temp, "shared_imapc: internal error")
}

/// Runs `body` guarded; on error fills `error_r` and returns `failed`.
pub(super) fn guarded<T>(
    name: &'static str,
    error_r: *mut SicError,
    failed: T,
    body: impl FnOnce() -> Result<T, StorageError>,
) -> T {
    match ffi_guard(name, Err(internal()), body) {
        Ok(value) => value,
        Err(error) => {
            report(error_r, &error);
            failed
        }
    }
}

/// See `sic_error_clear`.
///
/// # Safety
/// `error` is null or was filled by this library.
#[no_mangle]
pub unsafe extern "C" fn sic_error_clear(error: *mut SicError) {
    ffi_guard("sic_error_clear", (), || {
        // SAFETY: guaranteed by the caller.
        if let Some(e) = unsafe { error.as_mut() } {
            for s in [&mut e.message, &mut e.detail] {
                if !s.is_null() {
                    // SAFETY: made by `to_c` (CString::into_raw).
                    drop(unsafe { CString::from_raw(*s) });
                    *s = std::ptr::null_mut();
                }
            }
        }
    })
}

pub(super) fn free_box<T>(name: &'static str, handle: *mut T) {
    ffi_guard(name, (), || {
        if !handle.is_null() {
            // SAFETY: every handle is made by `Box::into_raw` here and freed
            // once by its `_free` function.
            drop(unsafe { Box::from_raw(handle) });
        }
    })
}

/// # Safety
/// `set` came from `sic_settings_parse` (or is null: then null is
/// returned); `debug_event` is null or the user's event, which outlives
/// the account; `client_ip` and `home` are null or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn sic_account_new(
    set: *const SicSettings,
    debug_event: *mut event,
    client_ip: *const c_char,
    home: *const c_char,
) -> *mut Account {
    ffi_guard("sic_account_new", std::ptr::null_mut(), || {
        // SAFETY: guaranteed by the caller.
        let client_ip = unsafe { borrow(client_ip) }.map(|ip| ip.into_owned());
        // SAFETY: guaranteed by the caller.
        let list_cache = unsafe { borrow(home) }
            .map(|home| PathBuf::from(home.into_owned()).join(list_cache::FILE_NAME));
        // SAFETY: guaranteed by the caller.
        match unsafe { set.as_ref() } {
            Some(set) => Box::into_raw(Box::new(Account::new(
                set.settings().clone(),
                DebugLog::new(debug_event),
                client_ip,
                list_cache,
            ))),
            None => std::ptr::null_mut(),
        }
    })
}

/// # Safety
/// `account` is null or came from `sic_account_new`, freed once, after
/// every owner and folder made from it... or before: they hold their own
/// references to the sessions.
#[no_mangle]
pub unsafe extern "C" fn sic_account_free(account: *mut Account) {
    free_box("sic_account_free", account)
}

/// # Safety
/// `account` came from `sic_account_new`.
#[no_mangle]
pub unsafe extern "C" fn sic_account_close_unused(account: *mut Account) {
    ffi_guard("sic_account_close_unused", (), || {
        // SAFETY: guaranteed by the caller.
        if let Some(account) = unsafe { account.as_mut() } {
            account.close_unused();
        }
    })
}

/// # Safety
/// `account` came from `sic_account_new`.
#[no_mangle]
pub unsafe extern "C" fn sic_account_unused_check_msecs(account: *const Account) -> c_uint {
    ffi_guard("sic_account_unused_check_msecs", 60_000, || {
        // SAFETY: guaranteed by the caller.
        unsafe { account.as_ref() }
            .map_or(60_000, |a| a.unused_check_interval().as_millis() as c_uint)
    })
}

/// # Safety
/// `account` came from `sic_account_new`.
#[no_mangle]
pub unsafe extern "C" fn sic_account_connect_pending(account: *mut Account) {
    ffi_guard("sic_account_connect_pending", (), || {
        // SAFETY: guaranteed by the caller.
        if let Some(account) = unsafe { account.as_mut() } {
            account.connect_pending();
        }
    })
}

/// # Safety
/// `account` came from `sic_account_new`.
#[no_mangle]
pub unsafe extern "C" fn sic_account_should_expect_owners(account: *mut Account) -> c_int {
    ffi_guard("sic_account_should_expect_owners", 0, || {
        // SAFETY: guaranteed by the caller.
        unsafe { account.as_mut() }.map_or(0, |a| c_int::from(a.should_expect_owners()))
    })
}

/// # Safety
/// `account` came from `sic_account_new`; strings are NUL-terminated;
/// `owners` holds `count` of them.
#[no_mangle]
pub unsafe extern "C" fn sic_account_expect_owners(
    account: *mut Account,
    namespace_prefix: *const c_char,
    owner: *const c_char,
    owners: *const *const c_char,
    count: c_uint,
) {
    ffi_guard("sic_account_expect_owners", (), || {
        // SAFETY: guaranteed by the caller.
        let (account, prefix, owner) =
            unsafe { (account.as_mut(), borrow(namespace_prefix), borrow(owner)) };
        // SAFETY: guaranteed by the caller.
        let others: Vec<String> = unsafe { string_array(owners, Some(count as usize)) }
            .into_iter()
            .flatten()
            .collect();
        if let (Some(account), Some(prefix), Some(owner)) = (account, prefix, owner) {
            account.expect_owners(&prefix, &owner, &others);
        }
    })
}

/// # Safety
/// `account` came from `sic_account_new`.
#[no_mangle]
pub unsafe extern "C" fn sic_account_connections(account: *const Account) -> c_uint {
    ffi_guard("sic_account_connections", 0, || {
        // SAFETY: guaranteed by the caller.
        unsafe { account.as_ref() }.map_or(0, |a| a.connections() as c_uint)
    })
}

/// # Safety
/// `account` came from `sic_account_new`; strings are NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn sic_owner_new(
    account: *mut Account,
    namespace_prefix: *const c_char,
    owner: *const c_char,
    error_r: *mut SicError,
) -> *mut Owner {
    guarded("sic_owner_new", error_r, std::ptr::null_mut(), || {
        // SAFETY: guaranteed by the caller.
        let (account, prefix, owner) =
            unsafe { (account.as_mut(), borrow(namespace_prefix), borrow(owner)) };
        let (Some(account), Some(prefix), Some(owner)) = (account, prefix, owner) else {
            return Err(internal());
        };
        Ok(Box::into_raw(Box::new(account.owner(&prefix, &owner)?)))
    })
}

/// # Safety
/// `owner` is null or came from `sic_owner_new`, freed once.
#[no_mangle]
pub unsafe extern "C" fn sic_owner_free(owner: *mut Owner) {
    free_box("sic_owner_free", owner)
}

/// Opaque to C: `struct sic_folder_list`.
pub struct SicFolderList(Vec<(CString, u32)>);

/// # Safety
/// `owner` came from `sic_owner_new`.
#[no_mangle]
pub unsafe extern "C" fn sic_owner_list(
    owner: *mut Owner,
    error_r: *mut SicError,
) -> *mut SicFolderList {
    guarded("sic_owner_list", error_r, std::ptr::null_mut(), || {
        // SAFETY: guaranteed by the caller.
        let owner = unsafe { owner.as_mut() }.ok_or_else(internal)?;
        let folders = owner.list()?;
        let entries = folders
            .into_iter()
            .filter_map(|ListedFolder { name, flags }| Some((CString::new(name).ok()?, flags)))
            .collect();
        Ok(Box::into_raw(Box::new(SicFolderList(entries))))
    })
}

/// # Safety
/// `list` came from `sic_owner_list`.
#[no_mangle]
pub unsafe extern "C" fn sic_folder_list_count(list: *const SicFolderList) -> c_uint {
    ffi_guard("sic_folder_list_count", 0, || {
        // SAFETY: guaranteed by the caller.
        unsafe { list.as_ref() }.map_or(0, |l| l.0.len() as c_uint)
    })
}

/// # Safety
/// `list` came from `sic_owner_list`; `flags_r` is writable. The name
/// lives as long as the list.
#[no_mangle]
pub unsafe extern "C" fn sic_folder_list_get(
    list: *const SicFolderList,
    index: c_uint,
    flags_r: *mut c_uint,
) -> *const c_char {
    ffi_guard("sic_folder_list_get", std::ptr::null(), || {
        // SAFETY: guaranteed by the caller.
        let Some((name, flags)) = unsafe { list.as_ref() }.and_then(|l| l.0.get(index as usize))
        else {
            return std::ptr::null();
        };
        // SAFETY: guaranteed by the caller.
        if let Some(out) = unsafe { flags_r.as_mut() } {
            *out = *flags;
        }
        name.as_ptr()
    })
}

/// # Safety
/// `list` is null or came from `sic_owner_list`, freed once.
#[no_mangle]
pub unsafe extern "C" fn sic_folder_list_free(list: *mut SicFolderList) {
    free_box("sic_folder_list_free", list)
}

/// # Safety
/// `owner` came from `sic_owner_new`; `name` is NUL-terminated;
/// `status_r` is writable.
#[no_mangle]
pub unsafe extern "C" fn sic_owner_status(
    owner: *mut Owner,
    name: *const c_char,
    status_r: *mut FolderStatus,
    error_r: *mut SicError,
) -> c_int {
    guarded("sic_owner_status", error_r, -1, || {
        // SAFETY: guaranteed by the caller.
        let (owner, name, out) = unsafe { (owner.as_mut(), borrow(name), status_r.as_mut()) };
        let (Some(owner), Some(name), Some(out)) = (owner, name, out) else {
            return Err(internal());
        };
        *out = owner.status(&name)?;
        Ok(0)
    })
}

/// Runs `body` on the owner and the folder name, guarded: 0 or -1.
///
/// # Safety
/// `owner` came from `sic_owner_new`; `folder` is NUL-terminated.
unsafe fn with_owner_name(
    name: &'static str,
    owner: *mut Owner,
    folder: *const c_char,
    error_r: *mut SicError,
    body: impl FnOnce(&mut Owner, &str) -> Result<(), StorageError>,
) -> c_int {
    guarded(name, error_r, -1, || {
        // SAFETY: guaranteed by the caller.
        let (owner, folder) = unsafe { (owner.as_mut(), borrow(folder)) };
        let (Some(owner), Some(folder)) = (owner, folder) else {
            return Err(internal());
        };
        body(owner, &folder).map(|()| 0)
    })
}

/// # Safety
/// `owner` came from `sic_owner_new`; `name` is NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn sic_owner_create(
    owner: *mut Owner,
    name: *const c_char,
    directory: c_int,
    error_r: *mut SicError,
) -> c_int {
    // SAFETY: guaranteed by the caller.
    unsafe {
        with_owner_name("sic_owner_create", owner, name, error_r, |owner, name| {
            owner.create(name, directory != 0)
        })
    }
}

/// # Safety
/// `owner` came from `sic_owner_new`; `name` is NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn sic_owner_delete(
    owner: *mut Owner,
    name: *const c_char,
    error_r: *mut SicError,
) -> c_int {
    // SAFETY: guaranteed by the caller.
    unsafe { with_owner_name("sic_owner_delete", owner, name, error_r, Owner::delete) }
}

/// # Safety
/// `owner` came from `sic_owner_new`; `name` and `new_name` are
/// NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn sic_owner_rename(
    owner: *mut Owner,
    name: *const c_char,
    new_name: *const c_char,
    error_r: *mut SicError,
) -> c_int {
    // SAFETY: guaranteed by the caller.
    unsafe {
        with_owner_name("sic_owner_rename", owner, name, error_r, |owner, name| {
            // SAFETY: guaranteed by the caller.
            let new_name = borrow(new_name).ok_or_else(internal)?;
            owner.rename(name, &new_name)
        })
    }
}

/// Opaque to C: `struct sic_folder`, with the texts last handed out, and
/// the UID ranges the sync begun last needs (first, last, first, last…).
pub struct SicFolder {
    pub(super) folder: Folder,
    pub(super) texts: [Option<CString>; 4],
    pub(super) needed: Vec<u32>,
}

/// `struct sic_folder_state`.
#[repr(C)]
pub struct SicFolderState {
    pub exists: u32,
    pub uidvalidity: u32,
    pub uidnext: u32,
    pub highest_modseq: u64,
}

/// # Safety
/// `owner` came from `sic_owner_new`; `name` is NUL-terminated;
/// `state_r` is writable or null.
#[no_mangle]
pub unsafe extern "C" fn sic_folder_open(
    owner: *mut Owner,
    name: *const c_char,
    read_only: c_int,
    known_uidvalidity: u32,
    known_modseq: u64,
    state_r: *mut SicFolderState,
    error_r: *mut SicError,
) -> *mut SicFolder {
    guarded("sic_folder_open", error_r, std::ptr::null_mut(), || {
        // SAFETY: guaranteed by the caller.
        let (owner, name) = unsafe { (owner.as_ref(), borrow(name)) };
        let (Some(owner), Some(name)) = (owner, name) else {
            return Err(internal());
        };
        let folder = Folder::open(
            owner.clone(),
            &name,
            read_only != 0,
            (known_uidvalidity, known_modseq),
        )?;
        let s = folder.state();
        // SAFETY: guaranteed by the caller.
        if let Some(out) = unsafe { state_r.as_mut() } {
            *out = SicFolderState {
                exists: s.exists,
                uidvalidity: s.uidvalidity,
                uidnext: s.uidnext,
                highest_modseq: s.highest_modseq,
            };
        }
        Ok(Box::into_raw(Box::new(SicFolder {
            folder,
            texts: Default::default(),
            needed: Vec::new(),
        })))
    })
}

/// # Safety
/// `folder` is null or came from `sic_folder_open`, freed once.
#[no_mangle]
pub unsafe extern "C" fn sic_folder_free(folder: *mut SicFolder) {
    free_box("sic_folder_free", folder)
}

/// Reads `count` C strings, or up to a NULL when `count` is `None`.
///
/// # Safety
/// `array` is null or holds that many readable pointers, each null or
/// NUL-terminated.
pub(super) unsafe fn string_array(
    array: *const *const c_char,
    count: Option<usize>,
) -> Vec<Option<String>> {
    let mut out = Vec::new();
    if array.is_null() {
        return out;
    }
    for i in 0.. {
        if count.is_some_and(|n| i >= n) {
            break;
        }
        // SAFETY: within the bounds the caller guarantees.
        let item = unsafe { *array.add(i) };
        if item.is_null() && count.is_none() {
            break;
        }
        // SAFETY: null or NUL-terminated, as guaranteed.
        out.push(unsafe { borrow(item) }.map(|s| s.into_owned()));
    }
    out
}

/// # Safety
/// `folder` came from `sic_folder_open`.
#[no_mangle]
pub unsafe extern "C" fn sic_folder_is_read_only(folder: *const SicFolder) -> c_int {
    ffi_guard("sic_folder_is_read_only", 1, || {
        // SAFETY: guaranteed by the caller.
        unsafe { folder.as_ref() }.map_or(1, |f| c_int::from(f.folder.state().read_only))
    })
}

/// # Safety
/// `folder` came from `sic_folder_open`.
#[no_mangle]
pub unsafe extern "C" fn sic_folder_may_expunge(
    folder: *mut SicFolder,
    error_r: *mut SicError,
) -> c_int {
    guarded("sic_folder_may_expunge", error_r, -1, || {
        // SAFETY: guaranteed by the caller.
        let folder = unsafe { folder.as_mut() }.ok_or_else(internal)?;
        Ok(c_int::from(folder.folder.may_expunge()?))
    })
}
