//! A session with one owner's folders on the remote: connects and logs in
//! on first use, remembers the selected folder, and after a dropped
//! connection reconnects (bounded tries, growing pauses), selects the
//! folder again and retries the command when it is safe to repeat. A
//! command's connecting and retries share one deadline
//! (connect_timeout + command_timeout from its start), and each new
//! connection starts at the host's address after the one that failed.

use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use super::connection::{Completion, Connection, Deadline, Target};
use super::error::ClientResult;
use super::login::{login_as_master, MasterLogin};
use crate::imap::command::Command;
use crate::imap::response::{Status, Untagged};
use crate::storage::settings::Secret;

/// Everything needed to (re)open the session.
#[derive(Clone, Debug)]
pub struct SessionSpec {
    pub target: Target,
    pub owner: String,
    pub master: String,
    pub password: Secret,
    pub separator: Option<String>,
    /// The user's own client address (see `MasterLogin::client_ip`).
    pub client_ip: Option<String>,
}

/// How hard to try after a dropped connection.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Connection attempts per reconnect, at least 1.
    pub tries: u32,
    /// Pause before the second attempt; doubled after each failure.
    pub first_pause: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            tries: 3,
            first_pause: Duration::from_millis(100),
        }
    }
}

/// The folder selected on the remote, to restore after a reconnect.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Selected {
    mailbox: String,
    read_only: bool,
}

/// One owner's remote session.
pub struct Session {
    spec: SessionSpec,
    retry: RetryPolicy,
    connection: Option<Connection>,
    selected: Option<Selected>,
    /// Successful logins so far (1 unless it had to reconnect).
    logins: u32,
    /// Counts SELECTs and logins: names the remote selection, whose
    /// untagged news went to whoever made it.
    selections: u32,
    /// News about the selected folder (EXISTS, VANISHED, FETCH…) that came
    /// with commands of other business (STATUS, LIST, MYRIGHTS…), kept
    /// for the folder: the server sends such news with any command.
    news: Vec<Untagged>,
    last_used: Instant,
    /// Which of the host's addresses the next connection tries first: the
    /// one that worked last, or the one after the last that failed.
    next_address: usize,
    /// The tag of the IDLE in progress on the connection (RFC 2177): any
    /// other command ends it first (`connection_by`).
    idling: Option<String>,
    /// IDLEs ended with DONE so far, for the log.
    idle_ends: u32,
}

impl Session {
    pub fn new(spec: SessionSpec, retry: RetryPolicy) -> Session {
        Session {
            spec,
            retry,
            connection: None,
            selected: None,
            logins: 0,
            selections: 0,
            news: Vec::new(),
            last_used: Instant::now(),
            next_address: 0,
            idling: None,
            idle_ends: 0,
        }
    }

    pub fn logins(&self) -> u32 {
        self.logins
    }

    /// Which remote selection is current: changes with every SELECT and
    /// every login, so a folder can tell whether it is still its own.
    pub fn selection(&self) -> u32 {
        self.selections
    }

    /// The news about the selected folder that came with other commands
    /// since the last call (none after a new selection).
    pub fn take_news(&mut self) -> Vec<Untagged> {
        std::mem::take(&mut self.news)
    }

    fn new_selection(&mut self) {
        self.selections += 1;
        self.news.clear();
    }

    /// The folder selected on the remote, if any.
    pub fn selected_mailbox(&self) -> Option<&str> {
        self.selected.as_ref().map(|s| s.mailbox.as_str())
    }

    /// What the parser left out of the owner's responses since the last
    /// call, for the log (`Connection::take_warnings`).
    pub fn take_warnings(&mut self) -> Vec<String> {
        self.connection
            .as_mut()
            .map(Connection::take_warnings)
            .unwrap_or_default()
    }

    /// Whether a logged-in connection is open.
    pub fn is_connected(&self) -> bool {
        self.connection.as_ref().is_some_and(Connection::is_usable)
    }

    /// The logged-in connection: opened on first use (one try), reopened
    /// with the retry policy when an earlier one broke; either within
    /// connect_timeout + command_timeout.
    pub fn connection(&mut self) -> ClientResult<&mut Connection> {
        let deadline = self.command_deadline();
        self.connection_by(deadline)
    }

    /// When a command started now must be done with, however many
    /// connections it takes: a frozen proxy costs the user one wait.
    fn command_deadline(&self) -> Deadline {
        let target = &self.spec.target;
        Deadline::after(target.connect_timeout + target.command_timeout)
    }

