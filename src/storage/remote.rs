//! From settings to remote sessions, and from remote answers to the state
//! the storage keeps: the pure-Rust decisions between the two.

use super::error::{ErrorKind, StorageError, StorageResult};
use super::settings::Endpoint;
use crate::client::connection::{Completion, Target};
use crate::client::session::SessionSpec;
use crate::client::tls::TlsConfig;
use crate::imap::framer::Limits;
use crate::imap::response::{Code, Untagged};

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
