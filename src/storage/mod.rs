//! The `shared_imapc` mail storage. For now: its settings (read and checked
//! when Dovecot creates a user) and remote sessions opened from them.

pub mod remote;
mod session_ffi;
pub mod settings;
mod settings_ffi;
