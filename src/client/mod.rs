//! Connections to the remote IMAP server: TCP with timeouts, pipelined
//! commands with responses routed back to them, and master-user login.
//! Pure Rust: nothing here calls Dovecot.

pub mod connection;
pub mod error;
pub mod login;
pub mod tls;
