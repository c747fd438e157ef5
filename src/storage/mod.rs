//! The `shared_imapc` mail storage. For now: its settings, read and checked
//! when Dovecot creates a user.

pub mod settings;
mod settings_ffi;
