//! One open shared folder: selected on the owner's session, kept in step
//! with the remote (QRESYNC when offered: cost by what changed), the
//! messages' remote data fetched in bulk (streamed while Dovecot writes)
//! and cached for the folder's life, and the user's changes passed on.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use super::account::{encode_error, Owner};
use super::error::{ErrorKind, StorageError, StorageResult};
use super::fetch_items::{fetch_items, format_internaldate, want, MessageData};
use super::remote::{check_readable, MailboxState};
use super::search_plan::{self, Key, Plan};
use super::sync_plan::{plan, Change, Delta, Flags, Local, Needed};
use crate::client::connection::Completion;
use crate::client::session::Session;
use crate::imap::command::Command;
use crate::imap::response::{Code, Status, Untagged};
use crate::imap::sequence::{SequenceSet, STAR};
use crate::imap::value::Value;

mod idle;
pub use idle::IdleNews;

/// Remote message data kept in memory at most (whole messages and headers
/// are dropped first; ENVELOPE and the like are small).
const CACHE_LIMIT: usize = 64 << 20;
/// Whole messages fetched per command, so memory stays bounded.
const MESSAGE_BATCH: usize = 200;
/// UIDs an ESEARCH result may name (64 MB of them; Dovecot's folders hold
/// far fewer messages): `ALL 1:4294967295` is a few bytes to send, and 16
/// GB to list for Dovecot.
const MAX_SEARCH_RESULTS: u64 = 1 << 24;
/// How often a sync fetches the new mail told as its last fetch ended
/// before leaving it to the next sync (`fetch_new_mail`).
const NEW_MAIL_FETCHES: usize = 3;

/// What the last sync decided, for the index.
#[derive(Debug, Default)]
pub struct SyncResult {
    /// What the index must change, in order.
    pub changes: Vec<Change>,
    /// The remote's UIDVALIDITY.
    pub uidvalidity: u32,
    /// The remote's UIDNEXT.
    pub uidnext: u32,
    /// The highest modseq the index has now seen.
    pub highest_modseq: u64,
    /// When the remote was asked under the index's lock (µs since the
    /// epoch; 0: it was not): a sync of the user's other sessions begun
    /// before then need not ask again.
    pub asked_at: u64,
}

/// Changes the remote reported that the index has not seen yet.
#[derive(Debug, Default)]
struct Pending {
    full: bool,
    vanished: SequenceSet,
    /// Flags by UID; `None`: the answer about them could not be read.
    changed: BTreeMap<u32, Option<Flags>>,
    exists_grew: bool,
    /// An answer that named no message could not be read: it may have
    /// been about any of them (see `Delta::Full`).
    unsure: bool,
}

/// What a sync learnt from the remote, until the plan is made.
struct Begun {
    delta: Delta,
    /// When the remote was asked under the index's lock (NOOP, SELECT):
    /// then its news are at least as new as the index, whatever another
    /// session of the user gave it.
    asked_at: Option<u64>,
    /// When it was asked before the lock (`ask_ahead`): the index has this
    /// as of then if the news are applied (not behind).
    asked_ahead: Option<u64>,
    /// The remote's keywords, when it told them (`Change::Keywords`).
    keywords: Option<Vec<String>>,
}

/// An open shared folder.
pub struct Folder {
    owner: Owner,
    remote_name: String,
    local_name: String,
    read_only: bool,
    /// Whether the user may expunge here (the owner's MYRIGHTS), once asked.
    may_expunge: Option<bool>,
    /// Whether the remote answers `X-GUID`, once tried.
    guid_supported: Option<bool>,
    state: MailboxState,
    qresync: bool,
    /// The session's selection this folder made (`Session::selection`).
    selected_on: u32,
    pending: Pending,
    /// The remote session's view holds every message of the owner's below
    /// this UID (SELECT's UIDNEXT, the UIDs it told since, what the index
    /// held at a NOOP): a UID at or above it may be one the session has not
    /// seen yet, and a command naming it there does nothing, and says OK.
    view_uidnext: u32,
    /// Above the UIDs of the index as this process last synced it: what
    /// the user's searches cover.
    index_uidnext: u32,
    highest_modseq: u64,
    /// Whether the index has been synced once in this process.
    synced: bool,
    /// The HIGHESTMODSEQ the last sync gave the index (at first, the one
    /// the index had when the folder was opened).
    synced_modseq: u64,
    /// When this folder last sent a command whose answer it took in (µs
    /// since the epoch): the server told all news as of then.
    asked_at: u64,
    /// When the user's command that syncs now began (`has_news`).
    command_began: u64,
    /// When `ask_ahead` asked for the sync to come.
    asked_ahead: Option<u64>,
    /// The keywords of the remote's last `* FLAGS`, until a sync gives
    /// them to the index.
    remote_keywords: Option<Vec<String>>,
    /// What `begin_sync` learnt, until `finish_sync` plans with it.
    begun: Option<Begun>,
    cache: HashMap<u32, MessageData>,
    cache_bytes: usize,
    /// UIDs a FETCH is about to read whole, fetched in batches.
    message_plan: Vec<u32>,
    /// The tag of a prefetch whose answers are still coming in: read as
    /// the local FETCH needs them, so both run at once.
    streaming: Option<String>,
}

impl Folder {
    /// Selects `local_name` of `owner` (EXAMINE when `read_only`). `known`
    /// is the local index's UIDVALIDITY and HIGHESTMODSEQ (0 when empty),
    /// for QRESYNC.
    pub fn open(
        mut owner: Owner,
        local_name: &str,
        read_only: bool,
        known: (u32, u64),
    ) -> StorageResult<Folder> {
        let remote_name = owner.remote_name(local_name)?;
        let mut folder = Folder {
            owner,
            remote_name,
            local_name: local_name.to_string(),
            read_only,
            may_expunge: None,
            guid_supported: None,
            state: MailboxState::default(),
            // Set by `select`, or taken over by `resume`.
            qresync: false,
            selected_on: 0,
            pending: Pending::default(),
            view_uidnext: 0,
            index_uidnext: 0,
            highest_modseq: 0,
            synced: false,
            synced_modseq: known.1,
            asked_at: 0,
            asked_ahead: None,
            remote_keywords: None,
            command_began: 0,
            begun: None,
            cache: HashMap::new(),
            cache_bytes: 0,
            message_plan: Vec::new(),
            streaming: None,
        };
        if !folder.resume(known)? {
            folder.select(known)?;
        }
        Ok(folder)
    }

