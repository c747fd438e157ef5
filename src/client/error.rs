//! What can go wrong talking to the remote, told apart so the storage can
//! answer the IMAP client with the right `NO [...]`.

use std::fmt;
use std::time::Duration;

use crate::imap::command::EncodeError;
use crate::imap::response::{Code, Status};

/// A failed remote operation. Never carries a password.
#[derive(Debug)]
pub enum ClientError {
    /// No TCP connection could be made to any address of the host.
    Connect { target: String, reason: String },
    /// The TLS handshake or certificate check failed.
    Tls { target: String, reason: String },
    /// The server refused the master-user login.
    AuthFailed {
        owner: String,
        master: String,
        reason: String,
    },
    /// A login as the owner with the owner as master user was asked for;
    /// it is never attempted.
    SelfMaster { user: String },
    /// The server sent something that is not IMAP, or exceeded a limit.
    Protocol(String),
    /// The server did not answer in time.
    Timeout {
        waiting_for: String,
        after: Duration,
    },
    /// The connection is gone (BYE, EOF, or an earlier error broke it).
    Closed(String),
    /// The server answered the command with `NO` or `BAD`.
    Rejected {
        command: &'static str,
        status: Status,
        code: Option<Code>,
        text: String,
    },
    /// The command could not be encoded (e.g. NUL in a string).
    Encode(EncodeError),
}

impl ClientError {
    /// Whether the login itself was refused (or never attempted): another
    /// try, or another address of the same cluster, would be refused too.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            ClientError::AuthFailed { .. } | ClientError::SelfMaster { .. }
        )
    }

    /// Whether the command may go again on a new connection: this one
    /// broke, and not by a timeout (the user is waiting already).
    pub fn may_retry(&self) -> bool {
        self.breaks_connection() && !matches!(self, ClientError::Timeout { .. })
    }

    /// Whether the connection cannot be used any more.
    pub fn breaks_connection(&self) -> bool {
        !matches!(self, ClientError::Rejected { .. } | ClientError::Encode(_))
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Connect { target, reason } => {
                write!(f, "cannot connect to {target}: {reason}")
            }
            ClientError::Tls { target, reason } => write!(f, "TLS with {target} failed: {reason}"),
            ClientError::AuthFailed {
                owner,
                master,
                reason,
            } => {
                write!(
                    f,
                    "login as {owner} with master user {master} refused: {reason}"
                )
            }
            ClientError::SelfMaster { user } => {
                write!(f, "refusing to log in as {user} with {user} as master user")
            }
            ClientError::Protocol(reason) => write!(f, "protocol error: {reason}"),
            ClientError::Timeout { waiting_for, after } => {
                write!(
                    f,
                    "timed out after {}s waiting for {waiting_for}",
                    after.as_secs_f32()
                )
            }
            ClientError::Closed(reason) => write!(f, "connection closed: {reason}"),
            ClientError::Rejected {
                command,
                status,
                code,
                text,
            } => {
                write!(f, "{command} failed: {status:?}")?;
                if let Some(code) = code {
                    write!(f, " [{code:?}]")?;
                }
                write!(f, " {text}")
            }
            ClientError::Encode(e) => write!(f, "cannot send command: {e}"),
        }
    }
}

impl std::error::Error for ClientError {}

impl From<EncodeError> for ClientError {
    fn from(e: EncodeError) -> ClientError {
        ClientError::Encode(e)
    }
}

pub type ClientResult<T> = Result<T, ClientError>;
