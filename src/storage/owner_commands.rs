//! Commands that go to the owner's server whole, for the imap plugin module
//! and the storage's mailbox attributes: the ACL commands (RFC 4314),
//! GETQUOTAROOT and GETQUOTA (RFC 2087) and METADATA's `/shared` entries
//! (RFC 5464). The owner's server answers them with the user's rights there
//! (the master user's).

use super::account::{encode_error, quoted, Owner};
use super::error::{ErrorKind, StorageError, StorageResult};
use crate::imap::command::Command;
use crate::imap::response::Untagged;
use crate::imap::value::Value;

/// Where METADATA keeps the entries every user with rights on a folder
/// shares (as opposed to `/private`, each user's own).
const SHARED_ENTRIES: &str = "/shared";

impl Owner {
    /// The owner's server's answer to an ACL command on a folder:
    /// `MYRIGHTS`, `GETACL`, `LISTRIGHTS` (with `identifier`), `SETACL`
    /// (`identifier`, `rights`) or `DELETEACL` (`identifier`), as the text
    /// that follows the folder's name in the untagged answer (none for
    /// `SETACL` and `DELETEACL`, done when this returns).
    pub fn acl(
        &mut self,
        command: &str,
        local: &str,
        identifier: Option<&str>,
        rights: Option<&str>,
    ) -> StorageResult<String> {
        let name = acl_command_name(command)?;
        let remote = self.remote_name(local)?;
        let mut cmd = Command::new(name)
            .mailbox(&remote, false)
            .map_err(encode_error)?;
        for arg in [identifier, rights].into_iter().flatten() {
            cmd = cmd.astring(arg.as_bytes()).map_err(encode_error)?;
        }
        // Each may run twice: SETACL sets, DELETEACL removes, the rest ask.
        let done = self.execute(&cmd, true)?;
        Ok(done
            .data
            .iter()
            .rev()
            .find_map(acl_answer)
            .unwrap_or_default())
    }

    /// `GETQUOTAROOT` of a folder: one line per untagged answer, without
    /// `* ` (`QUOTAROOT roots…` without the folder's name, `QUOTA root (…)`),
    /// each root named `owner:root` as Dovecot names another user's roots.
    pub fn quota_root(&mut self, local: &str) -> StorageResult<String> {
        let remote = self.remote_name(local)?;
        let cmd = Command::new("GETQUOTAROOT")
            .mailbox(&remote, false)
            .map_err(encode_error)?;
        let done = self.execute(&cmd, true)?;
        Ok(self.quota_lines(&done.data))
    }

    /// `GETQUOTA` of one of the owner's roots (its name on the owner's
    /// server), answered as [`Owner::quota_root`] answers.
    pub fn quota(&mut self, root: &str) -> StorageResult<String> {
        let cmd = Command::new("GETQUOTA")
            .astring(root.as_bytes())
            .map_err(encode_error)?;
        let done = self.execute(&cmd, true)?;
        Ok(self.quota_lines(&done.data))
    }

    fn quota_lines(&self, data: &[Untagged]) -> String {
        let root_name = |root: &str| quoted(&format!("{}:{root}", self.name()));
        let mut lines = Vec::new();
        for answer in data {
            match answer {
                Untagged::QuotaRoot { roots, .. } => {
                    let names: Vec<String> = roots.iter().map(|r| root_name(r)).collect();
                    lines.push(
                        format!("QUOTAROOT {}", names.join(" "))
                            .trim_end()
                            .to_string(),
                    );
                }
                Untagged::Quota { root, resources } => {
                    let usage: Vec<String> = resources
                        .iter()
                        .map(|(name, used, limit)| format!("{} {used} {limit}", quoted(name)))
                        .collect();
                    lines.push(format!("QUOTA {} ({})", root_name(root), usage.join(" ")));
                }
                _ => {}
            }
        }
        lines.join("\n")
    }

    /// The value of the folder's `/shared/<key>` entry on the owner's
    /// server, `None` when it has none (or no METADATA at all). `/shared`
    /// itself (the empty key, asked before its entries) has no value.
    pub fn shared_metadata(&mut self, local: &str, key: &str) -> StorageResult<Option<Vec<u8>>> {
        if key.is_empty() || !self.has_capability("METADATA")? {
            return Ok(None);
        }
        let remote = self.remote_name(local)?;
        let entry = shared_entry(key);
        let cmd = Command::new("GETMETADATA")
            .mailbox(&remote, false)
            .and_then(|c| c.astring(entry.as_bytes()))
            .map_err(encode_error)?;
        let done = self.execute(&cmd, true)?;
        Ok(metadata_entries(&done.data)
            .into_iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(&entry))
            .and_then(|(_, value)| value))
    }

    /// Sets (or with `None` removes) the folder's `/shared/<key>` entry on
    /// the owner's server, which checks the user's rights.
    pub fn set_shared_metadata(
        &mut self,
        local: &str,
        key: &str,
        value: Option<&[u8]>,
    ) -> StorageResult<()> {
        if !self.has_capability("METADATA")? {
            return Err(StorageError::new(
                ErrorKind::NotPossible,
                format!("{}'s server keeps no METADATA", self.name()),
            ));
        }
        let remote = self.remote_name(local)?;
        let cmd = Command::new("SETMETADATA")
            .mailbox(&remote, false)
            .map(Command::open_group)
            .and_then(|c| c.astring(shared_entry(key).as_bytes()))
            .and_then(|c| match value {
                Some(value) => c.string(value),
                None => Ok(c.syntax("NIL")),
            })
            .map(Command::close_group)
            .map_err(encode_error)?;
        self.execute(&cmd, true)?;
        Ok(())
    }

    /// The keys (below `/shared/`) of the folder's shared entries on the
    /// owner's server that start with `prefix`.
    pub fn shared_metadata_keys(
        &mut self,
        local: &str,
        prefix: &str,
    ) -> StorageResult<Vec<String>> {
        if !self.has_capability("METADATA")? {
            return Ok(Vec::new());
        }
        let remote = self.remote_name(local)?;
        let cmd = Command::new("GETMETADATA")
            .syntax("(DEPTH infinity)")
            .mailbox(&remote, false)
            .and_then(|c| c.astring(SHARED_ENTRIES.as_bytes()))
            .map_err(encode_error)?;
        let done = self.execute(&cmd, true)?;
        Ok(metadata_entries(&done.data)
            .into_iter()
            .filter(|(_, value)| value.is_some())
            .filter_map(|(name, _)| shared_key(&name))
            .filter(|key| key.starts_with(prefix))
            .collect())
    }
}

