//! The C ABI of a folder's messages (see `include/shared_imapc.h`): their
//! data from the owner's server, and the user's changes passed on there
//! (flags, expunges, copies, new messages).

use std::ffi::{c_char, c_int, c_uint, CString};
use std::os::fd::AsRawFd;

use super::fetch_items::MessageData;
use super::folder::FlagChange;
use super::storage_ffi::{guarded, internal, string_array, SicError, SicFolder};
use super::sync_plan::Flags;
use crate::imap::framer::Literal;
use crate::imap::sequence::SequenceSet;
use crate::sys::guard::ffi_guard;
use crate::sys::strings::borrow;

/// `struct sic_saved`: where the owner's server saved a message.
#[repr(C)]
pub struct SicSaved {
    pub uidvalidity: u32,
    pub uid: u32,
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
    with_flags: c_int,
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
        folder.folder.store(&changes, with_flags != 0)?;
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
