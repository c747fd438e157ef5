//! Strings across the C boundary: borrowed C strings in, owned ones out
//! (freed by `sic_string_free`).

use std::ffi::{c_char, CStr, CString};

/// Borrows a C string as UTF-8 (lossily: Dovecot settings are UTF-8).
///
/// # Safety
/// `ptr` must be null or a NUL-terminated string valid for `'a`.
pub unsafe fn borrow<'a>(ptr: *const c_char) -> Option<std::borrow::Cow<'a, str>> {
    // SAFETY: guaranteed by the caller.
    (!ptr.is_null()).then(|| unsafe { CStr::from_ptr(ptr) }.to_string_lossy())
}

/// Hands a string to C; the C side frees it with `sic_string_free`.
pub fn to_c(text: &str) -> *mut c_char {
    CString::new(text.replace('\0', "\\0"))
        .expect("NULs were replaced")
        .into_raw()
}

/// Stores `message` in a C `char **error_r` (when the caller gave one).
pub(crate) fn set_error(error_r: *mut *mut c_char, message: &str) {
    if !error_r.is_null() {
        // SAFETY: every C ABI function documents `error_r` as null or
        // writable, and callers free the string with `sic_string_free`.
        unsafe { *error_r = to_c(message) };
    }
}

/// Frees a string made by [`to_c`].
///
/// # Safety
/// `text` is null or a string this library returned, not yet freed.
#[no_mangle]
pub unsafe extern "C" fn sic_string_free(text: *mut c_char) {
    if text.is_null() {
        return;
    }
    // SAFETY: non-null strings given to C by this library come from
    // `CString::into_raw` in `to_c`, and C frees each one once.
    drop(unsafe { CString::from_raw(text) });
}
