//! One logged-in user's remote access: the pool of sessions (one per owner
//! and endpoint), and per owner what the remote says about its folders.
//! Everything here runs on Dovecot's thread, except the pool's parallel
//! logins, which never touch Dovecot.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::error::{ErrorKind, StorageError, StorageResult};
use super::folder::Parked;
use super::list_cache::{ListCache, ListKey};
use super::names::{ListedFolder, RemoteLayout};
use super::remote::{check_may_read, check_readable, session_spec};
use super::settings::Settings;
use crate::client::connection::{rejected, Completion, Connection};
use crate::client::error::{ClientError, ClientResult};
use crate::client::pool::{Pool, PoolKey};
use crate::client::session::{RetryPolicy, Session, SessionSpec};
use crate::imap::command::Command;
use crate::imap::command::EncodeError;
use crate::imap::response::{Status, Untagged};
use crate::sys::log::DebugLog;

/// How long one reading of the shared dictionary's owners serves (a LIST
/// opens the owners one after another within it).
const OWNERS_EXPECTED_FOR: Duration = Duration::from_secs(5);

/// The remote sessions of one Dovecot user.
pub struct Account {
    settings: Settings,
    /// Listings read right after the parallel logins, for `Owner::list`.
    listings: Listings,
    /// When the owners of the shared dictionary were last announced.
    owners_expected_at: Option<Instant>,
    debug: DebugLog,
    /// The user's own client address, passed on in `ID`.
    client_ip: Option<String>,
    pool: Rc<RefCell<Pool>>,
    /// What the owners listed in this user's recent sessions.
    list_cache: Rc<RefCell<ListCache>>,
    /// Every owner opened so far, to log in to them together.
    opened: Vec<Opened>,
    /// What each session learnt, shared by all its `Owner` handles.
    learnt: HashMap<PoolKey, Rc<RefCell<Learnt>>>,
}

/// What one remote session told, kept for its login's life by every
/// `Owner` handle of it (each open folder has its own).
#[derive(Default)]
struct Learnt {
    /// The remote's layout, and the login it was read on.
    layout: Option<(u32, RemoteLayout)>,
    /// The login on which `ENABLE QRESYNC` was sent.
    qresync_enabled_at: Option<u32>,
    /// The selection the last closed folder left.
    parked: Option<Parked>,
}

/// An owner's session and where its listing is cached.
struct Opened {
    spec: SessionSpec,
    list_key: ListKey,
    list_cache_time: Duration,
}

impl Account {
    /// An account with no sessions yet; `client_ip` is the user's own
    /// address, `list_cache` the file that keeps listings across sessions.
    pub fn new(
        settings: Settings,
        debug: DebugLog,
        client_ip: Option<String>,
        list_cache: Option<PathBuf>,
    ) -> Account {
        let parallel = settings.endpoint_for("").max_connections as usize;
        Account {
            settings,
            listings: Listings::default(),
            owners_expected_at: None,
            debug,
            client_ip,
            pool: Rc::new(RefCell::new(Pool::new(parallel, RetryPolicy::default()))),
            list_cache: Rc::new(RefCell::new(ListCache::new(list_cache))),
            opened: Vec::new(),
            learnt: HashMap::new(),
        }
    }

    /// `owner`'s folders in the namespace `prefix`. No I/O yet: the login
    /// happens on first use, or with the others in `connect_pending`.
    pub fn owner(&mut self, prefix: &str, owner: &str) -> StorageResult<Owner> {
        let endpoint = self.settings.endpoint_for(prefix);
        let spec = session_spec(endpoint, owner, self.client_ip.as_deref())
            .map_err(|e| StorageError::new(ErrorKind::Temp, format!("shared_imapc: {e}")))?;
        if spec.owner == spec.master {
            // Dovecot opens the owner's own namespace for its internal
            // user object too; that one must never log in.
            return Err(StorageError::new(
                ErrorKind::NotFound,
                format!("{owner}'s own folders are not shared with {owner}"),
            ));
        }
        let key = PoolKey::of(&spec);
        let list_key = ListKey::new(prefix, &key);
        if !self.opened.iter().any(|o| same_session(&o.spec, &spec)) {
            self.opened.push(Opened {
                spec: spec.clone(),
                list_key: list_key.clone(),
                list_cache_time: endpoint.list_cache_time,
            });
        }
        Ok(Owner {
            pool: Rc::clone(&self.pool),
            listings: Rc::clone(&self.listings),
            list_cache: Rc::clone(&self.list_cache),
            list_key,
            list_cache_time: endpoint.list_cache_time,
            max_idle_time: endpoint.max_idle_time,
            debug: self.debug.clone(),
            learnt: Rc::clone(self.learnt.entry(key.clone()).or_default()),
            key,
            spec,
        })
    }

