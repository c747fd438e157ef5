//! The C ABI of [`settings`](super::settings) (see `include/shared_imapc.h`):
//! a thin adapter that converts C strings and guards every call.

use std::ffi::{c_char, c_uint};

use super::settings::Settings;
use crate::sys::guard::ffi_guard;
use crate::sys::strings::{borrow, set_error, to_c};

/// Opaque to C: `struct sic_settings`.
pub struct SicSettings(Settings);

impl SicSettings {
    pub fn settings(&self) -> &Settings {
        &self.0
    }
}

/// See `sic_settings_parse` in `include/shared_imapc.h`.
///
/// # Safety
/// `keys` and `values` point to `count` NUL-terminated strings each (or are
/// null when `count` is 0); `error_r` is null or writable.
#[no_mangle]
pub unsafe extern "C" fn sic_settings_parse(
    keys: *const *const c_char,
    values: *const *const c_char,
    count: c_uint,
    error_r: *mut *mut c_char,
) -> *mut SicSettings {
    let parsed = ffi_guard(
        "sic_settings_parse",
        Err("internal error while parsing settings".into()),
        || {
            let pairs: Vec<(String, String)> = (0..count as usize)
                .map(|i| {
                    // SAFETY: the caller guarantees `count` valid entries.
                    let (k, v) = unsafe { (*keys.add(i), *values.add(i)) };
                    // SAFETY: each entry is a NUL-terminated string.
                    let (k, v) = unsafe { (borrow(k), borrow(v)) };
                    (
                        k.unwrap_or_default().into_owned(),
                        v.unwrap_or_default().into_owned(),
                    )
                })
                .collect();
            Settings::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .map_err(|e| e.to_string())
        },
    );
    match parsed {
        Ok(settings) => Box::into_raw(Box::new(SicSettings(settings))),
        Err(message) => {
            set_error(error_r, &message);
            std::ptr::null_mut()
        }
    }
}

/// See `sic_settings_describe`.
///
/// # Safety
/// `set` is null or came from `sic_settings_parse` and is not yet freed.
#[no_mangle]
pub unsafe extern "C" fn sic_settings_describe(set: *const SicSettings) -> *mut c_char {
    ffi_guard("sic_settings_describe", std::ptr::null_mut(), || {
        // SAFETY: guaranteed by the caller.
        unsafe { set.as_ref() }.map_or(std::ptr::null_mut(), |s| to_c(&s.0.describe()))
    })
}

/// See `sic_settings_group_for`.
///
/// # Safety
/// `set` as for `sic_settings_describe`; `prefix` null or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn sic_settings_group_for(
    set: *const SicSettings,
    prefix: *const c_char,
) -> c_uint {
    ffi_guard("sic_settings_group_for", 0, || {
        // SAFETY: guaranteed by the caller.
        let (set, prefix) = unsafe { (set.as_ref(), borrow(prefix)) };
        match (set, prefix) {
            (Some(s), Some(p)) => s.0.group_for(&p).map_or(0, |g| g.number),
            _ => 0,
        }
    })
}

/// See `sic_settings_free`.
///
/// # Safety
/// `set` is null or came from `sic_settings_parse`, freed only once.
#[no_mangle]
pub unsafe extern "C" fn sic_settings_free(set: *mut SicSettings) {
    ffi_guard("sic_settings_free", (), || {
        if !set.is_null() {
            // SAFETY: made by `Box::into_raw` in `sic_settings_parse`.
            drop(unsafe { Box::from_raw(set) });
        }
    })
}