    /// `connection`, opened or reopened by `deadline`; an IDLE in
    /// progress ends first (every command comes this way).
    fn connection_by(&mut self, deadline: Deadline) -> ClientResult<&mut Connection> {
        // Failed, it broke the connection, which is reopened below.
        let _ = self.end_idle();
        // The server may have dropped a connection idle this long: replace
        // it rather than find out in the middle of a user's command.
        self.close_if_unused();
        self.last_used = Instant::now();
        match &self.connection {
            Some(c) if c.is_usable() => {}
            // Broken, or lost while a folder was selected: reopen it too.
            Some(_) => self.reconnect(deadline)?,
            None if self.selected.is_some() => self.reconnect(deadline)?,
            None => {
                let c = open(&self.spec, &mut self.next_address, Some(deadline))?;
                self.connection = Some(c);
                self.logins += 1;
                self.new_selection();
            }
        }
        Ok(self.connection.as_mut().expect("connected above"))
    }

    /// `connection_by`, and when it had to log in, the command sent next
    /// must be answered by `deadline` too.
    fn connection_for(&mut self, deadline: Deadline) -> ClientResult<&mut Connection> {
        let logins = self.logins;
        self.connection_by(deadline)?;
        let opened = self.logins != logins;
        let c = self.connection.as_mut().expect("connected above");
        if opened {
            c.answer_by(deadline);
        }
        Ok(c)
    }

    /// Logs out of a connection unused for the idle timeout with nothing in
    /// flight, so that the owner's server does not keep a process for it;
    /// the next use logs in again (and selects the folder again). Whether
    /// it did.
    pub fn close_if_unused(&mut self) -> bool {
        let unused = self.last_used.elapsed() > self.spec.target.idle_timeout;
        match &mut self.connection {
            Some(c) if unused && c.is_usable() && c.is_quiet() => {
                c.close();
                self.connection = None;
                true
            }
            _ => false,
        }
    }

    /// The owner this session logs in as.
    pub fn owner(&self) -> &str {
        &self.spec.owner
    }

    /// Opens the connection now if needed (used by the pool's parallel logins).
    pub fn ensure_connected(&mut self) -> ClientResult<()> {
        self.connection().map(|_| ())
    }

    /// `SELECT` (or `EXAMINE`) `mailbox`, remembered for reconnects.
    pub fn select(&mut self, mailbox: &str, read_only: bool) -> ClientResult<Completion> {
        self.select_with(&select_command(mailbox, read_only)?, mailbox, read_only)
    }

    /// Selects with a command of the caller's (`SELECT x (QRESYNC …)`),
    /// remembered as a plain select of `mailbox` for reconnects.
    pub fn select_with(
        &mut self,
        command: &Command,
        mailbox: &str,
        read_only: bool,
    ) -> ClientResult<Completion> {
        let done = self.run_on_connection(|c| c.execute(command), true);
        self.new_selection();
        // A SELECT that failed leaves nothing selected (RFC 3501 6.3.1).
        self.selected = done.is_ok().then(|| Selected {
            mailbox: mailbox.to_string(),
            read_only,
        });
        done
    }

    /// Forgets the remote selection, once `UNSELECT` gave it up or before
    /// a command removes the selected folder: news no longer go to the
    /// folder that had it, and a reconnect selects nothing.
    pub fn deselect(&mut self) {
        self.selected = None;
        self.new_selection();
    }

    /// Runs `command`; when the connection breaks and `repeatable` is true,
    /// reconnects, restores the selected folder and runs it once more.
    /// News about the selected folder in its answer are kept for the
    /// folder (`take_news`) unless the command is the folder's own.
    pub fn execute(&mut self, command: &Command, repeatable: bool) -> ClientResult<Completion> {
        let mut done = self.run_on_connection(|c| c.execute(command), repeatable)?;
        self.keep_news(command, &mut done);
        Ok(done)
    }

    /// Sends all `commands` before reading the first answer (one round
    /// trip), then waits for their completions in order. Not repeated when
    /// the connection breaks: a new one would never answer their tags.
    /// When it breaks after a NO or BAD, the answers up to there. News as
    /// with `execute`.
    pub fn execute_pipelined(&mut self, commands: &[Command]) -> ClientResult<Vec<Completion>> {
        self.execute_together(commands, false)
    }

    /// `execute_pipelined`, all sent again on a new connection when the
    /// connection broke and `repeatable` (each command may run twice).
    pub fn execute_together(
        &mut self,
        commands: &[Command],
        repeatable: bool,
    ) -> ClientResult<Vec<Completion>> {
        let mut answers =
            self.run_on_connection(|c| send_all_then_wait(c, commands), repeatable)?;
        for (command, done) in commands.iter().zip(&mut answers) {
            self.keep_news(command, done);
        }
        Ok(answers)
    }