    /// Takes over the selection an earlier folder of this session left
    /// (`park`), when it is this folder's, the index is where that one left
    /// it and the user may still read here: reopening then costs one round
    /// trip (NOOP and MYRIGHTS) instead of a new SELECT of the whole folder.
    fn resume(&mut self, known: (u32, u64)) -> StorageResult<bool> {
        let Some(parked) = self.owner.take_parked() else {
            return Ok(false);
        };
        let current = self.owner.with_session(|s| Ok(s.selection()))?;
        let usable = parked.remote_name == self.remote_name
            && parked.read_only == self.read_only
            && parked.selection == current
            && (parked.state.uidvalidity, parked.synced_modseq) == known;
        if !usable {
            return Ok(false);
        }
        // Parked only by a QRESYNC selection, and this one is of the same login.
        self.qresync = true;
        self.selected_on = parked.selection;
        self.state = parked.state;
        self.view_uidnext = self.state.uidnext;
        self.pending = parked.pending;
        self.highest_modseq = parked.highest_modseq;
        self.take_news()?;
        let sent = now();
        // Refused: the SELECT that follows starts over (and is refused too).
        let Some(changes) = self.changes_if_still_readable()? else {
            return Ok(false);
        };
        self.note(changes);
        self.synced_modseq = parked.synced_modseq;
        self.may_expunge = parked.may_expunge;
        self.guid_supported = parked.guid_supported;
        self.synced = true;
        self.asked_at = sent;
        Ok(true)
    }

    /// What changed in the selected folder (NOOP), if the owner's server
    /// still lets the user read it (MYRIGHTS): both sent at once, MYRIGHTS
    /// first so that its answer comes before the NOOP's news (the server
    /// may answer them in either order otherwise). None when it does not,
    /// or the connection broke (a new SELECT then reconnects).
    fn changes_if_still_readable(&mut self) -> StorageResult<Option<Vec<Untagged>>> {
        let mut commands = Vec::new();
        if self.owner.has_capability("ACL")? {
            let myrights = Command::new("MYRIGHTS").mailbox(&self.remote_name, false);
            commands.push(myrights.map_err(encode_error)?);
        }
        commands.push(Command::new("NOOP"));
        let Ok(answers) = self.owner.execute_pipelined(&commands) else {
            return Ok(None);
        };
        answers.iter().for_each(|done| self.note_tagged(done));
        let all_ok = answers.iter().all(|done| done.line.status == Status::Ok);
        let readable = commands.len() == 1 || answers[0].data.iter().any(allows_reading);
        // MYRIGHTS's own answer is no news: `note` passes over it.
        Ok((all_ok && readable).then(|| answers.into_iter().flat_map(|done| done.data).collect()))
    }

    /// Takes in the news about this folder that came with the owner's
    /// other commands (a STATUS, LIST or MYRIGHTS meanwhile).
    fn take_news(&mut self) -> StorageResult<()> {
        let news = self
            .with_own_selection(Session::take_news)?
            .unwrap_or_default();
        self.note(news);
        Ok(())
    }

    /// What the next folder of this session may resume (`resume`): only a
    /// QRESYNC selection whose changes all reached the index, or were
    /// noted since. The message data stays behind: the index cache has it.
    fn park(&mut self) -> Option<Parked> {
        (self.qresync && self.synced).then(|| Parked {
            remote_name: std::mem::take(&mut self.remote_name),
            read_only: self.read_only,
            selection: self.selected_on,
            state: std::mem::take(&mut self.state),
            pending: std::mem::take(&mut self.pending),
            highest_modseq: self.highest_modseq,
            synced_modseq: self.synced_modseq,
            may_expunge: self.may_expunge,
            guid_supported: self.guid_supported,
        })
    }

    /// What the SELECT (and changes since) told about the folder.
    pub fn state(&self) -> &MailboxState {
        &self.state
    }

    fn select(&mut self, known: (u32, u64)) -> StorageResult<()> {
        // Enabled per login: the session may have logged in again since.
        self.qresync = self.owner.qresync()?;
        let name = self.remote_name.clone();
        let read_only = self.read_only;
        let resync_from = (self.qresync && known.0 != 0 && known.1 != 0).then_some(known);
        let verb = if read_only { "EXAMINE" } else { "SELECT" };
        let mut command = Command::new(verb)
            .mailbox(&name, false)
            .map_err(encode_error)?;
        if let Some((uidvalidity, modseq)) = resync_from {
            command = command.qresync(uidvalidity, modseq);
        }
        self.owner.log_command(&command);
        let sent = now();
        let (done, selection) = self.owner.with_session(|s| {
            let done = s.select_with(&command, &name, read_only)?;
            Ok((done, s.selection()))
        })?;
        self.asked_at = sent;
        self.state = MailboxState::from_select(&done);
        self.view_uidnext = self.state.uidnext;
        self.selected_on = selection;
        self.highest_modseq = self.state.highest_modseq;
        self.pending = Pending {
            full: resync_from.is_none() || known.0 != self.state.uidvalidity,
            ..Pending::default()
        };
        self.note(done.data);
        Ok(())
    }

    /// A NOOP just brought the session's view up to now: it holds every
    /// message the index had up to `last_uid` still on the owner's server.
    fn saw_index(&mut self, last_uid: u32) {
        self.view_uidnext = self.view_uidnext.max(last_uid.saturating_add(1));
        self.index_uidnext = self.index_uidnext.max(last_uid.saturating_add(1));
    }

    /// Makes the session's view hold the messages up to `uid` (a NOOP when
    /// it may not yet): another session of the user may have put them in
    /// the index since this one last asked, and a `UID STORE` of a UID the
    /// session has not seen does nothing and answers OK.
    fn see_up_to(&mut self, uid: u32) -> StorageResult<()> {
        self.finish_streaming()?;
        self.ensure_selected()?;
        if uid == 0 || uid < self.view_uidnext {
            return Ok(());
        }
        let done = self.run_selected(Command::new("NOOP"))?;
        self.note(done.data);
        self.view_uidnext = self.view_uidnext.max(uid.saturating_add(1));
        Ok(())
    }

    /// Whether the owner's session still has this folder selected.
    fn still_selected(&mut self) -> StorageResult<bool> {
        Ok(self.with_own_selection(|_| ())?.is_some())
    }

    /// Runs `f` on the owner's session while it still has the selection
    /// this folder made; `None` once another SELECT or a login replaced it.
    fn with_own_selection<T>(
        &mut self,
        f: impl FnOnce(&mut Session) -> T,
    ) -> StorageResult<Option<T>> {
        let (selection, name) = (self.selected_on, self.remote_name.as_str());
        self.owner.with_session(|s| {
            let ours = s.selection() == selection && s.selected_mailbox() == Some(name);
            Ok(ours.then(|| f(s)))
        })
    }

