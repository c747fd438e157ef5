//! The C ABI of the storage core (see `include/shared_imapc.h`): accounts,
//! owners, folder lists, folders, sync plans and message data. Every entry
//! point runs in `ffi_guard`; handles are boxes owned by the C side.

use std::ffi::{c_char, c_int, c_uint, CString};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use super::account::{Account, FolderStatus, Owner};
use super::error::{ErrorKind, StorageError};
use super::fetch_items::MessageData;
use super::folder::{FlagChange, Folder, SyncResult};
use super::list_cache;
use super::names::ListedFolder;
use super::settings_ffi::SicSettings;
use super::sync_plan::{Change, Flags, Local, Needed};
use crate::imap::framer::Literal;
use crate::imap::sequence::SequenceSet;
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
    texts: [Option<CString>; 4],
    needed: Vec<u32>,
}

/// `struct sic_saved`: where the owner's server saved a message.
#[repr(C)]
pub struct SicSaved {
    pub uidvalidity: u32,
    pub uid: u32,
}

/// `struct sic_local_index`: the index as the sync's plan sees it, read
/// under the index's sync lock.
#[repr(C)]
pub struct SicLocalIndex {
    pub uidvalidity: u32,
    pub last_uid: u32,
    pub highest_modseq: u64,
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

/// Opaque to C: `struct sic_sync`, a sync plan with C views of its changes.
pub struct SicSync {
    result: SyncResult,
    /// Owns the strings `keyword_ptrs` point into.
    _keywords: Vec<Vec<CString>>,
    keyword_ptrs: Vec<Vec<*const c_char>>,
}

/// `struct sic_change`.
#[repr(C)]
pub struct SicChange {
    pub kind: c_int,
    pub uid: u32,
    pub flags: u8,
    /// NULL-terminated; lives as long as the plan.
    pub keywords: *const *const c_char,
}

/// # Safety
/// `folder` came from `sic_folder_open`; `ranges_r` and `count_r` are
/// writable. `quick`: ask the remote nothing new (see `Folder::begin_sync`).
#[no_mangle]
pub unsafe extern "C" fn sic_folder_sync_begin(
    folder: *mut SicFolder,
    local_uidvalidity: u32,
    local_last_uid: u32,
    quick: c_int,
    index_asked_at: u64,
    ranges_r: *mut *const u32,
    count_r: *mut c_uint,
    error_r: *mut SicError,
) -> c_int {
    guarded("sic_folder_sync_begin", error_r, -1, || {
        // SAFETY: guaranteed by the caller.
        let folder = unsafe { folder.as_mut() }.ok_or_else(internal)?;
        let needed = folder.folder.begin_sync(
            local_uidvalidity,
            local_last_uid,
            quick != 0,
            index_asked_at,
        )?;
        let Needed::Only(uids) = needed else {
            return Ok(0);
        };
        folder.needed = uids.0.iter().flat_map(|&(low, high)| [low, high]).collect();
        // SAFETY: guaranteed by the caller.
        unsafe {
            ranges_r.write(folder.needed.as_ptr());
            count_r.write(uids.0.len() as c_uint);
        }
        Ok(1)
    })
}

/// # Safety
/// `folder` came from `sic_folder_open` and began a sync; `index` is
/// readable; `uids`, `flags` and `keywords` hold `count` entries
/// (ascending UIDs; keywords space-separated or null).
#[no_mangle]
pub unsafe extern "C" fn sic_folder_sync_plan(
    folder: *mut SicFolder,
    index: *const SicLocalIndex,
    uids: *const u32,
    flags: *const u8,
    keywords: *const *const c_char,
    count: c_uint,
    error_r: *mut SicError,
) -> *mut SicSync {
    guarded(
        "sic_folder_sync_plan",
        error_r,
        std::ptr::null_mut(),
        || {
            // SAFETY: guaranteed by the caller.
            let (folder, index) = unsafe { (folder.as_mut(), index.as_ref()) };
            let (Some(folder), Some(index)) = (folder, index) else {
                return Err(internal());
            };
            let mut local = Local {
                uidvalidity: index.uidvalidity,
                last_uid: index.last_uid,
                modseq: index.highest_modseq,
                ..Local::default()
            };
            // SAFETY: guaranteed by the caller.
            (local.uids, local.flags) = unsafe { local_messages(uids, flags, keywords, count) };
            folder.needed.clear();
            let result = folder.folder.finish_sync(&local)?;
            Ok(Box::into_raw(Box::new(SicSync::new(result))))
        },
    )
}

/// The local messages C handed over: UIDs and their flags.
///
/// # Safety
/// `uids`, `flags` and `keywords` are null or hold `count` entries each.
unsafe fn local_messages(
    uids: *const u32,
    flags: *const u8,
    keywords: *const *const c_char,
    count: c_uint,
) -> (Vec<u32>, Vec<Flags>) {
    let n = count as usize;
    if n == 0 || uids.is_null() || flags.is_null() {
        return (Vec::new(), Vec::new());
    }
    // SAFETY: the caller passes `count` readable entries each.
    let (uids, flags) = unsafe {
        (
            std::slice::from_raw_parts(uids, n),
            std::slice::from_raw_parts(flags, n),
        )
    };
    // SAFETY: as above.
    let keywords = unsafe { string_array(keywords, Some(n)) };
    let flags = flags
        .iter()
        .enumerate()
        .map(|(i, &system)| Flags {
            system,
            keywords: keywords
                .get(i)
                .and_then(Option::as_deref)
                .map(|k| k.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default(),
        })
        .collect();
    (uids.to_vec(), flags)
}

impl SicSync {
    /// The plan with NULL-terminated C arrays of each change's keywords.
    fn new(result: SyncResult) -> SicSync {
        let keywords: Vec<Vec<CString>> = result
            .changes
            .iter()
            .map(|c| match c {
                Change::SetFlags(_, f) | Change::Append(_, f) => f
                    .keywords
                    .iter()
                    .filter_map(|k| CString::new(k.as_str()).ok())
                    .collect(),
                _ => Vec::new(),
            })
            .collect();
        let keyword_ptrs = keywords
            .iter()
            .map(|list| {
                let mut ptrs: Vec<*const c_char> = list.iter().map(|k| k.as_ptr()).collect();
                ptrs.push(std::ptr::null());
                ptrs
            })
            .collect();
        SicSync {
            result,
            _keywords: keywords,
            keyword_ptrs,
        }
    }
}

/// # Safety
/// `folder` came from `sic_folder_open`.
#[no_mangle]
pub unsafe extern "C" fn sic_folder_ask_ahead(
    folder: *mut SicFolder,
    local_last_uid: u32,
    index_asked_at: u64,
    error_r: *mut SicError,
) -> c_int {
    guarded("sic_folder_ask_ahead", error_r, -1, || {
        // SAFETY: guaranteed by the caller.
        let folder = unsafe { folder.as_mut() }.ok_or_else(internal)?;
        folder.folder.ask_ahead(local_last_uid, index_asked_at)?;
        Ok(0)
    })
}

/// When the client's IMAP command now running began (µs since the epoch),
/// as the imap module told (`sic_imap_command_started`); 0: unknown.
static IMAP_COMMAND_STARTED: AtomicU64 = AtomicU64::new(0);

/// Called by the imap module as each client command runs: when it began
/// (`0` for one whose syncs come long after, IDLE).
#[no_mangle]
pub extern "C" fn sic_imap_command_started(began: u64) {
    IMAP_COMMAND_STARTED.store(began, Ordering::Relaxed);
}

/// # Safety
/// `folder` came from `sic_folder_open`.
#[no_mangle]
pub unsafe extern "C" fn sic_folder_has_news(
    folder: *mut SicFolder,
    quick: c_int,
    command_began: u64,
    error_r: *mut SicError,
) -> c_int {
    guarded("sic_folder_has_news", error_r, -1, || {
        // SAFETY: guaranteed by the caller.
        let folder = unsafe { folder.as_mut() }.ok_or_else(internal)?;
        // The imap process's ioloop time may have moved on since the
        // command began (an APPEND's sync runs in a later wakeup than its
        // save): the command's own start is the earlier one.
        let began = match IMAP_COMMAND_STARTED.load(Ordering::Relaxed) {
            0 => command_began,
            started => started.min(command_began),
        };
        Ok(c_int::from(folder.folder.has_news(quick != 0, began)?))
    })
}

/// # Safety
/// `sync` came from `sic_folder_sync_plan`; the out pointers are writable.
#[no_mangle]
pub unsafe extern "C" fn sic_sync_info(sync: *const SicSync, info_r: *mut SicSyncInfo) {
    ffi_guard("sic_sync_info", (), || {
        // SAFETY: guaranteed by the caller.
        let (Some(sync), Some(info)) = (unsafe { sync.as_ref() }, unsafe { info_r.as_mut() })
        else {
            return;
        };
        *info = SicSyncInfo {
            uidvalidity: sync.result.uidvalidity,
            uidnext: sync.result.uidnext,
            highest_modseq: sync.result.highest_modseq,
            asked_at: sync.result.asked_at,
            change_count: sync.result.changes.len() as c_uint,
        };
    })
}

/// `struct sic_sync_info`.
#[repr(C)]
pub struct SicSyncInfo {
    pub uidvalidity: u32,
    pub uidnext: u32,
    pub highest_modseq: u64,
    pub asked_at: u64,
    pub change_count: c_uint,
}

/// Change kinds (`SIC_CHANGE_*`).
const CHANGE_RESET: c_int = 0;
const CHANGE_EXPUNGE: c_int = 1;
const CHANGE_FLAGS: c_int = 2;
const CHANGE_APPEND: c_int = 3;

/// # Safety
/// `sync` came from `sic_folder_sync_plan`; `change_r` is writable.
#[no_mangle]
pub unsafe extern "C" fn sic_sync_get(
    sync: *const SicSync,
    index: c_uint,
    change_r: *mut SicChange,
) -> c_int {
    ffi_guard("sic_sync_get", -1, || {
        // SAFETY: guaranteed by the caller.
        let (Some(sync), Some(out)) = (unsafe { sync.as_ref() }, unsafe { change_r.as_mut() })
        else {
            return -1;
        };
        let i = index as usize;
        let Some(change) = sync.result.changes.get(i) else {
            return -1;
        };
        let keywords = sync.keyword_ptrs[i].as_ptr();
        *out = match change {
            Change::Reset => SicChange {
                kind: CHANGE_RESET,
                uid: 0,
                flags: 0,
                keywords,
            },
            Change::Expunge(uid) => SicChange {
                kind: CHANGE_EXPUNGE,
                uid: *uid,
                flags: 0,
                keywords,
            },
            Change::SetFlags(uid, f) => SicChange {
                kind: CHANGE_FLAGS,
                uid: *uid,
                flags: f.system,
                keywords,
            },
            Change::Append(uid, f) => SicChange {
                kind: CHANGE_APPEND,
                uid: *uid,
                flags: f.system,
                keywords,
            },
        };
        0
    })
}

/// # Safety
/// `sync` is null or came from `sic_folder_sync_plan`, freed once.
#[no_mangle]
pub unsafe extern "C" fn sic_sync_free(sync: *mut SicSync) {
    free_box("sic_sync_free", sync)
}

/// # Safety
/// `folder` came from `sic_folder_open`; `uids` holds `count` UIDs.
#[no_mangle]
pub unsafe extern "C" fn sic_folder_prefetch(
    folder: *mut SicFolder,
    uids: *const u32,
    count: c_uint,
    wanted: u32,
    error_r: *mut SicError,
) -> c_int {
    guarded("sic_folder_prefetch", error_r, -1, || {
        // SAFETY: guaranteed by the caller.
        let folder = unsafe { folder.as_mut() }.ok_or_else(internal)?;
        if uids.is_null() || count == 0 {
            return Ok(0);
        }
        // SAFETY: the caller passes `count` readable UIDs.
        let uids = unsafe { std::slice::from_raw_parts(uids, count as usize) };
        folder.folder.prefetch(uids, wanted)?;
        Ok(0)
    })
}

/// `struct sic_message`.
#[repr(C)]
pub struct SicMessage {
    pub has_internaldate: c_int,
    pub internaldate: i64,
    pub timezone_minutes: c_int,
    pub has_size: c_int,
    pub size: u64,
    pub envelope: *const c_char,
    pub bodystructure: *const c_char,
    pub body: *const c_char,
    pub guid: *const c_char,
    /// The whole message (or its header alone, see `header_only`): in
    /// memory (`data`, `data_size`) or in a file (`fd` >= 0, the caller's
    /// to close); `fd` is -1 otherwise.
    pub data: *const u8,
    pub data_size: usize,
    pub fd: c_int,
    /// Nonzero when `data`/`fd` hold the header alone (`BODY[HEADER]`).
    pub header_only: c_int,
}

/// # Safety
/// `folder` came from `sic_folder_open`; `message_r` is writable. Strings
/// and data live until the next call on the folder.
#[no_mangle]
pub unsafe extern "C" fn sic_folder_message(
    folder: *mut SicFolder,
    uid: u32,
    wanted: u32,
    message_r: *mut SicMessage,
    error_r: *mut SicError,
) -> c_int {
    guarded("sic_folder_message", error_r, -1, || {
        // SAFETY: guaranteed by the caller.
        let (Some(handle), Some(out)) = (unsafe { folder.as_mut() }, unsafe { message_r.as_mut() })
        else {
            return Err(internal());
        };
        let Some(data) = handle.folder.message(uid, wanted)? else {
            return Ok(0);
        };
        handle.texts = [
            data.envelope.as_deref(),
            data.bodystructure.as_deref(),
            data.body.as_deref(),
            data.guid.as_deref().map(str::as_bytes),
        ]
        .map(|t| t.and_then(|s| CString::new(s).ok()));
        *out = describe(data, &handle.texts);
        Ok(1)
    })
}

fn describe(data: &MessageData, texts: &[Option<CString>; 4]) -> SicMessage {
    let text = |i: usize| texts[i].as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
    let (date, zone) = data.internaldate.unwrap_or((0, 0));
    let mut message = SicMessage {
        has_internaldate: c_int::from(data.internaldate.is_some()),
        internaldate: date,
        timezone_minutes: zone,
        has_size: c_int::from(data.size.is_some()),
        size: data.size.unwrap_or(0),
        envelope: text(0),
        bodystructure: text(1),
        body: text(2),
        guid: text(3),
        data: std::ptr::null(),
        data_size: 0,
        fd: -1,
        header_only: 0,
    };
    message.header_only = c_int::from(data.message.is_none() && data.header.is_some());
    match data.message.as_ref().or(data.header.as_ref()) {
        Some(Literal::Memory(bytes)) => {
            message.data = bytes.as_ptr();
            message.data_size = bytes.len();
        }
        Some(Literal::File { file, .. }) => {
            // SAFETY: dup() of an fd this process owns; the copy is the caller's.
            message.fd = unsafe { libc::dup(file.as_raw_fd()) };
        }
        None => {}
    }
    message
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

/// `struct sic_flag_change`.
#[repr(C)]
pub struct SicFlagChange {
    pub uid1: u32,
    pub uid2: u32,
    pub add: c_int,
    pub flags: u8,
    /// A keyword's name, or NULL.
    pub keyword: *const c_char,
}

/// # Safety
/// `folder` came from `sic_folder_open`; `changes` holds `count` changes
/// whose `keyword` is NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn sic_folder_store(
    folder: *mut SicFolder,
    changes: *const SicFlagChange,
    count: c_uint,
    error_r: *mut SicError,
) -> c_int {
    guarded("sic_folder_store", error_r, -1, || {
        // SAFETY: guaranteed by the caller.
        let folder = unsafe { folder.as_mut() }.ok_or_else(internal)?;
        let changes = if count == 0 || changes.is_null() {
            &[][..]
        } else {
            // SAFETY: guaranteed by the caller.
            unsafe { std::slice::from_raw_parts(changes, count as usize) }
        };
        let changes: Vec<FlagChange> = changes
            .iter()
            .map(|c| FlagChange {
                uids: SequenceSet(vec![(c.uid1.min(c.uid2), c.uid1.max(c.uid2))]),
                add: c.add != 0,
                flags: Flags {
                    system: c.flags,
                    // SAFETY: guaranteed by the caller.
                    keywords: unsafe { borrow(c.keyword) }
                        .map(|k| k.into_owned())
                        .into_iter()
                        .collect(),
                },
            })
            .collect();
        folder.folder.store(&changes)?;
        Ok(0)
    })
}

/// # Safety
/// `folder` came from `sic_folder_open`.
#[no_mangle]
pub unsafe extern "C" fn sic_folder_expunge(
    folder: *mut SicFolder,
    uid1: u32,
    uid2: u32,
    error_r: *mut SicError,
) -> c_int {
    guarded("sic_folder_expunge", error_r, -1, || {
        // SAFETY: guaranteed by the caller.
        let folder = unsafe { folder.as_mut() }.ok_or_else(internal)?;
        folder
            .folder
            .expunge(&SequenceSet(vec![(uid1.min(uid2), uid1.max(uid2))]))?;
        Ok(0)
    })
}

/// # Safety
/// `folder` came from `sic_folder_open`.
#[no_mangle]
pub unsafe extern "C" fn sic_folder_accepts_changes(
    folder: *const SicFolder,
    index_uidvalidity: u32,
) -> c_int {
    ffi_guard("sic_folder_accepts_changes", 0, || {
        // SAFETY: guaranteed by the caller.
        unsafe { folder.as_ref() }.map_or(0, |f| {
            c_int::from(f.folder.accepts_changes_from(index_uidvalidity))
        })
    })
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

/// # Safety
/// `folder` came from `sic_folder_open`; `destination` is a C string;
/// `uids` and `dest_uids_r` hold `count` numbers; `uidvalidity_r` is
/// writable.
#[no_mangle]
pub unsafe extern "C" fn sic_folder_copy(
    folder: *mut SicFolder,
    destination: *const c_char,
    uids: *const u32,
    count: c_uint,
    moving: c_int,
    uidvalidity_r: *mut u32,
    dest_uids_r: *mut u32,
    error_r: *mut SicError,
) -> c_int {
    guarded("sic_folder_copy", error_r, -1, || {
        if uids.is_null() || dest_uids_r.is_null() || uidvalidity_r.is_null() {
            return Err(internal());
        }
        // SAFETY: guaranteed by the caller.
        let (folder, destination) = unsafe { (folder.as_mut(), borrow(destination)) };
        let (Some(folder), Some(destination)) = (folder, destination) else {
            return Err(internal());
        };
        // SAFETY: the caller passes `count` readable and writable numbers.
        let (uids, dest_uids) = unsafe {
            (
                std::slice::from_raw_parts(uids, count as usize),
                std::slice::from_raw_parts_mut(dest_uids_r, count as usize),
            )
        };
        let copied = folder.folder.copy_to(uids, &destination, moving != 0)?;
        let (uidvalidity, copied) = copied.unwrap_or_default();
        dest_uids.fill(0);
        dest_uids[..copied.len()].copy_from_slice(&copied);
        // SAFETY: checked non-null above; writable by the caller's word.
        unsafe { uidvalidity_r.write(uidvalidity) };
        Ok(0)
    })
}

/// # Safety
/// `folder` came from `sic_folder_open`; `data` holds `size` bytes;
/// `keywords` is null or NULL-terminated.
#[no_mangle]
pub unsafe extern "C" fn sic_folder_append(
    folder: *mut SicFolder,
    data: *const u8,
    size: usize,
    flags: u8,
    keywords: *const *const c_char,
    has_internaldate: c_int,
    internaldate: i64,
    timezone_minutes: c_int,
    saved_r: *mut SicSaved,
    error_r: *mut SicError,
) -> c_int {
    guarded("sic_folder_append", error_r, -1, || {
        // SAFETY: guaranteed by the caller.
        let folder = unsafe { folder.as_mut() }.ok_or_else(internal)?;
        let message = if data.is_null() {
            &[][..]
        } else {
            // SAFETY: the caller passes `size` readable bytes.
            unsafe { std::slice::from_raw_parts(data, size) }
        };
        // SAFETY: guaranteed by the caller.
        let keywords = unsafe { string_array(keywords, None) }
            .into_iter()
            .flatten()
            .collect();
        let flags = Flags {
            system: flags,
            keywords,
        };
        let date = (has_internaldate != 0).then_some((internaldate, timezone_minutes));
        let (uidvalidity, uid) = folder
            .folder
            .append(message, &flags, date)?
            .unwrap_or((0, 0));
        // SAFETY: guaranteed by the caller.
        if let Some(out) = unsafe { saved_r.as_mut() } {
            *out = SicSaved { uidvalidity, uid };
        }
        Ok(0)
    })
}