    /// Moves the news about the selected folder out of the answer to a
    /// command of other business, for the folder (`take_news`).
    fn keep_news(&mut self, command: &Command, done: &mut Completion) {
        if self.selected.is_none() || FOLDER_COMMANDS.contains(&command.name()) {
            return;
        }
        let (news, rest): (Vec<Untagged>, _) = std::mem::take(&mut done.data)
            .into_iter()
            .partition(is_news);
        self.news.extend(news);
        done.data = rest;
        if self.news.len() > MAX_NEWS {
            // Too many to keep: the folder selects anew at its next
            // sync (QRESYNC from its index) instead.
            self.new_selection();
        }
    }

    /// Runs `operation`, and once more on a new connection when the
    /// connection broke and it is `repeatable`: all by one deadline.
    fn run_on_connection<T>(
        &mut self,
        mut operation: impl FnMut(&mut Connection) -> ClientResult<T>,
        repeatable: bool,
    ) -> ClientResult<T> {
        let deadline = self.command_deadline();
        match operation(self.connection_for(deadline)?) {
            Err(e) if repeatable && e.may_retry() => operation(self.connection_for(deadline)?),
            other => other,
        }
    }

    /// Reconnects with the retry policy and selects the folder again; no
    /// try starts after `deadline`, and each ends by it.
    fn reconnect(&mut self, deadline: Deadline) -> ClientResult<()> {
        self.connection = None;
        let mut pause = self.retry.first_pause;
        let mut last_error = None;
        for attempt in 0..self.retry.tries.max(1) {
            if attempt > 0 {
                if pause >= deadline.remaining() {
                    break;
                }
                std::thread::sleep(pause);
                pause *= 2;
            }
            match open(&self.spec, &mut self.next_address, Some(deadline)) {
                Ok(mut c) => {
                    if let Some(sel) = &self.selected {
                        c.answer_by(deadline);
                        match c.execute(&select_command(&sel.mailbox, sel.read_only)?) {
                            Ok(_) => {}
                            // Gone or no longer allowed (renamed, rights
                            // revoked): the session serves the owner's
                            // other folders still; the folder finds out.
                            Err(e) if !e.breaks_connection() => self.selected = None,
                            Err(e) => return Err(e),
                        }
                    }
                    self.connection = Some(c);
                    self.logins += 1;
                    self.new_selection();
                    return Ok(());
                }
                Err(e) if e.is_refusal() => return Err(e),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.expect("at least one attempt"))
    }
}

impl Session {
    /// Whether `idle` would start an IDLE now: logged in with nothing in
    /// flight, a folder selected, and the server offers IDLE.
    pub fn can_idle(&self) -> bool {
        self.idling.is_none()
            && self.selected.is_some()
            && self
                .connection
                .as_ref()
                .is_some_and(|c| c.is_usable() && c.is_quiet() && c.has_capability("IDLE"))
    }

    /// Starts IDLE on the selected folder, on the connection as it is (none
    /// is opened for it); true once it runs (also when it ran already),
    /// false when it cannot (`can_idle`) or the server refused it.
    pub fn idle(&mut self) -> ClientResult<bool> {
        if self.idling.is_some() {
            return Ok(true);
        }
        if !self.can_idle() {
            return Ok(false);
        }
        let c = self.connection.as_mut().expect("checked by can_idle");
        let tag = c.send(&Command::new("IDLE"))?;
        match c.wait_continuation(&tag, "IDLE") {
            Ok(_) => {}
            Err(e) if !e.breaks_connection() => return Ok(false),
            Err(e) => return Err(e),
        }
        self.idling = Some(tag);
        self.last_used = Instant::now();
        Ok(true)
    }

    /// Whether an IDLE is in progress.
    pub fn is_idling(&self) -> bool {
        self.idling.is_some()
    }

    /// IDLEs ended with DONE so far.
    pub fn idle_ends(&self) -> u32 {
        self.idle_ends
    }

    /// The socket of the IDLE in progress, for an event loop to watch.
    pub fn idle_fd(&self) -> Option<RawFd> {
        self.idling.as_ref()?;
        self.connection.as_ref()?.raw_fd()
    }