    /// Takes note of what the remote reported alongside any command.
    fn note(&mut self, data: Vec<Untagged>) {
        for item in data {
            match item {
                Untagged::Exists(n) if n != self.state.exists => {
                    self.pending.exists_grew |= n > self.state.exists;
                    self.state.exists = n;
                }
                Untagged::Expunge(_) => {
                    // Without QRESYNC expunges come by sequence number.
                    self.pending.full = true;
                    self.state.exists = self.state.exists.saturating_sub(1);
                }
                Untagged::Vanished { earlier, uids } => {
                    if !earlier {
                        let gone = u32::try_from(uids.count()).unwrap_or(u32::MAX);
                        self.state.exists = self.state.exists.saturating_sub(gone);
                    }
                    self.pending.vanished.0.extend(uids.0);
                }
                Untagged::Fetch { items, broken, .. } => self.note_fetch(items, broken.is_some()),
                Untagged::Flags(flags) => {
                    let keywords = flags.into_iter().filter(|f| !f.starts_with('\\'));
                    self.remote_keywords = Some(keywords.collect());
                }
                ref unreadable if unreadable.unreadable_message_data() => self.note_unsure(),
                Untagged::Status(line) => {
                    if let Some(Code::HighestModseq(m)) = line.code {
                        self.highest_modseq = self.highest_modseq.max(m);
                    }
                }
                _ => {}
            }
        }
    }

    /// Takes note of one FETCH; `broken`: items after these could not be
    /// read.
    fn note_fetch(&mut self, items: Vec<(String, Value)>, broken: bool) {
        let uid = fetch_uid(&items);
        let mut flags = None;
        let mut data = Vec::new();
        for (name, value) in items {
            match name.as_str() {
                "FLAGS" => {
                    let names = value.as_list().unwrap_or_default();
                    flags = Some(Flags::from_names(names.iter().filter_map(Value::as_text)));
                }
                "MODSEQ" => {
                    let modseq = value.as_list().and_then(|l| l.first()?.as_number());
                    self.highest_modseq = self.highest_modseq.max(modseq.unwrap_or(0));
                }
                "UID" => {}
                _ => data.push((name, value)),
            }
        }
        if let Some(uid) = uid {
            self.view_uidnext = self.view_uidnext.max(uid.saturating_add(1));
        }
        match (uid, flags) {
            (Some(uid), Some(flags)) => {
                self.pending.changed.insert(uid, Some(flags));
            }
            // There, with flags that could not be read: the index keeps its.
            (Some(uid), None) if broken => {
                self.pending.changed.entry(uid).or_insert(None);
            }
            // Cut short before its UID: which message is unknown.
            (None, _) if broken => self.note_unsure(),
            (None, Some(_)) => self.pending.full = true,
            _ => {}
        }
        if let (Some(uid), false) = (uid, data.is_empty()) {
            self.remember(uid, data);
        }
    }

    /// Something about the messages could not be read (the warning is in
    /// the log): the sync compares the whole folder, and expunges nothing,
    /// since any message may be the one missing from the answer.
    fn note_unsure(&mut self) {
        self.pending.full = true;
        self.pending.unsure = true;
    }

    fn remember(&mut self, uid: u32, items: Vec<(String, Value)>) {
        let entry = self.cache.entry(uid).or_default();
        let before = entry.memory_size();
        entry.absorb(items);
        self.cache_bytes = self.cache_bytes - before + entry.memory_size();
    }

    /// Whether `sync` may have changes for the index: a quick sync of a
    /// folder still selected, with nothing reported since the last one,
    /// has none (and needs no look at the local index). `command_began`:
    /// when the user's command that syncs began (µs since the epoch, 0:
    /// unknown); a sync after a command that asked the remote (SELECT,
    /// STORE, APPEND) is a quick one: its answers told all news as of then.
    pub fn has_news(&mut self, quick: bool, command_began: u64) -> StorageResult<bool> {
        // Left by a sync that failed after asking ahead: not this one's.
        self.asked_ahead = None;
        self.take_news()?;
        self.command_began = command_began;
        let quick = quick || self.asked_during_command();
        let p = &self.pending;
        let quiet = p.vanished.is_empty()
            && p.changed.is_empty()
            && !p.full
            && !p.exists_grew
            && self.remote_keywords.is_none();
        Ok(!(quick && self.synced && quiet && self.still_selected()?))
    }

    /// Whether this folder asked the remote since the user's command began.
    fn asked_during_command(&self) -> bool {
        self.during_command(self.asked_at)
    }

    /// Whether `time` was since the user's command began (and not after
    /// now: the clock may have been set back since it was taken).
    fn during_command(&self, time: u64) -> bool {
        self.command_began != 0 && (self.command_began..=now()).contains(&time)
    }

    /// Asks the owner's server for the news a sync that is not quick needs
    /// (NOOP, and the flags of new mail) before it takes the index's lock,
    /// so that the user's other sessions do not wait for these round trips.
    /// `last_uid` and `index_asked_at` are the index's as read unlocked
    /// (see `begin_sync`). News asked so may be behind what another session
    /// gives the index meanwhile: `finish_sync` then keeps them for later,
    /// as it does a quick sync's. A folder to be listed whole (or selected
    /// again) is asked under the lock, by `begin_sync`.
    pub fn ask_ahead(&mut self, last_uid: u32, index_asked_at: u64) -> StorageResult<()> {
        self.take_news()?;
        let asked = self.asked_during_command() || self.during_command(index_asked_at);
        let listed_whole = self.pending.full || !self.qresync || !self.synced;
        if asked || listed_whole || !self.still_selected()? {
            return Ok(());
        }
        let sent = now();
        let done = self.run(Command::new("NOOP"), true)?;
        self.note(done.data);
        self.saw_index(last_uid);
        self.fetch_new_mail(last_uid)?;
        self.asked_ahead = Some(sent);
        Ok(())
    }