    /// Whether it is time to announce the owners of the shared dictionary
    /// (`expect_owners`) again: once per LIST, not once per owner.
    pub fn should_expect_owners(&mut self) -> bool {
        let due = self
            .owners_expected_at
            .map_or(true, |at| at.elapsed() > OWNERS_EXPECTED_FOR);
        if due {
            self.owners_expected_at = Some(Instant::now());
        }
        due
    }

    /// Registers the other owners a `LIST shared/*` will open, so that
    /// `connect_pending` logs in to all of them at once. Their namespace
    /// prefixes are `prefix` with `owner` replaced (`shared/%u/` expanded).
    pub fn expect_owners(&mut self, prefix: &str, owner: &str, others: &[String]) {
        if owner.is_empty() || !prefix.contains(owner) {
            return;
        }
        for other in others {
            let their_prefix = prefix.replacen(owner, other, 1);
            let _ = self.owner(&their_prefix, other);
        }
    }

    /// Logs out of the remote sessions unused for `shared_imapc_idle_timeout`:
    /// a session that listed many owners once and then idles for hours
    /// would otherwise keep a process on each owner's server.
    pub fn close_unused(&mut self) {
        for owner in self.pool.borrow_mut().close_unused() {
            self.debug.line(|| {
                format!("shared_imapc: {owner}: remote session unused for a while: logged out")
            });
        }
    }

    /// How often `close_unused` is due: half the shortest idle timeout of
    /// the user's endpoints, between 1 s and 60 s.
    pub fn unused_check_interval(&self) -> Duration {
        let endpoints = std::iter::once(&self.settings.defaults)
            .chain(self.settings.groups.iter().map(|g| &g.endpoint));
        let shortest = endpoints.map(|e| e.idle_timeout).min().unwrap_or_default();
        (shortest / 2).clamp(Duration::from_secs(1), Duration::from_secs(60))
    }

    /// Logs in, at once and bounded by `shared_imapc_max_connections`, to
    /// every owner opened so far that has no session yet (`LIST shared/*`)
    /// and no recent listing in the cache.
    /// Failures are left for each owner's own use to report.
    /// Each new login also reads the owner's listing (pipelined), which
    /// `Owner::list` then uses: a LIST of many owners costs about one login.
    pub fn connect_pending(&mut self) {
        let mut cache = self.list_cache.borrow_mut();
        let uncached: Vec<SessionSpec> = self
            .opened
            .iter()
            .filter(|o| cache.fresh(&o.list_key, o.list_cache_time).is_none())
            .map(|o| o.spec.clone())
            .collect();
        drop(cache);
        let outcomes = self
            .pool
            .borrow_mut()
            .connect_all_then(&uncached, RawListing::read);
        let mut listings = self.listings.borrow_mut();
        for (key, outcome) in outcomes {
            if let Some(Ok(listing)) = outcome {
                listings.insert(key, (Instant::now(), listing));
            }
        }
    }

    /// Remote connections open now.
    pub fn connections(&self) -> usize {
        self.pool.borrow().connected()
    }
}

impl Drop for Account {
    /// The user's session ends: what the owners listed serves the next one.
    fn drop(&mut self) {
        if let Err(e) = self.list_cache.borrow_mut().flush() {
            self.debug
                .line(|| format!("shared_imapc: listing cache not written: {e}"));
        }
    }
}

fn same_session(a: &SessionSpec, b: &SessionSpec) -> bool {
    PoolKey::of(a) == PoolKey::of(b)
}

/// Listings read at login, by session, with when (used only while fresh:
/// the LIST they were read for).
type Listings = Rc<RefCell<HashMap<PoolKey, (Instant, RawListing)>>>;

/// What a LIST of the owner needs, asked in one go right after the login:
/// NAMESPACE, `LIST "" "*"` and the rights on INBOX.
pub struct RawListing {
    namespace: Option<Completion>,
    list: Completion,
    inbox_rights: Option<Completion>,
}

