//! From settings to remote sessions, and from remote answers to the state
//! the storage keeps: the pure-Rust decisions between the two.

use super::error::{ErrorKind, StorageError, StorageResult};
use super::settings::Endpoint;
use crate::client::connection::{rejected, Completion, Target};
use crate::client::session::SessionSpec;
use crate::client::tls::TlsConfig;
use crate::imap::framer::Limits;
use crate::imap::response::{Code, Status, Untagged};

/// The session that opens `owner`'s folders for the endpoint's master user,
/// on behalf of a client at `client_ip`.
pub fn session_spec(
    endpoint: &Endpoint,
    owner: &str,
    client_ip: Option<&str>,
) -> Result<SessionSpec, String> {
    let host = endpoint
        .host
        .clone()
        .ok_or("shared_imapc_host is not set")?;
    let master = endpoint
        .master_user
        .clone()
        .ok_or("shared_imapc_master_user is not set")?;
    let password = endpoint
        .password
        .clone()
        .ok_or("shared_imapc_password (or _password_file) is not set")?;
    Ok(SessionSpec {
        target: Target {
            host,
            port: endpoint.port,
            addresses: Vec::new(),
            connect_timeout: endpoint.connect_timeout,
            command_timeout: endpoint.command_timeout,
            idle_timeout: endpoint.idle_timeout,
            ssl: endpoint.ssl,
            tls: TlsConfig {
                verify: endpoint.ssl_verify,
                ca_file: endpoint.ssl_ca_file.clone(),
                ca_dir: endpoint.ssl_ca_dir.clone(),
            },
            limits: Limits {
                max_line: usize::try_from(endpoint.max_line_length).unwrap_or(usize::MAX),
                max_literal: endpoint.max_literal_size,
                ..Limits::default()
            },
        },
        owner: owner.to_string(),
        master,
        password,
        separator: endpoint.master_user_separator.clone(),
        client_ip: client_ip.map(str::to_string),
    })
}

/// What SELECT or EXAMINE told about a folder.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MailboxState {
    /// Messages in the folder (`EXISTS`).
    pub exists: u32,
    /// `UIDVALIDITY`.
    pub uidvalidity: u32,
    /// `UIDNEXT`.
    pub uidnext: u32,
    /// `HIGHESTMODSEQ` (0 without CONDSTORE).
    pub highest_modseq: u64,
    /// Opened `[READ-ONLY]`.
    pub read_only: bool,
}

impl MailboxState {
    /// Reads a SELECT's or EXAMINE's answer.
    pub fn from_select(done: &Completion) -> MailboxState {
        let mut state = MailboxState::default();
        for data in &done.data {
            match data {
                Untagged::Exists(n) => state.exists = *n,
                Untagged::Status(line) => state.apply(line.code.as_ref()),
                _ => {}
            }
        }
        state.apply(done.line.code.as_ref());
        state
    }

    fn apply(&mut self, code: Option<&Code>) {
        match code {
            Some(Code::UidValidity(v)) => self.uidvalidity = *v,
            Some(Code::UidNext(v)) => self.uidnext = *v,
            Some(Code::HighestModseq(v)) => self.highest_modseq = *v,
            Some(Code::ReadOnly) => self.read_only = true,
            _ => {}
        }
    }
}

/// Fails when `data` holds a response named one of `names` that could not
/// be read (a search result, a STATUS): an answer without it would be
/// wrong, not just incomplete.
pub fn check_readable(owner: &str, data: &[Untagged], names: &[&str]) -> StorageResult<()> {
    let unreadable = data.iter().find_map(|d| match d {
        Untagged::Unreadable { name, reason } if names.contains(&name.as_str()) => {
            Some(format!("unreadable {name} response: {reason}"))
        }
        _ => None,
    });
    match unreadable {
        None => Ok(()),
        Some(detail) => Err(StorageError {
            detail: Some(detail),
            ..StorageError::new(
                ErrorKind::Temp,
                format!("{owner}'s server sent an answer that could not be read"),
            )
        }),
    }
}

/// Whether the user may learn a folder's counts, from the owner's answer
/// to `MYRIGHTS` on it, answering as Dovecot's acl plugin does for a local
/// folder: reading needs the `r` right; without it, `l` alone gives
/// "Permission denied", and no `l` "Mailbox doesn't exist" (as for a folder
/// that is not there, so that nothing tells them apart). Needed because the
/// owner's server may answer a STATUS from its mailbox list index before
/// its acl plugin checked anything (Dovecot 2.3.19).
pub fn check_may_read(owner: &str, myrights: Completion) -> StorageResult<()> {
    if myrights.line.status != Status::Ok {
        // `NO [NONEXISTENT]`: no right at all, or no such folder.
        return Err(StorageError::from_client(
            owner,
            rejected("MYRIGHTS", myrights.line),
        ));
    }
    check_readable(owner, &myrights.data, &["MYRIGHTS"])?;
    let rights = myrights.data.iter().find_map(|d| match d {
        Untagged::MyRights { rights, .. } => Some(rights.as_str()),
        _ => None,
    });
    match rights {
        Some(r) if r.contains('r') => Ok(()),
        Some(r) if r.contains('l') => Err(StorageError::new(ErrorKind::Perm, NO_PERMISSION)),
        // An OK without the rights allows nothing either.
        _ => Err(StorageError::new(
            ErrorKind::NotFound,
            format!("{owner}'s server: no rights on the folder"),
        )),
    }
}

/// Dovecot's MAIL_ERRSTR_NO_PERMISSION.
const NO_PERMISSION: &str = "Permission denied";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::response::StatusLine;

    fn myrights(status: Status, code: Option<&str>, rights: Option<&str>) -> Completion {
        Completion {
            line: StatusLine {
                status,
                code: code.map(|c| Code::Named(c.into())),
                text: "Done".into(),
            },
            data: rights
                .map(|r| Untagged::MyRights {
                    mailbox: b"Projects".to_vec(),
                    rights: r.into(),
                })
                .into_iter()
                .collect(),
        }
    }

    fn kind(answer: Completion) -> Option<ErrorKind> {
        check_may_read("alice", answer).err().map(|e| e.kind)
    }

    #[test]
    fn reading_needs_the_read_right_as_dovecots_acl_plugin() {
        assert_eq!(kind(myrights(Status::Ok, None, Some("lr"))), None);
        // Dovecot opens a folder with `r` alone (`l` only decides the error).
        assert_eq!(kind(myrights(Status::Ok, None, Some("r"))), None);
        assert_eq!(
            kind(myrights(Status::Ok, None, Some("lis"))),
            Some(ErrorKind::Perm)
        );
        assert_eq!(
            kind(myrights(Status::Ok, None, Some("p"))),
            Some(ErrorKind::NotFound)
        );
    }

    #[test]
    fn no_rights_look_like_a_missing_folder() {
        let none = myrights(Status::No, Some("NONEXISTENT"), None);
        assert_eq!(kind(none), Some(ErrorKind::NotFound));
        // An OK that names no rights allows nothing.
        assert_eq!(
            kind(myrights(Status::Ok, None, None)),
            Some(ErrorKind::NotFound)
        );
    }

    #[test]
    fn unreadable_or_failed_rights_allow_nothing() {
        let mut unreadable = myrights(Status::Ok, None, None);
        unreadable.data.push(Untagged::Unreadable {
            name: "MYRIGHTS".into(),
            reason: "bad".into(),
        });
        assert!(kind(unreadable).is_some());
        assert!(kind(myrights(Status::Bad, None, None)).is_some());
        assert!(kind(myrights(Status::No, Some("SERVERBUG"), None)).is_some());
    }
}
