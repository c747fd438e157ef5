//! The C ABI of the dict engine (see `include/shared_imapc.h`), used by
//! `c-shim/dict.c`, which fills Dovecot's `struct dict_vfuncs` with it.

use std::ffi::{c_char, c_int, c_longlong, c_uint, CString};

use super::{Dict, IterateFlags, Op};
use crate::sys::bindings::dict_iterate_flags as dovecot_flags;
use crate::sys::guard::ffi_guard;
use crate::sys::strings::{borrow, set_error, to_c};

/// Opaque to C: `struct sic_dict`.
pub struct SicDict(Dict);

/// Opaque to C: `struct sic_dict_iter`, the rows of one iteration.
pub struct SicDictIter {
    rows: std::vec::IntoIter<(String, String)>,
    /// The row handed out last; its strings stay valid until the next call.
    current: Option<(CString, CString)>,
}

/// Opaque to C: `struct sic_dict_txn`, changes not yet committed.
#[derive(Default)]
pub struct SicDictTxn(Vec<Op>);

fn owned(text: Option<std::borrow::Cow<'_, str>>) -> String {
    text.map(|t| t.into_owned()).unwrap_or_default()
}

/// # Safety
/// `uri` is NUL-terminated; `error_r` is null or writable.
#[no_mangle]
pub unsafe extern "C" fn sic_dict_open(
    uri: *const c_char,
    error_r: *mut *mut c_char,
) -> *mut SicDict {
    // SAFETY: guaranteed by the caller.
    let uri = owned(unsafe { borrow(uri) });
    match ffi_guard("sic_dict_open", Err("internal error".into()), || {
        Dict::open(&uri).map_err(|e| e.to_string())
    }) {
        Ok(dict) => Box::into_raw(Box::new(SicDict(dict))),
        Err(message) => {
            set_error(error_r, &message);
            std::ptr::null_mut()
        }
    }
}

/// # Safety
/// `dict` is null or came from `sic_dict_open`, freed once.
#[no_mangle]
pub unsafe extern "C" fn sic_dict_free(dict: *mut SicDict) {
    if !dict.is_null() {
        // SAFETY: made by `Box::into_raw` in `sic_dict_open`.
        ffi_guard("sic_dict_free", (), || drop(unsafe { Box::from_raw(dict) }));
    }
}

/// 1 with `*value_r` set, 0 when missing, -1 with `*error_r` set.
///
/// # Safety
/// `dict` came from `sic_dict_open`; strings are NUL-terminated or null;
/// out pointers are writable or null.
#[no_mangle]
pub unsafe extern "C" fn sic_dict_lookup(
    dict: *mut SicDict,
    username: *const c_char,
    key: *const c_char,
    value_r: *mut *mut c_char,
    error_r: *mut *mut c_char,
) -> c_int {
    // SAFETY: guaranteed by the caller.
    let (dict, username, key) = unsafe { (dict.as_mut(), borrow(username), owned(borrow(key))) };
    let Some(dict) = dict else { return -1 };
    let found = ffi_guard("sic_dict_lookup", Err("internal error".into()), || {
        dict.0
            .lookup(username.as_deref(), &key)
            .map_err(|e| e.to_string())
    });
    match found {
        Ok(Some(value)) => {
            if !value_r.is_null() {
                // SAFETY: the caller passes a writable pointer or null.
                unsafe { *value_r = to_c(&value) };
            }
            1
        }
        Ok(None) => 0,
        Err(message) => {
            set_error(error_r, &message);
            -1
        }
    }
}

/// All rows below `path` (flags: Dovecot's `enum dict_iterate_flags`), or
/// NULL with `*error_r` set.
///
/// # Safety
/// As for `sic_dict_lookup`.
#[no_mangle]
pub unsafe extern "C" fn sic_dict_iterate(
    dict: *mut SicDict,
    username: *const c_char,
    path: *const c_char,
    flags: c_uint,
    error_r: *mut *mut c_char,
) -> *mut SicDictIter {
    // SAFETY: guaranteed by the caller.
    let (dict, username, path) = unsafe { (dict.as_mut(), borrow(username), owned(borrow(path))) };
    let Some(dict) = dict else {
        return std::ptr::null_mut();
    };
    let has = |flag: dovecot_flags| flags & flag.0 != 0;
    let flags = IterateFlags {
        recurse: has(dovecot_flags::DICT_ITERATE_FLAG_RECURSE),
        exact_key: has(dovecot_flags::DICT_ITERATE_FLAG_EXACT_KEY),
        sort_by_value: has(dovecot_flags::DICT_ITERATE_FLAG_SORT_BY_VALUE),
        no_value: has(dovecot_flags::DICT_ITERATE_FLAG_NO_VALUE),
    };
    let rows = ffi_guard("sic_dict_iterate", Err("internal error".into()), || {
        dict.0
            .iterate(username.as_deref(), &path, flags)
            .map_err(|e| e.to_string())
    });
    match rows {
        Ok(rows) => Box::into_raw(Box::new(SicDictIter {
            rows: rows.into_iter(),
            current: None,
        })),
        Err(message) => {
            set_error(error_r, &message);
            std::ptr::null_mut()
        }
    }
}

