//! Storage errors: what the IMAP client is told (kind and a short message)
//! apart from what the administrator needs in the log (the detail).

use crate::client::error::ClientError;
use crate::imap::response::{Code, Status};

/// Kinds the C shim maps to `enum mail_error` (`SIC_ERR_*`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// A temporary failure (`NO [SERVERBUG]`-like: retry later).
    Temp = 0,
    /// The remote is down, timed out or refused the login (`[UNAVAILABLE]`).
    Unavailable = 1,
    /// No such folder, or one the user may not know of (`[NONEXISTENT]`).
    NotFound = 2,
    /// No rights (`[NOPERM]`).
    Perm = 3,
    /// Not something this storage does (`[CANNOT]`).
    NotPossible = 4,
    /// The remote refused the request as invalid (`[CLIENTBUG]`).
    Params = 5,
    /// Some of the messages named are gone (`[EXPUNGEISSUED]`).
    Expunged = 6,
    /// The folder exists already, or has children (`[ALREADYEXISTS]`).
    Exists = 7,
}

/// A failed storage operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageError {
    /// What kind of failure (decides the IMAP response code).
    pub kind: ErrorKind,
    /// For the IMAP client: names the owner, never hosts or secrets.
    pub message: String,
    /// For Dovecot's log, when there is more to say than `message`.
    pub detail: Option<String>,
    /// The remote answered BAD: it does not know the command as sent.
    pub bad: bool,
}

/// A storage operation's outcome.
pub type StorageResult<T> = Result<T, StorageError>;

impl StorageError {
    /// An error with a message for the client and no log detail.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> StorageError {
        StorageError {
            kind,
            message: message.into(),
            detail: None,
            bad: false,
        }
    }

    /// The error for a failed remote operation on `owner`'s folders.
    pub fn from_client(owner: &str, error: ClientError) -> StorageError {
        let bad = matches!(
            &error,
            ClientError::Rejected {
                status: Status::Bad,
                ..
            }
        );
        let (kind, message) = match &error {
            ClientError::Rejected {
                command,
                code,
                text,
                ..
            } => {
                let kind = match code {
                    Some(Code::Named(name)) => match name.as_str() {
                        "NONEXISTENT" => ErrorKind::NotFound,
                        "NOPERM" => ErrorKind::Perm,
                        "UNAVAILABLE" | "AUTHENTICATIONFAILED" | "AUTHORIZATIONFAILED" => {
                            ErrorKind::Unavailable
                        }
                        "CLIENTBUG" | "BADCHARSET" => ErrorKind::Params,
                        "CANNOT" => ErrorKind::NotPossible,
                        "EXPUNGEISSUED" => ErrorKind::Expunged,
                        "ALREADYEXISTS" => ErrorKind::Exists,
                        _ => ErrorKind::Temp,
                    },
                    // Dovecot says "Mailbox doesn't exist" without a code
                    // also when the user lacks the rights to know more.
                    _ if matches!(*command, "SELECT" | "EXAMINE" | "STATUS") => ErrorKind::NotFound,
                    // Dovecot refuses to delete a folder with children
                    // without a code; told as Dovecot tells its own.
                    _ if *command == "DELETE" => ErrorKind::Exists,
                    _ => ErrorKind::Temp,
                };
                (kind, format!("{owner}'s server: {}", without_timing(text)))
            }
            ClientError::AuthFailed { .. } | ClientError::SelfMaster { .. } => (
                ErrorKind::Unavailable,
                format!("{owner}'s folders are unavailable: login refused"),
            ),
            ClientError::Timeout { .. } => (
                ErrorKind::Unavailable,
                format!("{owner}'s server did not answer in time"),
            ),
            _ => (
                ErrorKind::Unavailable,
                format!("{owner}'s server is unavailable"),
            ),
        };
        StorageError {
            kind,
            message,
            detail: Some(error.to_string()),
            bad,
        }
    }
}

/// A Dovecot reply text without its timing suffix: `Done (0.001 + 0.000 secs).`
fn without_timing(text: &str) -> &str {
    match text.rfind(" (") {
        Some(at) if text[at..].trim_end_matches('.').ends_with("secs)") => &text[..at],
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(command: &'static str, code: Option<Code>, text: &str) -> ClientError {
        ClientError::Rejected {
            command,
            status: Status::No,
            code,
            text: text.into(),
        }
    }

    #[test]
    fn remote_refusals_map_to_kinds() {
        let nope = |c, code| StorageError::from_client("alice", rejected(c, code, "x")).kind;
        assert_eq!(nope("EXAMINE", None), ErrorKind::NotFound);
        assert_eq!(nope("UID FETCH", None), ErrorKind::Temp);
        let named = |n: &str| Some(Code::Named(n.into()));
        assert_eq!(nope("UID FETCH", named("NOPERM")), ErrorKind::Perm);
        assert_eq!(nope("STATUS", named("UNAVAILABLE")), ErrorKind::Unavailable);
        assert_eq!(nope("CREATE", named("ALREADYEXISTS")), ErrorKind::Exists);
        assert_eq!(nope("DELETE", None), ErrorKind::Exists);
        assert_eq!(nope("RENAME", None), ErrorKind::Temp);
    }

    #[test]
    fn messages_name_the_owner_not_the_host() {
        let e = StorageError::from_client(
            "alice",
            ClientError::Connect {
                target: "10.1.2.3:143".into(),
                reason: "refused".into(),
            },
        );
        assert_eq!(e.kind, ErrorKind::Unavailable);
        assert!(!e.message.contains("10.1.2.3"), "{}", e.message);
        assert!(e.detail.unwrap().contains("10.1.2.3"));
        let e = StorageError::from_client(
            "alice",
            rejected("UID FETCH", None, "Broken (0.001 + 0.000 secs)."),
        );
        assert_eq!(e.message, "alice's server: Broken");
    }
}
