//! IDLE on the owner's server while the user's client idles in the folder
//! (RFC 2177), on the session the folder already holds: the caller (the C
//! side, from Dovecot's ioloop) watches the socket, and when it becomes
//! readable asks what came. News end the IDLE; Dovecot's imap then syncs
//! as for any change, and the caller starts IDLE again after the sync.

use std::os::fd::RawFd;
use std::time::Duration;

use super::Folder;
use crate::client::session::Session;
use crate::imap::command::Command;

/// What came during an IDLE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdleNews {
    /// Nothing about the folder yet: the IDLE goes on.
    Quiet,
    /// News about the folder: the IDLE has ended, the next sync takes them.
    News,
    /// The IDLE ended without news (the connection broke, the server or
    /// another command ended it): the next sync finds out.
    Over,
}

impl Folder {
    /// Starts IDLE on the owner's session, which must still have this
    /// folder selected: the socket to watch, or `None` when it cannot (the
    /// server lacks IDLE, another selection, a broken connection), for the
    /// caller to poll instead.
    pub fn start_idle(&mut self) -> Option<RawFd> {
        if let Err(e) = self.finish_streaming() {
            self.owner.log_note(&format!("no IDLE: {}", e.message));
            return None;
        }
        let state = self.with_own_selection(|s| (s.is_idling(), s.can_idle()));
        match state {
            Ok(Some((true, _))) => {}
            Ok(Some((false, true))) => self.owner.log_command(&Command::new("IDLE")),
            _ => return None,
        }
        let started = self
            .owner
            .with_session(|s| Ok(s.idle()?.then(|| s.idle_fd()).flatten()));
        started.unwrap_or_else(|e| {
            self.owner.log_note(&format!("IDLE failed: {}", e.message));
            None
        })
    }

    /// Reads what the owner's server sent during the IDLE, never waiting
    /// for more than it has begun to send.
    pub fn check_idle(&mut self) -> IdleNews {
        let read = self.with_own_selection(|s| (s.read_idle(), s.is_idling()));
        match read {
            Ok(Some((Ok(true), _))) => {
                self.stop_idle();
                IdleNews::News
            }
            Ok(Some((Ok(false), true))) => IdleNews::Quiet,
            Ok(Some((Err(e), _))) => {
                self.owner.log_note(&format!("IDLE ended: {e}"));
                IdleNews::Over
            }
            _ => IdleNews::Over,
        }
    }

    /// Ends the IDLE on the owner's session, if one runs (DONE): what came
    /// meanwhile waits for the next sync. A failure broke the connection,
    /// which the next command opens again.
    pub fn stop_idle(&mut self) {
        if let Err(e) = self.owner.with_session(Session::end_idle) {
            self.owner.log_note(&format!("IDLE ended: {}", e.message));
        }
    }

    /// How long one IDLE may last before it is renewed.
    pub fn max_idle_time(&self) -> Duration {
        self.owner.max_idle_time()
    }
}
