//! Folder names between the two sides: the local namespace uses `/` and
//! UTF-8; the remote uses its own delimiter and modified UTF-7 inside its
//! personal namespace. Names in the remote's other namespaces (its own
//! shared and public folders) are never mapped: a session opened for one
//! owner reaches that owner's folders and nothing the owner can reach.

use crate::imap::response::ListEntry;
use crate::imap::utf7;
use crate::imap::value::Value;

/// The local hierarchy separator of `shared_imapc` namespaces.
pub const LOCAL_SEPARATOR: char = '/';

/// How the remote names its folders, from its `NAMESPACE` answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteLayout {
    /// The personal namespace's prefix (`""` on Dovecot by default).
    pub personal_prefix: String,
    /// Its hierarchy delimiter; `None` for a flat namespace.
    pub delimiter: Option<char>,
    /// Prefixes of the remote's other-users and shared namespaces.
    pub foreign_prefixes: Vec<String>,
}

impl Default for RemoteLayout {
    fn default() -> RemoteLayout {
        RemoteLayout {
            personal_prefix: String::new(),
            delimiter: Some('/'),
            foreign_prefixes: Vec::new(),
        }
    }
}

impl RemoteLayout {
    /// Reads `* NAMESPACE personal other shared` (RFC 2342).
    pub fn from_namespace(values: &[Value]) -> RemoteLayout {
        let mut layout = RemoteLayout::default();
        let entries = |v: Option<&Value>| -> Vec<(String, Option<char>)> {
            let Some(Value::List(list)) = v else {
                return Vec::new();
            };
            list.iter()
                .filter_map(|entry| match entry {
                    Value::List(parts) => {
                        let prefix = parts.first()?.as_text()?.into_owned();
                        let delimiter = parts.get(1).and_then(Value::as_text);
                        Some((prefix, delimiter.and_then(|d| d.chars().next())))
                    }
                    _ => None,
                })
                .collect()
        };
        if let Some((prefix, delimiter)) = entries(values.first()).into_iter().next() {
            layout.personal_prefix = utf7::decode(&prefix).unwrap_or(prefix);
            layout.delimiter = delimiter;
        }
        for (prefix, _) in entries(values.get(1))
            .into_iter()
            .chain(entries(values.get(2)))
        {
            layout
                .foreign_prefixes
                .push(utf7::decode(&prefix).unwrap_or(prefix));
        }
        layout
    }

    /// The remote (UTF-8) name of a local folder name, or why there is none.
    pub fn to_remote(&self, local: &str) -> Result<String, String> {
        if local.is_empty() {
            return Err("the owner's root is not a folder".into());
        }
        let remote = match self.delimiter {
            Some(d) => local.replace(LOCAL_SEPARATOR, &d.to_string()),
            None if local.contains(LOCAL_SEPARATOR) => {
                return Err(format!("{local}: the remote has no folder hierarchy"))
            }
            None => local.to_string(),
        };
        let remote = if remote.eq_ignore_ascii_case("INBOX") {
            "INBOX".to_string()
        } else {
            format!("{}{remote}", self.personal_prefix)
        };
        if self.is_foreign(&remote) {
            return Err(format!(
                "{local}: not one of the owner's own folders (folders shared with the owner are not reachable through it)"
            ));
        }
        Ok(remote)
    }

    /// The local name of a listed remote folder; `None` for folders outside
    /// the personal namespace and names that cannot be shown locally.
    pub fn to_local(&self, remote_utf7: &[u8]) -> Option<String> {
        let text = std::str::from_utf8(remote_utf7).ok()?;
        let remote = utf7::decode(text)?;
        if self.is_foreign(&remote) {
            return None;
        }
        if remote.eq_ignore_ascii_case("INBOX") {
            return Some("INBOX".into());
        }
        let relative = remote.strip_prefix(&self.personal_prefix)?;
        if relative.is_empty() {
            return None;
        }
        match self.delimiter {
            Some(d) if d != LOCAL_SEPARATOR && relative.contains(LOCAL_SEPARATOR) => None,
            Some(d) => Some(relative.replace(d, "/")),
            None if relative.contains(LOCAL_SEPARATOR) => None,
            None => Some(relative.to_string()),
        }
    }