    /// Reads what the server has sent during the IDLE, waiting only for
    /// the rest of a response it has begun: news about the folder are kept
    /// (`take_news`). Whether any news are waiting there now. The IDLE is
    /// over when this fails, or the server ended it.
    pub fn read_idle(&mut self) -> ClientResult<bool> {
        let Some(tag) = self.idling.clone() else {
            return Ok(!self.news.is_empty());
        };
        let Some(c) = self.connection.as_mut() else {
            self.idling = None;
            return Ok(!self.news.is_empty());
        };
        let read = read_available(c);
        let mut data = c.take_data(&tag);
        if let Some(done) = c.take_finished(&tag) {
            data.extend(done.data);
            self.idling = None;
        }
        if read.is_err() {
            self.idling = None;
        }
        self.last_used = Instant::now();
        self.keep_all_news(data);
        read.map(|()| !self.news.is_empty())
    }

    /// Ends the IDLE in progress, if any: DONE, then its completion; what
    /// came meanwhile is kept as news (`take_news`).
    pub fn end_idle(&mut self) -> ClientResult<()> {
        let Some(tag) = self.idling.take() else {
            return Ok(());
        };
        let Some(c) = self.connection.as_mut() else {
            return Ok(());
        };
        let done = c.send_line(b"DONE", "DONE").and_then(|()| c.wait(&tag));
        self.idle_ends += 1;
        // The server answered: the connection is alive, not unused.
        self.last_used = Instant::now();
        self.keep_all_news(done?.data);
        Ok(())
    }

    /// Keeps the news among `data` (all about the selected folder).
    fn keep_all_news(&mut self, data: Vec<Untagged>) {
        self.news.extend(data.into_iter().filter(is_news));
        if self.news.len() > MAX_NEWS {
            self.new_selection();
        }
    }
}

/// Reads the responses that have begun to arrive on `c`.
fn read_available(c: &mut Connection) -> ClientResult<()> {
    while c.has_input()? {
        c.read_one("the server's updates during IDLE")?;
    }
    Ok(())
}

/// Sends all `commands` on `c`, then waits for each completion in order.
fn send_all_then_wait(c: &mut Connection, commands: &[Command]) -> ClientResult<Vec<Completion>> {
    let tags = commands
        .iter()
        .map(|command| c.send(command))
        .collect::<ClientResult<Vec<_>>>()?;
    let mut answers = Vec::with_capacity(tags.len());
    for tag in &tags {
        match c.wait(tag) {
            Ok(done) => answers.push(done),
            // A refusal before the break says more than the break (a
            // server closes the connection after a NO about a folder
            // deleted under it): the answers up to there.
            Err(_) if answers.iter().any(|d| d.line.status != Status::Ok) => break,
            Err(e) => return Err(e),
        }
    }
    Ok(answers)
}

/// The commands the selected folder sends: it reads the news in their
/// answer itself (SELECT and EXAMINE go through `select_with`).
const FOLDER_COMMANDS: &[&str] = &[
    "NOOP",
    "APPEND",
    "UID FETCH",
    "UID STORE",
    "UID SEARCH",
    "UID SORT",
    "UID THREAD",
    "UID EXPUNGE",
];

/// News kept for a folder that does not take them (closed, the user busy
/// with other folders) before its selection is given up.
const MAX_NEWS: usize = 10_000;

/// What the server tells about the selected folder, whatever the command
/// (also when it could not be read: the folder must learn that).
fn is_news(data: &Untagged) -> bool {
    matches!(
        data,
        Untagged::Exists(_)
            | Untagged::Recent(_)
            | Untagged::Expunge(_)
            | Untagged::Vanished { .. }
            | Untagged::Fetch { .. }
            | Untagged::Flags(_)
    ) || data.unreadable_message_data()
}

fn select_command(mailbox: &str, read_only: bool) -> ClientResult<Command> {
    let name = if read_only { "EXAMINE" } else { "SELECT" };
    // UTF8=ACCEPT is never enabled on these sessions: names go as modified UTF-7.
    Ok(Command::new(name).mailbox(mailbox, false)?)
}

/// Connects and logs in as the owner with the master user, the login
/// counted against connect_timeout with the greeting (see
/// `Connection::open` for `next_address` and `deadline`).
pub fn open(
    spec: &SessionSpec,
    next_address: &mut usize,
    deadline: Option<Deadline>,
) -> ClientResult<Connection> {
    let login = MasterLogin {
        owner: &spec.owner,
        master: &spec.master,
        password: spec.password.expose(),
        separator: spec.separator.as_deref(),
        client_ip: spec.client_ip.as_deref(),
    };
    Connection::open(&spec.target, next_address, deadline, |c| {
        login_as_master(c, &login)
    })
}
