//! The `shared_imapc` mail storage core: settings, per-user accounts and
//! owners, open folders, and the pure decisions between Dovecot's index and
//! the remote (names, sync plans, fetch items, search plans). The C ABI is in the `*_ffi`
//! modules; the Dovecot side lives in `c-shim/`.

pub mod account;
pub mod error;
pub mod fetch_items;
pub mod folder;
mod idle_ffi;
pub mod list_cache;
pub mod manage;
mod message_ffi;
pub mod names;
pub mod owner_commands;
mod owner_ffi;
pub mod remote;
mod search_ffi;
pub mod search_plan;
pub mod settings;
mod settings_ffi;
mod storage_ffi;
mod sync_ffi;
pub mod sync_plan;