    fn is_foreign(&self, remote: &str) -> bool {
        self.foreign_prefixes.iter().any(|prefix| {
            let bare = self
                .delimiter
                .and_then(|d| prefix.strip_suffix(d))
                .unwrap_or(prefix);
            !prefix.is_empty() && (remote.starts_with(prefix.as_str()) || remote == bare)
        })
    }
}

/// `LIST` attributes, as bits the C shim maps to `enum mailbox_info_flags`
/// (SPECIAL-USE comes from the local namespace settings, as for any folder).
pub mod list_flags {
    /// `\Noselect`.
    pub const NOSELECT: u32 = 1 << 0;
    /// `\NonExistent`.
    pub const NONEXISTENT: u32 = 1 << 1;
    /// `\HasChildren`.
    pub const CHILDREN: u32 = 1 << 2;
    /// `\HasNoChildren`.
    pub const NOCHILDREN: u32 = 1 << 3;
    /// `\Noinferiors`.
    pub const NOINFERIORS: u32 = 1 << 4;
    /// `\Marked`.
    pub const MARKED: u32 = 1 << 5;
    /// `\Unmarked`.
    pub const UNMARKED: u32 = 1 << 6;
}

/// One folder of the owner's as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedFolder {
    /// Local name: UTF-8, `/`-separated, relative to the namespace prefix.
    pub name: String,
    /// Its `list_flags` bits.
    pub flags: u32,
}

impl ListedFolder {
    /// A LIST entry as a local folder; `None` for names not shown locally.
    pub fn from_entry(layout: &RemoteLayout, entry: &ListEntry) -> Option<ListedFolder> {
        use list_flags::*;
        let name = layout.to_local(&entry.name)?;
        let flags = entry.attributes.iter().fold(0, |bits, attribute| {
            bits | match attribute.to_ascii_lowercase().as_str() {
                "\\noselect" => NOSELECT,
                "\\nonexistent" => NONEXISTENT | NOSELECT,
                "\\haschildren" => CHILDREN,
                "\\hasnochildren" => NOCHILDREN,
                "\\noinferiors" => NOINFERIORS,
                "\\marked" => MARKED,
                "\\unmarked" => UNMARKED,
                _ => 0,
            }
        });
        Some(ListedFolder { name, flags })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dovecot_layout() -> RemoteLayout {
        RemoteLayout {
            personal_prefix: String::new(),
            delimiter: Some('.'),
            foreign_prefixes: vec!["shared.".into()],
        }
    }

    #[test]
    fn names_map_both_ways_with_another_delimiter() {
        let layout = dovecot_layout();
        assert_eq!(layout.to_remote("Team/2026").unwrap(), "Team.2026");
        assert_eq!(layout.to_local(b"Team.2026").as_deref(), Some("Team/2026"));
        assert_eq!(layout.to_local(b"inbox").as_deref(), Some("INBOX"));
        assert_eq!(layout.to_local(b"Caf&AOk-").as_deref(), Some("Café"));
    }

    #[test]
    fn the_remotes_own_shared_folders_are_out_of_reach() {
        let layout = dovecot_layout();
        assert_eq!(layout.to_local(b"shared.dave.Team"), None);
        assert_eq!(layout.to_local(b"shared"), None);
        assert!(layout.to_remote("shared/dave/Team").is_err());
        assert!(layout.to_remote("shared").is_err());
        assert!(layout.to_remote("sharedfolder").is_ok());
    }

    #[test]
    fn names_that_cannot_be_shown_locally_are_skipped() {
        assert_eq!(dovecot_layout().to_local(b"a/b.c"), None);
        assert!(dovecot_layout().to_remote("").is_err());
    }

    #[test]
    fn namespace_answer_is_read() {
        use crate::imap::value::Value::*;
        let ns = |p: &str, d: &str| List(vec![Str(p.into()), Str(d.into())]);
        let layout = RemoteLayout::from_namespace(&[
            List(vec![ns("", "/")]),
            Nil,
            List(vec![ns("shared/", "/"), ns("public/", "/")]),
        ]);
        assert_eq!(layout.delimiter, Some('/'));
        assert_eq!(layout.foreign_prefixes, vec!["shared/", "public/"]);
        assert_eq!(layout.to_local(b"public/x"), None);
    }
}