    /// Starts bringing the index in step with the remote: NOOP (or a new
    /// SELECT if the session moved on), then only what changed when QRESYNC
    /// is on. A `quick` sync (after FETCH, SEARCH…) asks nothing new and
    /// takes in what the remote reported alongside the last commands.
    /// `uidvalidity` and `last_uid` are the index's (0 when empty);
    /// `index_asked_at`, when the user's other sessions last asked the
    /// remote for it (`SyncResult::asked_at`): if that was after the user's
    /// command began, the index is as new as a NOOP would make it, and none
    /// is sent (the sessions of a mail client polling at once share one).
    /// Returns which local messages `finish_sync` must be given.
    pub fn begin_sync(
        &mut self,
        uidvalidity: u32,
        last_uid: u32,
        quick: bool,
        index_asked_at: u64,
    ) -> StorageResult<Needed> {
        // A sync begun and never finished: its changes are lost, so the
        // whole folder is compared this time.
        if self.begun.take().is_some() {
            self.pending.full = true;
        }
        self.take_news()?;
        self.index_uidnext = self.index_uidnext.max(last_uid.saturating_add(1));
        // Whether the remote's view was brought up to now under the
        // index's lock (this sync runs under it): only then is a listing
        // of it newer than what the user's other sessions put in the index.
        let mut asked_at = None;
        let ask = !quick && !self.asked_during_command() && !self.during_command(index_asked_at);
        if ask && self.still_selected()? {
            let sent = now();
            let done = self.run(Command::new("NOOP"), true)?;
            self.note(done.data);
            self.saw_index(last_uid);
            asked_at = Some(sent);
        }
        // Also after the NOOP: it may have reconnected without the folder
        // (renamed, deleted): selecting it again tells the user why.
        if !self.still_selected()? {
            // QRESYNC from where the index is: what was noted since (and
            // dropped with the old selection) is told again.
            let sent = now();
            self.select((uidvalidity, self.synced_modseq))?;
            asked_at = Some(sent);
        }
        if uidvalidity == 0 || !self.synced && !self.qresync {
            self.pending.full = true;
        }
        let delta = if self.pending.full || !self.qresync {
            // A FETCH answers from the server's view as of the session's
            // last command: without the NOOP, a message another session
            // of the user saw since would be missing, and expunged here.
            if asked_at.is_none() {
                let sent = now();
                let done = self.run_selected(Command::new("NOOP"))?;
                self.note(done.data);
                self.saw_index(last_uid);
                asked_at = Some(sent);
            }
            self.fetch_all_flags()?
        } else {
            self.fetch_new_mail(last_uid)?;
            let pending = std::mem::take(&mut self.pending);
            // New mail told as the last fetch ended is not in it yet.
            self.pending.exists_grew = pending.exists_grew;
            Delta::Changes {
                vanished: pending.vanished,
                changed: pending.changed,
            }
        };
        // A listing that could not be read whole is compared again next
        // time, for what it could not expunge.
        self.pending.full |= matches!(
            delta,
            Delta::Full {
                complete: false,
                ..
            }
        );
        let needed = delta.local_needed();
        self.begun = Some(Begun {
            delta,
            asked_at,
            asked_ahead: self.asked_ahead.take(),
            keywords: self.remote_keywords.take(),
        });
        Ok(needed)
    }

    /// What the index must change: `begin_sync`'s news compared with
    /// `local`, which holds at least the messages it said were needed.
    pub fn finish_sync(&mut self, local: &Local) -> StorageResult<SyncResult> {
        let Begun {
            delta,
            asked_at,
            asked_ahead,
            keywords,
        } = self.begun.take().ok_or_else(|| {
            StorageError::new(
                ErrorKind::Temp,
                "shared_imapc: sync finished before it began",
            )
        })?;
        self.synced = true;
        if asked_at.is_none() && self.is_behind(local) {
            // Expunges cannot undo what another session applied since (a
            // UID never comes back): they go now, and the rest waits.
            let expunges = match &delta {
                Delta::Changes { vanished, .. } => self.planned(
                    local,
                    &Delta::Changes {
                        vanished: vanished.clone(),
                        changed: BTreeMap::new(),
                    },
                ),
                Delta::Full { .. } => Vec::new(),
            };
            self.keep_for_later(delta);
            return Ok(SyncResult {
                changes: keywords
                    .map(Change::Keywords)
                    .into_iter()
                    .chain(expunges)
                    .collect(),
                uidvalidity: self.state.uidvalidity,
                uidnext: 0,
                highest_modseq: local.modseq,
                asked_at: 0,
            });
        }
        // New mail still told as the last fetch ended (see
        // `fetch_new_mail`): the index holds the news only up to where
        // this folder's last sync left it.
        if !self.pending.exists_grew {
            self.synced_modseq = self.highest_modseq;
        }
        let mut changes = self.planned(local, &delta);
        if let Some(keywords) = keywords {
            changes.insert(0, Change::Keywords(keywords));
        }
        Ok(SyncResult {
            changes,
            uidvalidity: self.state.uidvalidity,
            uidnext: self.state.uidnext,
            highest_modseq: self.synced_modseq,
            asked_at: asked_at.or(asked_ahead).unwrap_or(0),
        })
    }

    /// The index's changes for `delta`; the expunged messages' data goes.
    fn planned(&mut self, local: &Local, delta: &Delta) -> Vec<Change> {
        let changes = plan(local, self.state.uidvalidity, delta);
        for change in &changes {
            if let Change::Expunge(uid) = change {
                self.forget(*uid);
            }
        }
        changes
    }

    /// Whether another session of the user brought the index further
    /// than this folder's news reach (it asked the remote later): applied,
    /// they would undo some of that. Only news not asked for under the
    /// index's lock can be behind (`Begun::fresh`).
    fn is_behind(&self, local: &Local) -> bool {
        local.uidvalidity == self.state.uidvalidity
            && self.highest_modseq != 0
            && local.modseq > self.highest_modseq
    }

    /// Puts news that were behind back among the pending ones, under what
    /// came since: the next sync that asks the remote applies them.
    fn keep_for_later(&mut self, delta: Delta) {
        match delta {
            Delta::Full { .. } => self.pending.full = true,
            Delta::Changes { vanished, changed } => {
                self.pending.vanished.0.extend(vanished.0);
                for (uid, flags) in changed {
                    self.pending.changed.entry(uid).or_insert(flags);
                }
            }
        }
    }

    /// Runs a command that names no message (repeated after a reconnect
    /// when `repeatable`).
    fn run(&mut self, command: Command, repeatable: bool) -> StorageResult<Completion> {
        self.finish_streaming()?;
        self.take_news()?;
        let sent = now();
        let done = self.owner.execute(&command, repeatable)?;
        self.asked_at = sent;
        self.note_tagged(&done);
        Ok(done)
    }

    /// The HIGHESTMODSEQ a command's tagged OK carries: Dovecot tells it so
    /// after expunges, whose VANISHED carry no modseq. Without it news
    /// that include an expunge would look older than they are
    /// (`is_behind`).
    fn note_tagged(&mut self, done: &Completion) {
        if let Some(Code::HighestModseq(modseq)) = done.line.code {
            self.highest_modseq = self.highest_modseq.max(modseq);
        }
    }

    /// Runs a command that names this folder's messages by UID, on this
    /// folder's selection: another folder of the owner's may have taken
    /// the session's selection since (a COPY's destination), and a UID
    /// there is another message. After a broken connection it runs once
    /// more, selected anew, and never in a folder re-created meanwhile.
    fn run_selected(&mut self, command: Command) -> StorageResult<Completion> {
        let mut answers = self.run_selected_together(std::slice::from_ref(&command))?;
        answers.pop().ok_or_else(|| self.unavailable())
    }

