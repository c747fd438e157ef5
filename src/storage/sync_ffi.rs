//! The C ABI of syncing a folder's local index with the owner's server
//! (see `include/shared_imapc.h`): what to ask and when, the plan of
//! changes made against the index, and the changes one by one.

use std::ffi::{c_char, c_int, c_uint, CString};

use super::folder::SyncResult;
use super::storage_ffi::{free_box, guarded, internal, string_array, SicError, SicFolder};
use super::sync_plan::{Change, Flags, Local, Needed};
use crate::sys::guard::ffi_guard;

/// `struct sic_local_index`: the index as the sync's plan sees it, read
/// under the index's sync lock.
#[repr(C)]
pub struct SicLocalIndex {
    pub uidvalidity: u32,
    pub last_uid: u32,
    pub highest_modseq: u64,
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

/// The names as C strings (a name with a NUL in it is left out).
fn c_strings(names: &[String]) -> Vec<CString> {
    names
        .iter()
        .filter_map(|k| CString::new(k.as_str()).ok())
        .collect()
}

impl SicSync {
    /// The plan with NULL-terminated C arrays of each change's keywords.
    fn new(result: SyncResult) -> SicSync {
        let keywords: Vec<Vec<CString>> = result
            .changes
            .iter()
            .map(|c| match c {
                Change::SetFlags(_, f) | Change::Append(_, f) => c_strings(&f.keywords),
                Change::Keywords(keywords) => c_strings(keywords),
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
        Ok(c_int::from(
            folder.folder.has_news(quick != 0, command_began)?,
        ))
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
const CHANGE_KEYWORDS: c_int = 4;

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
            Change::Keywords(_) => SicChange {
                kind: CHANGE_KEYWORDS,
                uid: 0,
                flags: 0,
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
