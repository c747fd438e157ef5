//! shared_imapc: a Dovecot 2.3 plugin that makes shared mailboxes work across
//! a Dovecot cluster.
//!
//! Layout: [`sys`] is the FFI edge (generated bindings, panic guards, the
//! Dovecot log); [`plugin`] holds the module entry points Dovecot calls;
//! [`imap`] is the IMAP protocol and [`client`] the connections to the
//! remote (both pure Rust); [`dict`] is the `shared_dict` engine;
//! [`storage`] is the
//! `shared_imapc` mail storage, starting with its settings.
//! Everything outside `sys` and the thin `*_ffi` adapters is pure Rust.

pub mod client;
pub mod dict;
pub mod imap;
pub mod plugin;
pub mod storage;
pub mod sys;