    /// `run_selected` for several commands sent at once (one round trip):
    /// after a broken connection they all go once more, selected anew.
    fn run_selected_together(&mut self, commands: &[Command]) -> StorageResult<Vec<Completion>> {
        if let Some(answers) = self.try_selected_together(commands)? {
            return Ok(answers);
        }
        // Logged in again first: the new login's selection is a plain
        // SELECT, which `ensure_selected` must not take for this folder's.
        self.owner.with_session(Session::ensure_connected)?;
        self.try_selected_together(commands)?
            .ok_or_else(|| self.unavailable())
    }

    /// Runs a command that names this folder's messages by UID once, on
    /// this folder's selection: `None` when the connection broke first.
    fn try_selected(&mut self, command: &Command) -> StorageResult<Option<Completion>> {
        let answers = self.try_selected_together(std::slice::from_ref(command))?;
        Ok(answers.and_then(|mut answers| answers.pop()))
    }

    /// `try_selected` for several commands sent at once.
    fn try_selected_together(
        &mut self,
        commands: &[Command],
    ) -> StorageResult<Option<Vec<Completion>>> {
        self.finish_streaming()?;
        self.ensure_selected()?;
        self.take_news()?;
        let sent = now();
        let answers = self.owner.execute_together_unless_broken(commands)?;
        if let Some(answers) = &answers {
            self.asked_at = sent;
            answers.iter().for_each(|done| self.note_tagged(done));
        }
        Ok(answers)
    }

    /// The owner's server broke the connection again.
    fn unavailable(&self) -> StorageError {
        StorageError::new(
            ErrorKind::Unavailable,
            format!("{}'s server is unavailable", self.owner.name()),
        )
    }

    /// Selects this folder again (QRESYNC from where the index is) if the
    /// session's selection is another's; fails if the owner's folder is a
    /// new one by now (another UIDVALIDITY): its UIDs name other messages.
    fn ensure_selected(&mut self) -> StorageResult<()> {
        if self.still_selected()? {
            return Ok(());
        }
        let uidvalidity = self.state.uidvalidity;
        self.select((uidvalidity, self.synced_modseq))?;
        if uidvalidity != 0 && self.state.uidvalidity != uidvalidity {
            self.cache.clear();
            self.cache_bytes = 0;
            return Err(StorageError::new(
                ErrorKind::NotFound,
                format!(
                    "{} was deleted and created anew on {}'s server",
                    self.local_name,
                    self.owner.name()
                ),
            ));
        }
        Ok(())
    }

    /// Sends the prefetch and returns at once; `pump` reads its answers.
    fn start_streaming(&mut self, uids: &[u32], wanted: u32) -> StorageResult<()> {
        self.finish_streaming()?;
        self.see_up_to(uids.iter().copied().max().unwrap_or(0))?;
        let set = SequenceSet::from_numbers(uids.iter().copied());
        let command = Command::new("UID FETCH")
            .sequence(&set)
            .list(&fetch_items(wanted));
        let tag = self.owner.send(&command)?;
        self.streaming = Some(tag);
        Ok(())
    }

    /// Reads one more answer of the streaming prefetch; false once it has
    /// completed (or none runs).
    fn pump(&mut self) -> StorageResult<bool> {
        let Some(tag) = self.streaming.clone() else {
            return Ok(false);
        };
        let (data, done) = match self.owner.read_for(&tag) {
            Ok(answer) => answer,
            Err(e) => {
                self.streaming = None;
                return Err(e);
            }
        };
        self.note(data);
        if let Some(done) = done {
            self.streaming = None;
            self.note_tagged(&done);
            self.note(done.data);
            if done.line.status != Status::Ok {
                return Err(StorageError::new(
                    ErrorKind::Temp,
                    format!("{}'s server: {}", self.owner.name(), done.line.text),
                ));
            }
            return Ok(false);
        }
        Ok(true)
    }

    /// Reads the rest of a streaming prefetch (before any other command).
    fn finish_streaming(&mut self) -> StorageResult<()> {
        while self.pump()? {}
        Ok(())
    }