/// The next row: 1 with `*key_r`/`*value_r` valid until the next call, or 0.
///
/// # Safety
/// `iter` came from `sic_dict_iterate`; out pointers are writable.
#[no_mangle]
pub unsafe extern "C" fn sic_dict_iter_next(
    iter: *mut SicDictIter,
    key_r: *mut *const c_char,
    value_r: *mut *const c_char,
) -> c_int {
    // SAFETY: guaranteed by the caller.
    let Some(iter) = (unsafe { iter.as_mut() }) else {
        return 0;
    };
    ffi_guard("sic_dict_iter_next", 0, || {
        let Some((key, value)) = iter.rows.next() else {
            return 0;
        };
        let to_cstring = |s: String| CString::new(s.replace('\0', "")).expect("NULs removed");
        let (key, value) = iter.current.insert((to_cstring(key), to_cstring(value)));
        // SAFETY: the caller passes writable pointers.
        unsafe {
            *key_r = key.as_ptr();
            *value_r = value.as_ptr();
        }
        1
    })
}

/// # Safety
/// `iter` is null or came from `sic_dict_iterate`, freed once.
#[no_mangle]
pub unsafe extern "C" fn sic_dict_iter_free(iter: *mut SicDictIter) {
    if !iter.is_null() {
        // SAFETY: made by `Box::into_raw` in `sic_dict_iterate`.
        ffi_guard("sic_dict_iter_free", (), || {
            drop(unsafe { Box::from_raw(iter) })
        });
    }
}

#[no_mangle]
pub extern "C" fn sic_dict_txn_new() -> *mut SicDictTxn {
    ffi_guard("sic_dict_txn_new", std::ptr::null_mut(), || {
        Box::into_raw(Box::default())
    })
}

/// Adds `op` to the transaction behind `txn` (null is ignored).
fn push(txn: *mut SicDictTxn, entry_point: &str, op: impl FnOnce() -> Op) {
    ffi_guard(entry_point, (), || {
        // SAFETY: every caller documents `txn` as null or from `sic_dict_txn_new`.
        if let Some(txn) = unsafe { txn.as_mut() } {
            txn.0.push(op());
        }
    })
}

/// # Safety
/// `txn` came from `sic_dict_txn_new`; strings are NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn sic_dict_txn_set(
    txn: *mut SicDictTxn,
    key: *const c_char,
    value: *const c_char,
) {
    // SAFETY: guaranteed by the caller.
    push(txn, "sic_dict_txn_set", || unsafe {
        Op::Set(owned(borrow(key)), owned(borrow(value)))
    });
}

/// # Safety
/// As for `sic_dict_txn_set`.
#[no_mangle]
pub unsafe extern "C" fn sic_dict_txn_unset(txn: *mut SicDictTxn, key: *const c_char) {
    // SAFETY: guaranteed by the caller.
    push(txn, "sic_dict_txn_unset", || unsafe {
        Op::Unset(owned(borrow(key)))
    });
}

/// # Safety
/// As for `sic_dict_txn_set`.
#[no_mangle]
pub unsafe extern "C" fn sic_dict_txn_inc(
    txn: *mut SicDictTxn,
    key: *const c_char,
    diff: c_longlong,
) {
    // SAFETY: guaranteed by the caller.
    push(txn, "sic_dict_txn_inc", || unsafe {
        Op::Inc(owned(borrow(key)), diff)
    });
}

/// Commits and frees `txn`: 1 done, 0 done but an atomic_inc found no key,
/// -1 nothing done (`*error_r` set).
///
/// # Safety
/// `dict` came from `sic_dict_open`; `txn` from `sic_dict_txn_new` (it is
/// consumed); strings NUL-terminated or null.
#[no_mangle]
pub unsafe extern "C" fn sic_dict_txn_commit(
    dict: *mut SicDict,
    txn: *mut SicDictTxn,
    username: *const c_char,
    error_r: *mut *mut c_char,
) -> c_int {
    // SAFETY: `txn` was made by `Box::into_raw` in `sic_dict_txn_new`.
    let txn = (!txn.is_null()).then(|| unsafe { Box::from_raw(txn) });
    // SAFETY: guaranteed by the caller.
    let (dict, username) = unsafe { (dict.as_mut(), borrow(username)) };
    let (Some(dict), Some(txn)) = (dict, txn) else {
        return -1;
    };
    let committed = ffi_guard("sic_dict_txn_commit", Err("internal error".into()), || {
        dict.0
            .commit(username.as_deref(), &txn.0)
            .map_err(|e| e.to_string())
    });
    match committed {
        Ok(true) => 1,
        Ok(false) => 0,
        Err(message) => {
            set_error(error_r, &message);
            -1
        }
    }
}

/// # Safety
/// `txn` is null or came from `sic_dict_txn_new`, freed once.
#[no_mangle]
pub unsafe extern "C" fn sic_dict_txn_free(txn: *mut SicDictTxn) {
    if !txn.is_null() {
        // SAFETY: made by `Box::into_raw` in `sic_dict_txn_new`.
        drop(unsafe { Box::from_raw(txn) });
    }
}

/// The next warning the store wants logged, or NULL.
///
/// # Safety
/// `dict` came from `sic_dict_open`.
#[no_mangle]
pub unsafe extern "C" fn sic_dict_take_warning(dict: *mut SicDict) -> *mut c_char {
    // SAFETY: guaranteed by the caller.
    let Some(dict) = (unsafe { dict.as_mut() }) else {
        return std::ptr::null_mut();
    };
    ffi_guard("sic_dict_take_warning", std::ptr::null_mut(), || {
        dict.0
            .next_warning()
            .map_or(std::ptr::null_mut(), |w| to_c(&w))
    })
}
