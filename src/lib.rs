//! shared_imapc: a Dovecot 2.3 plugin that makes shared mailboxes work across
//! a Dovecot cluster.
//!
//! Layout: [`sys`] is the FFI edge (generated bindings, panic guards, the
//! Dovecot log, fcntl locks); [`plugin`] holds the module entry points
//! Dovecot calls; [`imap`] is the IMAP protocol and [`client`] the
//! connections to the remote; [`dict`] is the `shared_dict` engine and its
//! stores; [`storage`] is the `shared_imapc` mail storage, so far its
//! settings and remote sessions. Everything outside `sys` and the thin C ABI
//! adapters (`dict/ffi.rs`, `storage/*_ffi.rs`) is pure Rust.

pub mod client;
pub mod dict;
pub mod imap;
pub mod plugin;
pub mod storage;
pub mod sys;
pub mod tab_escape;