    fn flag_items(&self) -> &'static str {
        if self.qresync {
            "(UID FLAGS MODSEQ)"
        } else {
            "(UID FLAGS)"
        }
    }

    fn fetch_all_flags(&mut self) -> StorageResult<Delta> {
        let items = self.flag_items();
        for _ in 0..NEW_MAIL_FETCHES {
            let command = Command::new("UID FETCH").syntax("1:*").syntax(items);
            let done = self.run_selected(command)?;
            self.pending = Pending::default();
            self.note(done.data);
            // New mail told as the listing ended: listed again (see
            // `fetch_new_mail`).
            if !self.pending.exists_grew {
                break;
            }
        }
        let mut all = std::mem::take(&mut self.pending.changed);
        // Expunged as the listing ended (the server's news come after its
        // data): gone. New mail told then stays pending for the next sync.
        let vanished = std::mem::take(&mut self.pending.vanished);
        all.retain(|&uid, _| !vanished.contains(uid));
        if let Some(&last) = all.keys().next_back() {
            self.state.uidnext = self.state.uidnext.max(last + 1);
        }
        let complete = !std::mem::take(&mut self.pending.unsure);
        Ok(Delta::Full { all, complete })
    }

    /// Fetches the flags of the new mail the session was told of, again
    /// while more is told as an answer ends (EXISTS after the FETCH's data):
    /// the HIGHESTMODSEQ of the tagged answer covers that mail too, and an
    /// index that claimed that modseq without it would never get it (the
    /// QRESYNC of the user's next session starts there, and a UID below
    /// the index's last is never appended).
    fn fetch_new_mail(&mut self, after: u32) -> StorageResult<()> {
        for _ in 0..NEW_MAIL_FETCHES {
            if !std::mem::take(&mut self.pending.exists_grew) {
                return Ok(());
            }
            self.fetch_flags_after(after)?;
        }
        Ok(())
    }

    fn fetch_flags_after(&mut self, after: u32) -> StorageResult<()> {
        let set = SequenceSet(vec![(after + 1, STAR)]);
        let items = self.flag_items();
        let done = self.run_selected(Command::new("UID FETCH").sequence(&set).syntax(items))?;
        // Also the flags of messages at or below `after`: the server's
        // news of them, and `n:*`'s answer with the last message when none
        // is above n (its flags as they are now, so no harm).
        self.note(done.data);
        Ok(())
    }

    fn forget(&mut self, uid: u32) {
        if let Some(data) = self.cache.remove(&uid) {
            self.cache_bytes -= data.memory_size();
        }
    }

    /// Fetches `wanted` for every UID in `uids` that lacks some of it, in
    /// one command (whole messages: in batches, read as the FETCH goes).
    pub fn prefetch(&mut self, uids: &[u32], wanted: u32) -> StorageResult<()> {
        if wanted & want::MESSAGE != 0 {
            self.message_plan = uids.to_vec();
        }
        let small = wanted & !want::MESSAGE;
        let missing: Vec<u32> = uids
            .iter()
            .copied()
            .filter(|uid| self.lacks(*uid, small))
            .collect();
        if small == 0 || missing.is_empty() {
            return Ok(());
        }
        // Whether the remote answers X-GUID is learnt on one message first.
        let mut rest = &missing[..];
        if small & want::GUID != 0 && self.guid_supported.is_none() {
            self.fetch(&missing[..1], small)?;
            rest = &missing[1..];
        }
        // The answers stream in while Dovecot writes the local FETCH.
        let small = self.supported(small);
        if !rest.is_empty() && small != 0 {
            self.trim_cache(rest);
            self.start_streaming(rest, small)?;
        }
        Ok(())
    }

    fn lacks(&self, uid: u32, wanted: u32) -> bool {
        let present = self.cache.get(&uid).map_or(0, MessageData::present);
        self.supported(wanted) & !present != 0
    }

    /// `wanted` without what the remote is known not to answer.
    fn supported(&self, wanted: u32) -> u32 {
        if self.guid_supported == Some(false) {
            wanted & !want::GUID
        } else {
            wanted
        }
    }

    fn fetch(&mut self, uids: &[u32], wanted: u32) -> StorageResult<()> {
        let wanted = self.supported(wanted);
        if wanted == 0 {
            return Ok(());
        }
        self.see_up_to(uids.iter().copied().max().unwrap_or(0))?;
        let set = SequenceSet::from_numbers(uids.iter().copied());
        let command = Command::new("UID FETCH")
            .sequence(&set)
            .list(&fetch_items(wanted));
        let done = match self.run_selected(command) {
            // Only Dovecot knows X-GUID: learn once, fetch without it.
            Err(e) if e.bad && wanted & want::GUID != 0 && self.guid_supported.is_none() => {
                self.guid_supported = Some(false);
                return self.fetch(uids, wanted & !want::GUID);
            }
            other => other?,
        };
        if wanted & want::GUID != 0 {
            self.guid_supported = Some(true);
        }
        self.note(done.data);
        self.trim_cache(uids);
        Ok(())
    }

    fn trim_cache(&mut self, keep: &[u32]) {
        if self.cache_bytes <= CACHE_LIMIT {
            return;
        }
        let keep: BTreeSet<u32> = keep.iter().copied().collect();
        for (uid, data) in self.cache.iter_mut() {
            if !keep.contains(uid) {
                self.cache_bytes -= data.drop_streams();
            }
        }
    }

    /// The remote data of `uid` with at least `wanted`; `None` when the
    /// remote no longer has the message.
    pub fn message(&mut self, uid: u32, wanted: u32) -> StorageResult<Option<&mut MessageData>> {
        while self.lacks(uid, wanted) && self.pump()? {}
        if self.lacks(uid, wanted) {
            let batch = self.batch_for(uid, wanted);
            self.fetch(&batch, wanted)?;
        }
        if self.lacks(uid, wanted) {
            return Ok(None);
        }
        Ok(Some(self.cache.entry(uid).or_default()))
    }

    /// `uid`, and for whole messages the next ones a FETCH will read.
    fn batch_for(&self, uid: u32, wanted: u32) -> Vec<u32> {
        if wanted & want::MESSAGE == 0 {
            return vec![uid];
        }
        match self.message_plan.iter().position(|&u| u == uid) {
            Some(at) => self.message_plan[at..]
                .iter()
                .copied()
                .filter(|&u| u == uid || self.lacks(u, want::MESSAGE))
                .take(MESSAGE_BATCH)
                .collect(),
            None => vec![uid],
        }
    }
}

impl Folder {
    /// Whether the user's changes kept in an index of `index_uidvalidity`
    /// may go to the remote: only into the folder they were made in (the
    /// owner may have deleted it and made a new one of the same name
    /// since: its UIDs name other messages).
    pub fn accepts_changes_from(&self, index_uidvalidity: u32) -> bool {
        index_uidvalidity != 0 && index_uidvalidity == self.state.uidvalidity
    }

    /// Passes the user's flag changes on in one round trip: a `UID STORE
    /// ±FLAGS` for each (the flags and keywords of one range and direction
    /// in one), whose answer tells the flags each message has now. A
    /// server that drops flags the user may not set changes nothing and
    /// answers nothing for them: those are asked for (`UID FETCH`). The
    /// next sync makes the local index say what it answered. Sent again
    /// after a break (a flag change twice does no harm).
    ///
    /// `with_flags`: the messages' flags are asked for in the same round
    /// trip, for changes the index took for no-ops (its messages showed
    /// them already): the owner's server mostly answers nothing to those.
    pub fn store(&mut self, changes: &[FlagChange], with_flags: bool) -> StorageResult<()> {
        let changes = merged(changes);
        let Some(last) = changes.iter().filter_map(|c| c.uids.last()).max() else {
            return Ok(());
        };
        self.see_up_to(last)?;
        let touched = SequenceSet::from_ranges(changes.iter().flat_map(|c| c.uids.0.clone()));
        let mut commands = changes
            .iter()
            .map(|c| store_command(&c.uids, c.add, &c.flags, false))
            .collect::<StorageResult<Vec<_>>>()?;
        if with_flags {
            let items = self.flag_items();
            commands.push(Command::new("UID FETCH").sequence(&touched).syntax(items));
        }
        let mut told = BTreeSet::new();
        for done in self.run_selected_together(&commands)? {
            told.extend(done.data.iter().filter_map(flags_told));
            self.note(done.data);
        }
        if with_flags {
            return Ok(());
        }
        let untold =
            SequenceSet::from_numbers(touched.numbers(last).filter(|uid| !told.contains(uid)));
        if !untold.is_empty() {
            let items = self.flag_items();
            let done =
                self.run_selected(Command::new("UID FETCH").sequence(&untold).syntax(items))?;
            self.note(done.data);
        }
        Ok(())
    }

    /// `UID STORE uids ±FLAGS.SILENT (…)`.
    fn store_silently(
        &mut self,
        uids: &SequenceSet,
        add: bool,
        flags: &Flags,
    ) -> StorageResult<()> {
        self.see_up_to(uids.last().unwrap_or(0))?;
        let done = self.run_selected(store_command(uids, add, flags, true)?)?;
        self.note(done.data);
        Ok(())
    }