/// The ACL commands that may go to the owner's server.
fn acl_command_name(command: &str) -> StorageResult<&'static str> {
    ["MYRIGHTS", "GETACL", "LISTRIGHTS", "SETACL", "DELETEACL"]
        .into_iter()
        .find(|name| *name == command)
        .ok_or_else(|| StorageError::new(ErrorKind::NotPossible, "not an ACL command"))
}

/// The text after the folder's name in an untagged ACL answer.
fn acl_answer(data: &Untagged) -> Option<String> {
    match data {
        Untagged::MyRights { rights, .. } => Some(quoted(rights)),
        Untagged::Acl { entries, .. } => Some(
            entries
                .iter()
                .map(|(id, rights)| format!("{} {}", quoted(id), quoted(rights)))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        Untagged::ListRights {
            identifier,
            required,
            optional,
            ..
        } => {
            let mut parts = vec![quoted(identifier), quoted(required)];
            parts.extend(optional.iter().map(|o| quoted(o)));
            Some(parts.join(" "))
        }
        _ => None,
    }
}

/// `/shared/<key>`.
fn shared_entry(key: &str) -> String {
    format!("{SHARED_ENTRIES}/{key}")
}

/// The key of a `/shared/<key>` entry name.
fn shared_key(entry: &str) -> Option<String> {
    let (head, key) = entry.split_at_checked(SHARED_ENTRIES.len() + 1)?;
    (head.eq_ignore_ascii_case("/shared/") && !key.is_empty()).then(|| key.to_string())
}

/// The entries and values (`None` for NIL) of `METADATA` answers:
/// `* METADATA mailbox (entry value …)`.
fn metadata_entries(data: &[Untagged]) -> Vec<(String, Option<Vec<u8>>)> {
    let mut entries = Vec::new();
    for answer in data {
        let Untagged::Other { name, values } = answer else {
            continue;
        };
        let Some(list) = values.get(1).and_then(Value::as_list) else {
            continue;
        };
        if name != "METADATA" {
            continue;
        }
        for pair in list.chunks_exact(2) {
            let value = match &pair[1] {
                Value::Nil => None,
                other => other.as_bytes().map(<[u8]>::to_vec),
            };
            if let Some(entry) = pair[0].as_text() {
                entries.push((entry.into_owned(), value));
            }
        }
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::framer::Literal;

    fn other(name: &str, values: Vec<Value>) -> Untagged {
        Untagged::Other {
            name: name.into(),
            values,
        }
    }

    #[test]
    fn metadata_answers_give_entries_and_values() {
        let data = vec![other(
            "METADATA",
            vec![
                Value::Str(b"Team".to_vec()),
                Value::List(vec![
                    Value::Str(b"/shared/comment".to_vec()),
                    Value::Str(b"hello".to_vec()),
                    Value::Atom("/shared/x".into()),
                    Value::Nil,
                    Value::Atom("/shared/big".into()),
                    Value::Literal(Literal::Memory(b"a\r\nb".to_vec())),
                ]),
            ],
        )];
        assert_eq!(
            metadata_entries(&data),
            vec![
                ("/shared/comment".into(), Some(b"hello".to_vec())),
                ("/shared/x".into(), None),
                ("/shared/big".into(), Some(b"a\r\nb".to_vec())),
            ]
        );
        assert!(metadata_entries(&[other("XFOO", vec![])]).is_empty());
    }

    #[test]
    fn shared_keys_are_below_shared() {
        assert_eq!(shared_key("/shared/comment").as_deref(), Some("comment"));
        assert_eq!(shared_key("/SHARED/a/b").as_deref(), Some("a/b"));
        assert_eq!(shared_key("/shared"), None);
        assert_eq!(shared_key("/private/comment"), None);
        assert_eq!(shared_entry("vendor/x"), "/shared/vendor/x");
    }

    #[test]
    fn only_acl_commands_pass() {
        assert_eq!(acl_command_name("SETACL").unwrap(), "SETACL");
        assert!(acl_command_name("DELETE").is_err());
    }
}
