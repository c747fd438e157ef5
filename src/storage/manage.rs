//! Folder management in an owner's account: CREATE, DELETE and RENAME of
//! shared folders are done by the owner's server, which applies the user's
//! rights there (the session is the owner's, with the user as master user)
//! and whose refusal is the answer. The local cache is the C side's.

use super::account::{encode_error, Owner};
use super::error::StorageResult;
use crate::imap::command::{Command, EncodeError};

impl Owner {
    /// `CREATE` of the folder `local` (its name below the namespace
    /// prefix); `directory` asks for one meant to hold others (the name
    /// sent with the remote's delimiter at its end, as RFC 3501 says).
    pub fn create(&mut self, local: &str, directory: bool) -> StorageResult<()> {
        let mut remote = self.remote_name(local)?;
        if directory {
            remote.extend(self.layout()?.delimiter);
        }
        let command = Command::new("CREATE").mailbox(&remote, false);
        self.manage(command, |_| false)
    }

    /// `DELETE` of the folder `local`.
    pub fn delete(&mut self, local: &str) -> StorageResult<()> {
        let remote = self.remote_name(local)?;
        let command = Command::new("DELETE").mailbox(&remote, false);
        self.manage(command, |selected| selected == remote)
    }

    /// `RENAME` of the folder `old` to `new`, both this owner's.
    pub fn rename(&mut self, old: &str, new: &str) -> StorageResult<()> {
        let (from, to) = (self.remote_name(old)?, self.remote_name(new)?);
        let delimiter = self.layout()?.delimiter;
        let command = Command::new("RENAME")
            .mailbox(&from, false)
            .and_then(|c| c.mailbox(&to, false));
        self.manage(command, |selected| is_within(selected, &from, delimiter))
    }

    /// Runs a folder management command, once: it may have been done when
    /// the connection breaks, and done again it would answer otherwise.
    /// The selection goes first when `releases` says the command removes
    /// the selected folder; the listings of this owner go after.
    fn manage(
        &mut self,
        command: Result<Command, EncodeError>,
        releases: impl Fn(&str) -> bool,
    ) -> StorageResult<()> {
        let command = command.map_err(encode_error)?;
        self.release_selection(releases)?;
        let outcome = self.execute(&command, false);
        self.forget_listing();
        outcome.map(drop)
    }

    /// Gives up the remote selection when `affected` says it is a folder
    /// about to go (`UNSELECT`, when offered): Dovecot ends a session
    /// whose selected folder it deletes, and a renamed one is no longer
    /// there under its name. The user's open folders select again.
    fn release_selection(&mut self, affected: impl Fn(&str) -> bool) -> StorageResult<()> {
        let selected = self.with_session(|s| Ok(s.selected_mailbox().map(str::to_string)))?;
        if !selected.is_some_and(|name| affected(&name)) {
            return Ok(());
        }
        if self.with_session(|s| Ok(s.is_connected()))? && self.has_capability("UNSELECT")? {
            self.execute(&Command::new("UNSELECT"), false)?;
        }
        self.with_session(|s| {
            s.deselect();
            Ok(())
        })
    }
}

/// Whether the remote folder `name` is `folder` or below it.
fn is_within(name: &str, folder: &str, delimiter: Option<char>) -> bool {
    let below = |d: char| {
        name.strip_prefix(folder)
            .is_some_and(|rest| rest.starts_with(d))
    };
    name == folder || delimiter.is_some_and(below)
}

#[cfg(test)]
mod tests {
    use super::is_within;

    #[test]
    fn a_rename_takes_the_folders_below_along() {
        assert!(is_within("Team", "Team", Some('/')));
        assert!(is_within("Team/Sub", "Team", Some('/')));
        assert!(!is_within("Teamwork", "Team", Some('/')));
        assert!(!is_within("Team.Sub", "Team", None));
        assert!(!is_within("Other", "Team", Some('.')));
    }
}