    /// Saves a message into the folder on the remote (`APPEND`, with its
    /// flags and INTERNALDATE). It shows up locally at the next sync. The
    /// UIDVALIDITY and UID the remote gave it, when it said
    /// (`[APPENDUID]`, RFC 4315).
    pub fn append(
        &mut self,
        message: &[u8],
        flags: &Flags,
        internaldate: Option<(i64, i32)>,
    ) -> StorageResult<Option<(u32, u32)>> {
        let command = Command::new("APPEND")
            .mailbox(&self.remote_name, false)
            .map_err(encode_error)?;
        let mut command = flag_list(command, flags)?;
        if let Some((time, zone)) = internaldate {
            let date = format_internaldate(time, zone);
            command = command.string(date.as_bytes()).map_err(encode_error)?;
        }
        // Never sent twice: the server may have saved it before a break.
        let done = self.run(command.literal(message), false)?;
        self.note(done.data);
        Ok(match done.line.code {
            Some(Code::AppendUid { uidvalidity, uids }) => match uids.0[..] {
                [(uid, last)] if uid == last => Some((uidvalidity, uid)),
                _ => None,
            },
            _ => None,
        })
    }

    /// Copies (or moves) the messages `uids` into the owner's folder
    /// `destination` on the owner's server: one `UID COPY` (`UID MOVE`),
    /// nothing downloaded. Never sent twice: the server may have done it
    /// before a break. The destination's UIDVALIDITY and each message's
    /// UID there, in the order of `uids`, when the server said
    /// (`[COPYUID]`, RFC 4315).
    pub fn copy_to(
        &mut self,
        uids: &[u32],
        destination: &str,
        moving: bool,
    ) -> StorageResult<Option<(u32, Vec<u32>)>> {
        let remote = self.owner.remote_name(destination)?;
        let verb = if moving && self.owner.has_capability("MOVE")? {
            "UID MOVE"
        } else {
            "UID COPY"
        };
        self.see_up_to(uids.iter().copied().max().unwrap_or(0))?;
        let command = Command::new(verb)
            .sequence(&SequenceSet::from_numbers(uids.iter().copied()))
            .mailbox(&remote, false)
            .map_err(encode_error)?;
        let Some(done) = self.try_selected(&command)? else {
            return Err(StorageError::new(
                ErrorKind::Temp,
                format!(
                    "the connection to {}'s server broke during the copy (not repeated: it may have been done)",
                    self.owner.name()
                ),
            ));
        };
        // MOVE tells it untagged, before the expunges (RFC 6851).
        let untagged = done.data.iter().filter_map(|d| match d {
            Untagged::Status(line) => line.code.as_ref(),
            _ => None,
        });
        let copied = done
            .line
            .code
            .iter()
            .chain(untagged)
            .find_map(|code| match code {
                Code::CopyUid {
                    uidvalidity,
                    source,
                    destination,
                } => copied_uids(uids, source, destination).map(|uids| (*uidvalidity, uids)),
                _ => None,
            });
        self.note(done.data);
        // A UID COPY passes over messages expunged meanwhile; the user's
        // COPY named them, and hears so, as Dovecot says it.
        if copied.is_none() && self.owner.has_capability("UIDPLUS")? {
            return Err(StorageError::new(
                ErrorKind::Expunged,
                "Some of the requested messages no longer exist.",
            ));
        }
        Ok(copied)
    }

    /// Whether the user may expunge in this folder: asked of the owner's
    /// server once (MYRIGHTS has `e`); yes when it has no ACLs.
    pub fn may_expunge(&mut self) -> StorageResult<bool> {
        if let Some(known) = self.may_expunge {
            return Ok(known);
        }
        let may = if self.owner.has_capability("ACL")? {
            let name = self.local_name.clone();
            self.owner.acl("MYRIGHTS", &name, None, None)?.contains('e')
        } else {
            true
        };
        self.may_expunge = Some(may);
        Ok(may)
    }

    /// Passes a local expunge on (`\Deleted` and `UID EXPUNGE`, which only
    /// touches these messages).
    pub fn expunge(&mut self, uids: &SequenceSet) -> StorageResult<()> {
        if !self.owner.has_capability("UIDPLUS")? {
            return Err(StorageError::new(
                ErrorKind::NotPossible,
                "the owner's server cannot expunge single messages (no UIDPLUS)",
            ));
        }
        let deleted = Flags {
            system: super::sync_plan::system_flags::DELETED,
            keywords: Vec::new(),
        };
        self.store_silently(uids, true, &deleted)?;
        let done = self.run_selected(Command::new("UID EXPUNGE").sequence(uids))?;
        self.note(done.data);
        // Rights may have kept some: those must come back locally.
        let left = self.run_selected(Command::new("UID SEARCH").syntax("UID").sequence(uids))?;
        let kept = left
            .data
            .iter()
            .any(|d| matches!(d, Untagged::Search { ids, .. } if !ids.is_empty()));
        self.note(left.data);
        if kept {
            self.pending.full = true;
            return Err(StorageError::new(
                ErrorKind::Perm,
                "the owner's server did not expunge the messages",
            ));
        }
        Ok(())
    }

    /// Plans a search: which keys the remote evaluates, and whether it
    /// sorts (`sort`: the SORT criteria, when all are IMAP's).
    pub fn plan_search(
        &mut self,
        keys: &[Option<Key>],
        sort: Option<Vec<String>>,
    ) -> StorageResult<Plan> {
        let display = sort
            .as_ref()
            .is_some_and(|c| c.iter().any(|c| c.starts_with("DISPLAY")));
        let sorts = sort.is_some()
            && self.owner.has_capability("SORT")?
            && (!display || self.owner.has_capability("SORT=DISPLAY")?);
        Ok(search_plan::plan(keys, sort, sorts))
    }

    /// Runs the planned search on the remote in one command: the matching
    /// UIDs, ascending, or in the remote's order when it sorted.
    pub fn search(&mut self, plan: &Plan, keys: &[Option<Key>]) -> StorageResult<Vec<u32>> {
        let chosen: Vec<&Key> = plan
            .remote_keys
            .iter()
            .filter_map(|&i| keys.get(i)?.as_ref())
            .collect();
        let esearch = self.owner.has_capability("ESEARCH")?;
        let command =
            search_plan::command(&chosen, plan.sort.as_deref(), esearch).map_err(encode_error)?;
        self.see_up_to(self.index_uidnext.saturating_sub(1))?;
        let done = self.run_selected(command)?;
        check_readable(
            self.owner.name(),
            &done.data,
            &["SEARCH", "ESEARCH", "SORT"],
        )?;
        let mut uids = Vec::new();
        let mut sets = Vec::new();
        let mut rest = Vec::new();
        for data in done.data {
            match data {
                Untagged::Search { ids, .. } | Untagged::Sort(ids) => uids.extend(ids),
                Untagged::Esearch(result) => sets.extend(result.all),
                other => rest.push(other),
            }
        }
        self.note(rest);
        if sets.iter().map(SequenceSet::count).sum::<u64>() > MAX_SEARCH_RESULTS {
            return Err(StorageError::new(
                ErrorKind::Temp,
                format!("{}'s server: search result too large", self.owner.name()),
            ));
        }
        uids.extend(sets.iter().flat_map(|set| set.numbers(u32::MAX)));
        if plan.sort.is_none() {
            uids.sort_unstable();
            uids.dedup();
        }
        Ok(uids)
    }
}

