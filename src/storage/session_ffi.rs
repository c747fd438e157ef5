//! The C ABI of remote sessions (see `include/shared_imapc.h`): open a
//! session for an owner with a user's settings, select a folder.

use std::ffi::{c_char, c_int, c_uint};

use super::remote::{session_spec, MailboxState};
use super::settings_ffi::SicSettings;
use crate::client::session::{RetryPolicy, Session};
use crate::sys::guard::ffi_guard;
use crate::sys::strings::{borrow, set_error};

/// Opaque to C: `struct sic_session`.
pub struct SicSession(Session);

/// `struct sic_mailbox_state` in the header.
#[repr(C)]
pub struct SicMailboxState {
    pub exists: c_uint,
    pub uidvalidity: c_uint,
    pub uidnext: c_uint,
    pub highest_modseq: u64,
    pub read_only: c_int,
}

/// See `sic_session_open`.
///
/// # Safety
/// `set` came from `sic_settings_parse`; strings are NUL-terminated or null;
/// `error_r` is null or writable.
#[no_mangle]
pub unsafe extern "C" fn sic_session_open(
    set: *const SicSettings,
    namespace_prefix: *const c_char,
    owner: *const c_char,
    error_r: *mut *mut c_char,
) -> *mut SicSession {
    let opened = ffi_guard(
        "sic_session_open",
        Err("internal error".to_string()),
        || {
            // SAFETY: guaranteed by the caller.
            let (set, prefix, owner) =
                unsafe { (set.as_ref(), borrow(namespace_prefix), borrow(owner)) };
            let (Some(set), Some(owner)) = (set, owner) else {
                return Err("settings and owner are required".into());
            };
            let endpoint = set.settings().endpoint_for(prefix.as_deref().unwrap_or(""));
            let spec = session_spec(endpoint, &owner, None)?;
            let mut session = Session::new(spec, RetryPolicy::default());
            session.ensure_connected().map_err(|e| e.to_string())?;
            Ok(session)
        },
    );
    match opened {
        Ok(session) => Box::into_raw(Box::new(SicSession(session))),
        Err(message) => {
            set_error(error_r, &message);
            std::ptr::null_mut()
        }
    }
}

/// See `sic_session_select`.
///
/// # Safety
/// `session` came from `sic_session_open`; `mailbox` is NUL-terminated;
/// `state_r` and `error_r` are writable or null.
#[no_mangle]
pub unsafe extern "C" fn sic_session_select(
    session: *mut SicSession,
    mailbox: *const c_char,
    read_only: c_int,
    state_r: *mut SicMailboxState,
    error_r: *mut *mut c_char,
) -> c_int {
    let selected = ffi_guard(
        "sic_session_select",
        Err("internal error".to_string()),
        || {
            // SAFETY: guaranteed by the caller.
            let (session, mailbox) = unsafe { (session.as_mut(), borrow(mailbox)) };
            let (Some(session), Some(mailbox)) = (session, mailbox) else {
                return Err("session and mailbox are required".into());
            };
            let done = session
                .0
                .select(&mailbox, read_only != 0)
                .map_err(|e| e.to_string())?;
            Ok(MailboxState::from_select(&done))
        },
    );
    match selected {
        Ok(state) => {
            // SAFETY: the caller passes a writable pointer or null.
            if let Some(out) = unsafe { state_r.as_mut() } {
                *out = SicMailboxState {
                    exists: state.exists,
                    uidvalidity: state.uidvalidity,
                    uidnext: state.uidnext,
                    highest_modseq: state.highest_modseq,
                    read_only: c_int::from(state.read_only),
                };
            }
            0
        }
        Err(message) => {
            set_error(error_r, &message);
            -1
        }
    }
}

/// See `sic_session_free`.
///
/// # Safety
/// `session` is null or came from `sic_session_open`, freed once.
#[no_mangle]
pub unsafe extern "C" fn sic_session_free(session: *mut SicSession) {
    ffi_guard("sic_session_free", (), || {
        if !session.is_null() {
            // SAFETY: made by `Box::into_raw` in `sic_session_open`.
            drop(unsafe { Box::from_raw(session) });
        }
    })
}