impl RawListing {
    /// Runs on a pool thread: pure protocol, no Dovecot.
    fn read(session: &mut Session) -> ClientResult<RawListing> {
        let c = session.connection()?;
        let namespace = c
            .has_capability("NAMESPACE")
            .then(|| c.send(&Command::new("NAMESPACE")))
            .transpose()?;
        let list = c.send(&Command::new("LIST").string(b"")?.mailbox("*", false)?)?;
        let inbox_rights = c
            .has_capability("ACL")
            .then(|| -> ClientResult<String> {
                c.send(&Command::new("MYRIGHTS").mailbox("INBOX", false)?)
            })
            .transpose()?;
        Ok(RawListing {
            namespace: namespace.map(|t| c.wait(&t)).transpose()?,
            list: c.wait(&list)?,
            inbox_rights: inbox_rights.map(|t| c.wait(&t)).transpose()?,
        })
    }

    fn layout(&self) -> RemoteLayout {
        self.namespace
            .iter()
            .flat_map(|done| &done.data)
            .find_map(|d| match d {
                Untagged::Namespace(values) => Some(RemoteLayout::from_namespace(values)),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// Without ACLs (no MYRIGHTS) every listed INBOX is the user's to see.
    fn may_look_up_inbox(&self) -> bool {
        self.inbox_rights.as_ref().map_or(true, lookup_allowed)
    }
}

/// Whether a MYRIGHTS (or STATUS) answer on INBOX lets the user see it.
fn lookup_allowed(done: &Completion) -> bool {
    done.line.status == Status::Ok
        && done.data.iter().all(|d| match d {
            Untagged::MyRights { rights, .. } => rights.contains('l'),
            // Rights that could not be read allow nothing.
            Untagged::Unreadable { name, .. } => name != "MYRIGHTS",
            _ => true,
        })
}

/// The folders of a LIST answer that the user sees locally, sorted.
fn listed_folders(layout: &RemoteLayout, data: &[Untagged]) -> Vec<ListedFolder> {
    let mut folders: Vec<ListedFolder> = data
        .iter()
        .filter_map(|d| match d {
            Untagged::List(entry) => ListedFolder::from_entry(layout, entry),
            _ => None,
        })
        .collect();
    folders.sort_by(|a, b| a.name.cmp(&b.name));
    folders.dedup_by(|a, b| a.name == b.name);
    folders
}

/// One owner's folders, reached through the account's pool.
#[derive(Clone)]
pub struct Owner {
    pool: Rc<RefCell<Pool>>,
    listings: Listings,
    list_cache: Rc<RefCell<ListCache>>,
    list_key: ListKey,
    list_cache_time: Duration,
    /// How long one IDLE on the owner's server lasts (`shared_imapc_max_idle_time`).
    max_idle_time: Duration,
    debug: DebugLog,
    spec: SessionSpec,
    /// The pool's key for `spec`, made once.
    key: PoolKey,
    learnt: Rc<RefCell<Learnt>>,
}

/// `STATUS` of a folder (also `struct sic_status` of the C ABI).
#[repr(C)]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FolderStatus {
    /// Messages in the folder.
    pub messages: u32,
    /// The next UID the remote will assign.
    pub uidnext: u32,
    /// The folder's UIDVALIDITY.
    pub uidvalidity: u32,
    /// Messages without `\Seen`.
    pub unseen: u32,
    /// HIGHESTMODSEQ (0 without CONDSTORE).
    pub highest_modseq: u64,
}

impl Owner {
    /// The owner's user name.
    pub fn name(&self) -> &str {
        &self.spec.owner
    }

    /// Keeps a closed folder's selection for the next open (one per session).
    pub fn park(&self, folder: Parked) {
        self.learnt.borrow_mut().parked = Some(folder);
    }

    /// What the last closed folder of this session left, taken.
    pub fn take_parked(&self) -> Option<Parked> {
        self.learnt.borrow_mut().parked.take()
    }

    /// Runs `f` on the owner's session, turning failures into storage errors.
    pub fn with_session<T>(
        &mut self,
        f: impl FnOnce(&mut Session) -> ClientResult<T>,
    ) -> StorageResult<T> {
        let mut pool = self.pool.borrow_mut();
        let session = pool.session(&self.key, &self.spec);
        let idle_ends = session.idle_ends();
        let result = f(session);
        // The command that needed the session ended its IDLE first.
        if session.idle_ends() != idle_ends {
            self.debug
                .line(|| format!("shared_imapc: {}: DONE", self.spec.owner));
        }
        // Logged here, on Dovecot's thread, also for the parallel logins'.
        for warning in session.take_warnings() {
            self.debug.warning(&format!(
                "shared_imapc: {}'s server: left out of a response: {warning}",
                self.spec.owner
            ));
        }
        result.map_err(|e| StorageError::from_client(&self.spec.owner, e))
    }

    /// Runs `command` on the owner's session (repeated after a reconnect
    /// when `repeatable`), logged with `mail_debug`; secrets never are.
    pub fn execute(&mut self, command: &Command, repeatable: bool) -> StorageResult<Completion> {
        self.log_command(command);
        self.with_session(|s| s.execute(command, repeatable))
    }

    /// Runs `commands` once in one round trip (`Session::execute_pipelined`):
    /// `None` when the connection broke and they may go again on a new one;
    /// the first NO or BAD among the answers is the error.
    pub fn execute_together_unless_broken(
        &mut self,
        commands: &[Command],
    ) -> StorageResult<Option<Vec<Completion>>> {
        commands
            .iter()
            .for_each(|command| self.log_command(command));
        self.with_session(|s| match s.execute_pipelined(commands) {
            Err(e) if e.may_retry() => Ok(None),
            Err(e) => Err(e),
            Ok(mut answers) => {
                if let Some(at) = answers.iter().position(|d| d.line.status != Status::Ok) {
                    let done = answers.swap_remove(at);
                    return Err(rejected(commands[at].name(), done.line));
                }
                Ok(Some(answers))
            }
        })
    }

    /// Sends `command` without waiting; `read_for` reads its answers.
    pub fn send(&mut self, command: &Command) -> StorageResult<String> {
        self.log_command(command);
        self.with_session(|s| s.connection()?.send(command))
    }

    /// Reads one response for the command `tag` sent: the untagged data it
    /// got, and its completion once that arrived.
    pub fn read_for(&mut self, tag: &str) -> StorageResult<(Vec<Untagged>, Option<Completion>)> {
        self.with_session(|s| {
            let c = connection_in_flight(s)?;
            if let Some(done) = c.take_finished(tag) {
                return Ok((Vec::new(), Some(done)));
            }
            c.read_one(tag)?;
            let data = c.take_data(tag);
            Ok((data, c.take_finished(tag)))
        })
    }

    /// Sends all `commands` before reading the first answer (one round
    /// trip), then waits for their completions in order; not repeated when
    /// the connection breaks.
    pub fn execute_pipelined(&mut self, commands: &[Command]) -> StorageResult<Vec<Completion>> {
        commands
            .iter()
            .for_each(|command| self.log_command(command));
        self.with_session(|s| s.execute_pipelined(commands))
    }

    /// How long one IDLE on the owner's server may last before it is
    /// renewed.
    pub fn max_idle_time(&self) -> Duration {
        self.max_idle_time
    }

    /// A line about the owner's session for `mail_debug`.
    pub fn log_note(&self, text: &str) {
        self.debug
            .line(|| format!("shared_imapc: {}: {text}", self.spec.owner));
    }

    /// The command as `mail_debug` shows it: secrets never.
    pub fn log_command(&self, command: &Command) {
        self.debug
            .line(|| format!("shared_imapc: {}: {}", self.spec.owner, command.log_text()));
    }

    /// Whether the remote offers `capability` (logging in if needed).
    pub fn has_capability(&mut self, capability: &str) -> StorageResult<bool> {
        self.with_session(|s| Ok(s.connection()?.has_capability(capability)))
    }

    /// The remote's layout, asked for once per login; QRESYNC is enabled
    /// with the same round trip, so that opening a folder later needs none
    /// of its own.
    pub fn layout(&mut self) -> StorageResult<RemoteLayout> {
        let logins = self.logins()?;
        if let Some((at, layout)) = &self.learnt.borrow().layout {
            if *at == logins {
                return Ok(layout.clone());
            }
        }
        let mut commands = Vec::new();
        if self.has_capability("NAMESPACE")? {
            commands.push(Command::new("NAMESPACE"));
        }
        let enable = self.qresync_to_enable(logins)?;
        if enable {
            commands.push(enable_qresync());
        }
        let mut answers = self.execute_pipelined(&commands)?;
        if enable {
            let done = answers.pop().expect("one answer per command");
            self.note_qresync(logins, &done);
        }
        let layout = answers
            .into_iter()
            .flat_map(|done| done.data)
            .find_map(|d| match d {
                Untagged::Namespace(values) => Some(RemoteLayout::from_namespace(&values)),
                _ => None,
            })
            .unwrap_or_default();
        self.learnt.borrow_mut().layout = Some((logins, layout.clone()));
        Ok(layout)
    }

    /// Whether the session supports and has enabled QRESYNC (enabling it
    /// on each new login).
    pub fn qresync(&mut self) -> StorageResult<bool> {
        let logins = self.logins()?;
        if !self.qresync_to_enable(logins)? {
            return Ok(self.learnt.borrow().qresync_enabled_at == Some(logins));
        }
        let done = self.execute(&enable_qresync(), true)?;
        Ok(self.note_qresync(logins, &done))
    }

    /// Logs in if needed: the count of logins so far, which names this one.
    fn logins(&mut self) -> StorageResult<u32> {
        self.with_session(|s| {
            s.connection()?;
            Ok(s.logins())
        })
    }

    /// Whether QRESYNC is offered and not yet enabled on this login.
    fn qresync_to_enable(&mut self, logins: u32) -> StorageResult<bool> {
        let enabled = self.learnt.borrow().qresync_enabled_at == Some(logins);
        Ok(!enabled && self.has_capability("QRESYNC")?)
    }

    /// Notes what an `ENABLE QRESYNC` got; whether QRESYNC is on.
    fn note_qresync(&mut self, logins: u32, done: &Completion) -> bool {
        let on = done.data.iter().any(|d| {
            matches!(d, Untagged::Enabled(list) if list.iter().any(|c| c.eq_ignore_ascii_case("QRESYNC")))
        });
        if on {
            self.learnt.borrow_mut().qresync_enabled_at = Some(logins);
        }
        on
    }

    /// The owner's folders that this user may see, as the remote lists them:
    /// read right after a parallel login when there was one, else asked on
    /// the session when logged in, else from the cache while recent.
    pub fn list(&mut self) -> StorageResult<Vec<ListedFolder>> {
        let logged_in = self.with_session(|s| Ok(s.is_connected()))?;
        let cached = if logged_in {
            None
        } else {
            self.list_cache
                .borrow_mut()
                .fresh(&self.list_key, self.list_cache_time)
        };
        if let Some(folders) = cached {
            self.debug.line(|| {
                format!(
                    "shared_imapc: {}: LIST from the listing cache",
                    self.spec.owner
                )
            });
            return Ok(folders);
        }
        let listed = self.list_remote();
        let mut cache = self.list_cache.borrow_mut();
        match &listed {
            Ok(folders) if !self.list_cache_time.is_zero() => {
                cache.store(self.list_key.clone(), folders.clone())
            }
            Ok(_) => {}
            Err(_) => cache.forget(&self.list_key),
        }
        listed
    }

    /// Drops what is known of the owner's listing, here and in the
    /// listing cache file at once: a folder was created, deleted or
    /// renamed, and the user's next LIST (in any session) asks the
    /// owner's server.
    pub fn forget_listing(&mut self) {
        self.listings.borrow_mut().remove(&self.key);
        let mut cache = self.list_cache.borrow_mut();
        cache.forget(&self.list_key);
        if let Err(e) = cache.flush() {
            self.debug
                .line(|| format!("shared_imapc: listing cache not written: {e}"));
        }
    }

    fn list_remote(&mut self) -> StorageResult<Vec<ListedFolder>> {
        let read_at_login = self.listings.borrow_mut().remove(&self.key);
        if let Some((_, listing)) =
            read_at_login.filter(|(at, _)| at.elapsed() <= OWNERS_EXPECTED_FOR)
        {
            let logins = self.with_session(|s| Ok(s.logins()))?;
            let layout = listing.layout();
            self.learnt.borrow_mut().layout = Some((logins, layout.clone()));
            let mut folders = listed_folders(&layout, &listing.list.data);
            if !listing.may_look_up_inbox() {
                folders.retain(|f| f.name != "INBOX");
            }
            return Ok(folders);
        }
        let layout = self.layout()?;
        let pattern = format!("{}*", layout.personal_prefix);
        let command = Command::new("LIST")
            .string(b"")
            .and_then(|c| c.mailbox(&pattern, false))
            .map_err(encode_error)?;
        let done = self.execute(&command, true)?;
        let mut folders = listed_folders(&layout, &done.data);
        // Dovecot lists the INBOX of the session's user even to a master
        // user without rights on it; ask before showing it.
        if folders.iter().any(|f| f.name == "INBOX") && !self.may_look_up_inbox()? {
            folders.retain(|f| f.name != "INBOX");
        }
        Ok(folders)
    }

    /// Whether this user has the lookup right on the owner's INBOX.
    fn may_look_up_inbox(&mut self) -> StorageResult<bool> {
        let command = if self.has_capability("ACL")? {
            Command::new("MYRIGHTS").mailbox("INBOX", false)
        } else {
            Command::new("STATUS")
                .mailbox("INBOX", false)
                .map(|c| c.syntax("(MESSAGES)"))
        }
        .map_err(encode_error)?;
        match self.execute(&command, true) {
            Ok(done) => Ok(lookup_allowed(&done)),
            // Refused: no rights (Dovecot answers without a code).
            Err(e)
                if matches!(
                    e.kind,
                    ErrorKind::NotFound | ErrorKind::Perm | ErrorKind::Temp
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// The remote name of a local folder name.
    pub fn remote_name(&mut self, local: &str) -> StorageResult<String> {
        let layout = self.layout()?;
        layout
            .to_remote(local)
            .map_err(|e| StorageError::new(ErrorKind::NotFound, e))
    }

    /// `STATUS` without selecting the folder, answered only when the
    /// owner's `MYRIGHTS`, asked in the same round trip, lets the user read
    /// it (`check_may_read`): the owner's server may answer the STATUS from
    /// its list index without checking any right.
    pub fn status(&mut self, local: &str) -> StorageResult<FolderStatus> {
        let remote = self.remote_name(local)?;
        let (myrights, done) = self.with_session(|s| ask_rights_and_status(s, &remote))?;
        if let Some(myrights) = myrights {
            check_may_read(self.name(), myrights)?;
        }
        if done.line.status != Status::Ok {
            let refused = rejected("STATUS", done.line);
            return Err(StorageError::from_client(self.name(), refused));
        }
        check_readable(self.name(), &done.data, &["STATUS"])?;
        Ok(FolderStatus::from_data(&done.data))
    }
}

/// MYRIGHTS (when the remote has ACLs) and STATUS of `remote`, sent
/// together: the answers to both, MYRIGHTS's first.
fn ask_rights_and_status(
    s: &mut Session,
    remote: &str,
) -> ClientResult<(Option<Completion>, Completion)> {
    let c = s.connection()?;
    let mut commands = Vec::new();
    // Without ACLs on the owner's server there are no rights to ask.
    if c.has_capability("ACL") {
        commands.push(Command::new("MYRIGHTS").mailbox(remote, false)?);
    }
    let items = if c.has_capability("CONDSTORE") {
        "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ)"
    } else {
        "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN)"
    };
    commands.push(Command::new("STATUS").mailbox(remote, false)?.syntax(items));
    let mut answers = s.execute_together(&commands, true)?;
    let status = answers.pop().expect("one answer per command");
    Ok((answers.pop(), status))
}

impl FolderStatus {
    /// The items of the `STATUS` responses in `data`.
    fn from_data(data: &[Untagged]) -> FolderStatus {
        let mut status = FolderStatus::default();
        for data in data {
            if let Untagged::MailboxStatus { items, .. } = data {
                for (name, value) in items {
                    status.set(name, *value);
                }
            }
        }
        status
    }

    fn set(&mut self, name: &str, value: u64) {
        let small = u32::try_from(value).unwrap_or(u32::MAX);
        match name.to_ascii_uppercase().as_str() {
            "MESSAGES" => self.messages = small,
            "UIDNEXT" => self.uidnext = small,
            "UIDVALIDITY" => self.uidvalidity = small,
            "UNSEEN" => self.unseen = small,
            "HIGHESTMODSEQ" => self.highest_modseq = value,
            _ => {}
        }
    }
}

/// A command that cannot be encoded (a folder name with CR or LF).
pub fn encode_error(e: EncodeError) -> StorageError {
    StorageError::new(ErrorKind::Params, format!("shared_imapc: {e}"))
}

/// An identifier or rights as Dovecot writes them: an atom when it can be
/// one, else a quoted string (CR, LF and NUL never pass).
pub(super) fn quoted(text: &str) -> String {
    let atom = !text.is_empty()
        && !text.eq_ignore_ascii_case("NIL")
        && text
            .bytes()
            .all(|b| b > 0x20 && b < 0x7f && !b"(){%*\"\\".contains(&b));
    if atom {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars().filter(|c| !matches!(c, '\r' | '\n' | '\0')) {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn enable_qresync() -> Command {
    Command::new("ENABLE").syntax("QRESYNC")
}

/// The connection that commands in flight went out on: a new one would
/// never answer their tags, so its loss is an error here.
fn connection_in_flight(s: &mut Session) -> ClientResult<&mut Connection> {
    if !s.is_connected() {
        return Err(ClientError::Closed("the connection was lost".into()));
    }
    s.connection()
}