impl Folder {
    /// `UID THREAD algorithm UTF-8 keys` on the remote, as the THREAD
    /// answer's text: with UIDs, or with the local sequence numbers of
    /// `local_uids` (the index's UIDs in sequence order; messages it does
    /// not have yet are left out). `None` when the remote cannot thread
    /// this way or a key is Dovecot's own: Dovecot threads locally then.
    pub fn thread(
        &mut self,
        algorithm: &str,
        keys: &[Option<Key>],
        local_uids: Option<&[u32]>,
    ) -> StorageResult<Option<String>> {
        let capability = format!("THREAD={}", algorithm.to_ascii_uppercase());
        if !self.owner.has_capability(&capability)? || keys.iter().any(Option::is_none) {
            return Ok(None);
        }
        let keys: Vec<&Key> = keys.iter().flatten().collect();
        let command = search_plan::thread_command(algorithm, &keys).map_err(encode_error)?;
        self.see_up_to(self.index_uidnext.saturating_sub(1))?;
        let done = self.run_selected(command)?;
        check_readable(self.owner.name(), &done.data, &["THREAD"])?;
        let mut text = String::new();
        let mut rest = Vec::new();
        for data in done.data {
            match data {
                Untagged::Thread(trees) => {
                    for tree in trees {
                        let renumbered = match local_uids {
                            Some(uids) => search_plan::renumber(&tree, uids),
                            None => Some(tree),
                        };
                        if let Some(tree) = renumbered {
                            search_plan::write_thread(&tree, &mut text);
                        }
                    }
                }
                other => rest.push(other),
            }
        }
        self.note(rest);
        Ok(Some(text))
    }
}

/// Now, in µs since the epoch (as Dovecot's `ioloop_timeval`).
fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// Where each of `uids` went by a `[COPYUID]`'s two sets (paired in
/// order); `None` unless it names every one of them.
fn copied_uids(uids: &[u32], source: &SequenceSet, destination: &SequenceSet) -> Option<Vec<u32>> {
    if source.count() != destination.count() || source.count() > uids.len() as u64 {
        return None;
    }
    let pairs: HashMap<u32, u32> = source
        .numbers(u32::MAX)
        .zip(destination.numbers(u32::MAX))
        .collect();
    uids.iter().map(|uid| pairs.get(uid).copied()).collect()
}

fn fetch_uid(items: &[(String, Value)]) -> Option<u32> {
    items
        .iter()
        .find(|(n, _)| n == "UID")
        .and_then(|(_, v)| v.as_number())
        .and_then(|u| u32::try_from(u).ok())
}

/// `command` followed by the flag list `(\Seen $Work …)`.
/// One flag change of the user's to pass on: `flags` added to (or removed
/// from) the messages `uids`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlagChange {
    /// The messages, by UID.
    pub uids: SequenceSet,
    /// Added (`+FLAGS`) or removed (`-FLAGS`).
    pub add: bool,
    /// The system flags and keywords.
    pub flags: Flags,
}

/// `changes` with those of one range and direction in a row merged (Dovecot
/// lists a STORE of flags and keywords as one change per keyword).
fn merged(changes: &[FlagChange]) -> Vec<FlagChange> {
    let mut out: Vec<FlagChange> = Vec::new();
    for change in changes {
        match out.last_mut() {
            Some(last) if last.uids == change.uids && last.add == change.add => {
                last.flags.system |= change.flags.system;
                last.flags
                    .keywords
                    .extend(change.flags.keywords.iter().cloned());
            }
            _ => out.push(change.clone()),
        }
    }
    out
}

/// `UID STORE uids ±FLAGS[.SILENT] (…)`.
fn store_command(
    uids: &SequenceSet,
    add: bool,
    flags: &Flags,
    silent: bool,
) -> StorageResult<Command> {
    let verb = match (add, silent) {
        (true, true) => "+FLAGS.SILENT",
        (true, false) => "+FLAGS",
        (false, true) => "-FLAGS.SILENT",
        (false, false) => "-FLAGS",
    };
    flag_list(Command::new("UID STORE").sequence(uids).syntax(verb), flags)
}

/// The UID of a FETCH that tells a message's flags.
fn flags_told(data: &Untagged) -> Option<u32> {
    match data {
        Untagged::Fetch {
            items,
            broken: None,
            ..
        } if items.iter().any(|(name, _)| name == "FLAGS") => fetch_uid(items),
        _ => None,
    }
}

fn flag_list(command: Command, flags: &Flags) -> StorageResult<Command> {
    let mut command = command.open_group();
    let keywords = flags.keywords.iter().map(String::as_str);
    for name in system_flag_names(flags.system).into_iter().chain(keywords) {
        command = command.atom(name).map_err(encode_error)?;
    }
    Ok(command.close_group())
}

/// IMAP names of system flags (Dovecot's `enum mail_flags` bits).
fn system_flag_names(bits: u8) -> Vec<&'static str> {
    use super::sync_plan::system_flags::*;
    [
        (ANSWERED, "\\Answered"),
        (FLAGGED, "\\Flagged"),
        (DELETED, "\\Deleted"),
        (SEEN, "\\Seen"),
        (DRAFT, "\\Draft"),
    ]
    .iter()
    .filter(|(bit, _)| bits & bit != 0)
    .map(|(_, name)| *name)
    .collect()
}

/// A closed folder's remote selection, kept for the next open of the
/// same folder in this session (`Folder::park`, `Folder::resume`).
pub struct Parked {
    remote_name: String,
    read_only: bool,
    selection: u32,
    state: MailboxState,
    pending: Pending,
    highest_modseq: u64,
    synced_modseq: u64,
    may_expunge: Option<bool>,
    guid_supported: Option<bool>,
}

impl Drop for Folder {
    fn drop(&mut self) {
        // Leave the session clean for the owner's other folders.
        if self.finish_streaming().is_ok() {
            if let Some(parked) = self.park() {
                self.owner.park(parked);
            }
        }
    }
}

/// MYRIGHTS with the rights to see and read the folder.
fn allows_reading(data: &Untagged) -> bool {
    matches!(data, Untagged::MyRights { rights, .. } if rights.contains('l') && rights.contains('r'))
}
