//! Connections to the remote IMAP server: TCP and TLS with timeouts,
//! pipelined commands with responses routed back to them, master-user
//! login, sessions that reconnect, and the per-user pool.
//! Pure Rust: nothing here calls Dovecot.

pub mod connection;
pub mod error;
pub mod login;
pub mod pool;
pub mod session;
pub mod tls;
