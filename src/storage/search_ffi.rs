//! The C ABI of searches and THREAD on the owner's server (see
//! `include/shared_imapc.h`): Dovecot's search keys in, the planned
//! remote search and the UIDs it matched out.

use std::ffi::{c_char, c_int, c_uint};

use super::search_plan::{parse_key, Key, Plan};
use super::storage_ffi::{free_box, guarded, internal, string_array, SicError, SicFolder};
use crate::sys::guard::ffi_guard;
use crate::sys::strings::{borrow, to_c};

/// Opaque to C: `struct sic_search`.
pub struct SicSearch {
    plan: Plan,
    uids: Vec<u32>,
}

/// # Safety
/// `folder` came from `sic_folder_open`; `keys` holds `key_count` strings
/// (each NUL-terminated or null); `sort` is null or NULL-terminated.
#[no_mangle]
pub unsafe extern "C" fn sic_folder_search(
    folder: *mut SicFolder,
    keys: *const *const c_char,
    key_count: c_uint,
    sort: *const *const c_char,
    error_r: *mut SicError,
) -> *mut SicSearch {
    guarded("sic_folder_search", error_r, std::ptr::null_mut(), || {
        // SAFETY: guaranteed by the caller.
        let folder = unsafe { folder.as_mut() }.ok_or_else(internal)?;
        // SAFETY: guaranteed by the caller.
        let texts = unsafe { string_array(keys, Some(key_count as usize)) };
        // SAFETY: guaranteed by the caller.
        let sort = (!sort.is_null()).then(|| unsafe { string_array(sort, None) });
        let keys: Vec<Option<Key>> = texts
            .iter()
            .map(|t| t.as_deref().and_then(parse_key))
            .collect();
        let sort = sort.map(|s| s.into_iter().flatten().collect::<Vec<String>>());
        let plan = folder.folder.plan_search(&keys, sort)?;
        let uids = if plan.is_remote() {
            folder.folder.search(&plan, &keys)?
        } else {
            Vec::new()
        };
        Ok(Box::into_raw(Box::new(SicSearch { plan, uids })))
    })
}

fn with_search<T: Clone>(
    search: *const SicSearch,
    fallback: T,
    f: impl FnOnce(&SicSearch) -> T,
) -> T {
    ffi_guard("sic_search", fallback.clone(), || {
        // SAFETY: every caller documents `search` as from `sic_folder_search`.
        unsafe { search.as_ref() }.map_or(fallback, f)
    })
}

/// # Safety
/// `search` came from `sic_folder_search`.
#[no_mangle]
pub unsafe extern "C" fn sic_search_is_remote(search: *const SicSearch) -> c_int {
    with_search(search, 0, |s| c_int::from(s.plan.is_remote()))
}

/// # Safety
/// `search` came from `sic_folder_search`.
#[no_mangle]
pub unsafe extern "C" fn sic_search_is_sorted(search: *const SicSearch) -> c_int {
    with_search(search, 0, |s| c_int::from(s.plan.sort.is_some()))
}

/// # Safety
/// `search` came from `sic_folder_search`.
#[no_mangle]
pub unsafe extern "C" fn sic_search_key_is_remote(
    search: *const SicSearch,
    index: c_uint,
) -> c_int {
    with_search(search, 0, |s| {
        c_int::from(s.plan.remote_keys.contains(&(index as usize)))
    })
}

/// # Safety
/// `search` came from `sic_folder_search`; `count_r` is writable. The
/// UIDs live as long as the search.
#[no_mangle]
pub unsafe extern "C" fn sic_search_uids(
    search: *const SicSearch,
    count_r: *mut c_uint,
) -> *const u32 {
    with_search(search, std::ptr::null(), |s| {
        // SAFETY: guaranteed by the caller.
        if let Some(out) = unsafe { count_r.as_mut() } {
            *out = s.uids.len() as c_uint;
        }
        s.uids.as_ptr()
    })
}

/// # Safety
/// `search` is null or came from `sic_folder_search`, freed once.
#[no_mangle]
pub unsafe extern "C" fn sic_search_free(search: *mut SicSearch) {
    free_box("sic_search_free", search)
}

/// # Safety
/// `folder` came from `sic_folder_open`; strings are NUL-terminated; `keys`
/// holds `key_count` strings (each null or NUL-terminated); `local_uids` is
/// null or holds `uid_count` ascending UIDs; `fallback_r` is writable.
#[no_mangle]
pub unsafe extern "C" fn sic_folder_thread(
    folder: *mut SicFolder,
    algorithm: *const c_char,
    keys: *const *const c_char,
    key_count: c_uint,
    local_uids: *const u32,
    uid_count: c_uint,
    fallback_r: *mut c_int,
    error_r: *mut SicError,
) -> *mut c_char {
    guarded("sic_folder_thread", error_r, std::ptr::null_mut(), || {
        // SAFETY: guaranteed by the caller.
        let (folder, algorithm) = unsafe { (folder.as_mut(), borrow(algorithm)) };
        let (Some(folder), Some(algorithm)) = (folder, algorithm) else {
            return Err(internal());
        };
        // SAFETY: guaranteed by the caller.
        let texts = unsafe { string_array(keys, Some(key_count as usize)) };
        let keys: Vec<Option<Key>> = texts
            .iter()
            .map(|t| t.as_deref().and_then(parse_key))
            .collect();
        let uids = (!local_uids.is_null()).then(|| {
            // SAFETY: the caller passes `uid_count` readable UIDs.
            unsafe { std::slice::from_raw_parts(local_uids, uid_count as usize) }
        });
        let answer = folder.folder.thread(&algorithm, &keys, uids)?;
        // SAFETY: guaranteed by the caller.
        if let Some(out) = unsafe { fallback_r.as_mut() } {
            *out = c_int::from(answer.is_none());
        }
        Ok(answer.map_or(std::ptr::null_mut(), |text| to_c(&text)))
    })
}
