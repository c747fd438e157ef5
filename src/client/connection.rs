//! One IMAP connection: connect with timeouts, send commands (several may be
//! in flight: pipelining), and route every response back to its command.
//!
//! Blocking I/O on the caller's thread: the storage calls it from Dovecot's
//! thread and waits, as Dovecot's own imapc waits in a nested ioloop. Nothing
//! here calls Dovecot, so the pool may also run connections on threads of
//! its own.
//!
//! Routing: a tagged completion ends its command; untagged data is given to
//! the oldest command in flight (servers answer in order), `ESEARCH (TAG …)`
//! to the command it names, and data arriving with no command in flight
//! waits in [`Connection::take_unsolicited`].

use std::collections::{HashMap, VecDeque};
use std::io::{self, BufReader, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use super::error::{ClientError, ClientResult};
use super::tls::{handshake, Stream, TlsConfig};
use crate::imap::command::{Command, Part};
use crate::imap::framer::{read_frame, FrameError, Limits};
use crate::imap::response::{Code, Response, Status, StatusLine, Untagged};
use crate::storage::settings::SslMode;

/// Where to connect and how patiently.
#[derive(Clone, Debug)]
pub struct Target {
    pub host: String,
    pub port: u16,
    /// The addresses to try, in this order; empty: `host`'s, resolved at
    /// each connect (tests give their own).
    pub addresses: Vec<SocketAddr>,
    /// For opening a connection on one address: TCP, TLS, the greeting
    /// and the login together.
    pub connect_timeout: Duration,
    /// For each answer to a command.
    pub command_timeout: Duration,
    /// Unused this long, a connection is replaced before its next use.
    pub idle_timeout: Duration,
    pub ssl: SslMode,
    pub tls: TlsConfig,
    pub limits: Limits,
}

impl Target {
    /// `host:port` as shown in errors (IPv6 in brackets).
    pub fn display(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// A time by which waiting for the server must end, and the span it was
/// set for (named in the timeout error).
#[derive(Clone, Copy, Debug)]
pub struct Deadline {
    pub at: Instant,
    pub span: Duration,
}

impl Deadline {
    /// `span` from now.
    pub fn after(span: Duration) -> Deadline {
        Deadline {
            at: Instant::now() + span,
            span,
        }
    }

    /// Whichever comes first.
    pub fn min(self, other: Deadline) -> Deadline {
        if other.at < self.at {
            other
        } else {
            self
        }
    }

    /// The time left; zero once it has passed.
    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }
}

/// A finished command: its completion and the untagged data it received.
#[derive(Debug)]
pub struct Completion {
    pub line: StatusLine,
    pub data: Vec<Untagged>,
}

/// A logged-in (or not yet) connection to one server.
pub struct Connection {
    target: Target,
    /// Read through the buffer; written through `get_mut()`.
    stream: BufReader<Stream>,
    capabilities: Vec<String>,
    next_tag: u64,
    /// Tags in the order their commands were sent, not yet completed.
    in_flight: VecDeque<String>,
    /// Untagged data collected per tag.
    collected: HashMap<String, Vec<Untagged>>,
    /// Completions that arrived while waiting for another tag.
    finished: HashMap<String, Completion>,
    unsolicited: VecDeque<Untagged>,
    /// Why the connection can no longer be used, once it cannot.
    broken: Option<String>,
    /// The text of an untagged BYE, if one came.
    bye: Option<String>,
    /// What the parser left out of responses (`take_warnings`).
    warnings: Vec<String>,
    /// Warnings beyond [`MAX_WARNINGS`], only counted.
    warnings_dropped: usize,
    /// While the connection is being opened: every wait ends by then.
    deadline: Option<Deadline>,
    /// The next answer must come by then (`answer_by`).
    answer_by: Option<Deadline>,
    /// The socket's timeouts as last set, and the span a timeout error
    /// names for them.
    timeout: Duration,
    timeout_span: Duration,
}

/// Warnings a connection keeps between two `take_warnings`: a server that
/// sends garbage for every message must not fill the memory or the log.
const MAX_WARNINGS: usize = 20;

impl Connection {
    /// Connects as [`Connection::open`] does, from the host's first
    /// address, with no login and no deadline beyond connect_timeout.
    pub fn connect(target: &Target) -> ClientResult<Connection> {
        Connection::open(target, &mut 0, None, |_| Ok(()))
    }

    /// Opens a connection: the host's addresses are tried in turn from the
    /// `next`-th (wrapping) until one greets (TLS as configured) and
    /// `setup` (the login) succeeds there. Each address has
    /// connect_timeout for all of that, and waits end by `deadline` too:
    /// a proxy that accepts and never greets costs one connect_timeout,
    /// then the next address is tried. `next` is left at the address that
    /// worked, or after the last that failed, so the next open starts
    /// there. A refused login ([`ClientError::is_refusal`]) is final.
    pub fn open(
        target: &Target,
        next: &mut usize,
        deadline: Option<Deadline>,
        mut setup: impl FnMut(&mut Connection) -> ClientResult<()>,
    ) -> ClientResult<Connection> {
        let addresses = addresses(target)?;
        let mut last_error = None;
        for _ in 0..addresses.len() {
            *next %= addresses.len();
            let own = Deadline::after(target.connect_timeout);
            let by = deadline.map_or(own, |d| own.min(d));
            match Connection::open_at(target, addresses[*next], by, &mut setup) {
                Ok(connection) => return Ok(connection),
                Err(e) if e.is_refusal() => return Err(e),
                Err(e) => last_error = Some(e),
            }
            *next += 1;
            if deadline.is_some_and(|d| d.remaining().is_zero()) {
                break;
            }
        }
        Err(last_error.expect("at least one address"))
    }

    /// One address: TCP, TLS, the greeting, STARTTLS and `setup`, by `by`.
    fn open_at(
        target: &Target,
        address: SocketAddr,
        by: Deadline,
        setup: &mut impl FnMut(&mut Connection) -> ClientResult<()>,
    ) -> ClientResult<Connection> {
        let tcp = connect_tcp(target, address, by)?;
        let mut connection = Connection::new(target, tcp)?;
        connection.deadline = Some(by);
        if target.ssl == SslMode::Imaps {
            connection.handshake()?;
        }
        connection.read_greeting()?;
        if target.ssl == SslMode::Starttls {
            connection.start_tls()?;
        }
        setup(&mut connection)?;
        connection.deadline = None;
        Ok(connection)
    }

    /// A connection on a TCP stream just connected.
    fn new(target: &Target, tcp: TcpStream) -> ClientResult<Connection> {
        tcp.set_nodelay(true).map_err(|e| ClientError::Connect {
            target: target.display(),
            reason: e.to_string(),
        })?;
        Ok(Connection {
            target: target.clone(),
            stream: BufReader::with_capacity(64 * 1024, Stream::Plain(tcp)),
            capabilities: Vec::new(),
            next_tag: 1,
            in_flight: VecDeque::new(),
            collected: HashMap::new(),
            finished: HashMap::new(),
            unsolicited: VecDeque::new(),
            broken: None,
            bye: None,
            warnings: Vec::new(),
            warnings_dropped: 0,
            deadline: None,
            answer_by: None,
            // Not set on the socket yet: the first wait sets it.
            timeout: Duration::ZERO,
            timeout_span: Duration::ZERO,
        })
    }

    /// The next answer (any response) must come by `deadline`, whatever
    /// command_timeout says: for a command sent on a connection opened for
    /// it, so that its whole wait stays within one deadline. The answers
    /// after the first wait command_timeout each again (data is flowing).
    pub fn answer_by(&mut self, deadline: Deadline) {
        self.answer_by = Some(deadline);
    }

    /// `STARTTLS`, then the handshake; capabilities from before are dropped.
    fn start_tls(&mut self) -> ClientResult<()> {
        if self.capabilities.is_empty() {
            self.refresh_capabilities()?;
        }
        if !self.has_capability("STARTTLS") {
            return Err(self.fail(tls_error(
                &self.target,
                "the server does not offer STARTTLS".into(),
            )));
        }
        self.execute(&Command::new("STARTTLS"))?;
        // Bytes sent before the handshake would be read as if protected.
        if !self.stream.buffer().is_empty() {
            return Err(self.fail(tls_error(
                &self.target,
                "server sent data after STARTTLS".into(),
            )));
        }
        self.handshake()?;
        self.capabilities.clear();
        self.refresh_capabilities()
    }

    /// The TLS handshake on the plain stream (imaps, or after STARTTLS),
    /// within the same timeouts as any other wait.
    fn handshake(&mut self) -> ClientResult<()> {
        self.arm_timeout("the TLS handshake")?;
        let detached = BufReader::new(Stream::Detached);
        let Stream::Plain(tcp) = std::mem::replace(&mut self.stream, detached).into_inner() else {
            return Err(self.fail(ClientError::Protocol("TLS on a TLS connection".into())));
        };
        let stream = handshake(tcp, &self.target.host, &self.target.tls);
        let stream = stream.map_err(|reason| self.fail(tls_error(&self.target, reason)))?;
        self.stream = BufReader::with_capacity(64 * 1024, stream);
        Ok(())
    }

    fn read_greeting(&mut self) -> ClientResult<()> {
        match self.read_response("the server greeting")? {
            Response::Untagged(Untagged::Status(line))
                if matches!(line.status, Status::Ok | Status::Preauth) =>
            {
                if let Some(Code::Capability(caps)) = line.code {
                    self.capabilities = caps;
                }
                Ok(())
            }
            Response::Untagged(Untagged::Status(line)) if line.status == Status::Bye => Err(self
                .fail(ClientError::Closed(format!(
                    "server greeted with BYE: {}",
                    line.text
                )))),
            other => Err(self.fail(ClientError::Protocol(format!(
                "unexpected greeting {other:?}"
            )))),
        }
    }

    /// The capabilities last announced (greeting, login, or CAPABILITY).
    pub fn capabilities(&self) -> &[String] {
        &self.capabilities
    }

    /// Whether the server announced `capability` (case-insensitive).
    pub fn has_capability(&self, capability: &str) -> bool {
        self.capabilities
            .iter()
            .any(|c| c.eq_ignore_ascii_case(capability))
    }

    /// Replaces the known capabilities (after login, or a CAPABILITY code).
    pub fn set_capabilities(&mut self, capabilities: Vec<String>) {
        self.capabilities = capabilities;
    }

    /// Asks for the capabilities and remembers them.
    pub fn refresh_capabilities(&mut self) -> ClientResult<()> {
        let done = self.execute(&Command::new("CAPABILITY"))?;
        for data in done.data {
            if let Untagged::Capability(caps) = data {
                self.capabilities = caps;
            }
        }
        Ok(())
    }

    /// Whether the connection is still usable.
    pub fn is_usable(&self) -> bool {
        self.broken.is_none()
    }

    /// Whether every command sent has been answered.
    pub fn is_quiet(&self) -> bool {
        self.in_flight.is_empty()
    }

    /// Sends a command without waiting for its completion; returns its tag.
    pub fn send(&mut self, command: &Command) -> ClientResult<String> {
        self.check_usable()?;
        let tag = format!("s{}", self.next_tag);
        self.next_tag += 1;
        // Responses to this command may arrive while its literals are sent.
        self.in_flight.push_back(tag.clone());
        if let Err(e) = self.write_command(&tag, command) {
            return Err(self.fail(e));
        }
        Ok(tag)
    }

    fn write_command(&mut self, tag: &str, command: &Command) -> ClientResult<()> {
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(tag.as_bytes());
        buf.push(b' ');
        let non_sync = self.has_capability("LITERAL+");
        let non_sync_small = self.has_capability("LITERAL-");
        for part in command.parts() {
            match part {
                Part::Text(text) => buf.extend_from_slice(text),
                Part::Literal(bytes) if non_sync || (non_sync_small && bytes.len() <= 4096) => {
                    buf.extend_from_slice(format!("{{{}+}}\r\n", bytes.len()).as_bytes());
                    buf.extend_from_slice(bytes);
                }
                Part::Literal(bytes) => {
                    buf.extend_from_slice(format!("{{{}}}\r\n", bytes.len()).as_bytes());
                    self.write_all(&buf, command.name())?;
                    buf.clear();
                    self.wait_continuation(tag, command.name())?;
                    buf.extend_from_slice(bytes);
                }
            }
        }
        buf.extend_from_slice(b"\r\n");
        self.write_all(&buf, command.name())
    }

    /// Sends one line in answer to a continuation request (SASL, IDLE's DONE).
    pub fn send_line(&mut self, line: &[u8], what: &'static str) -> ClientResult<()> {
        self.check_usable()?;
        let mut buf = line.to_vec();
        buf.extend_from_slice(b"\r\n");
        self.write_all(&buf, what).map_err(|e| self.fail(e))
    }

    fn write_all(&mut self, bytes: &[u8], what: &str) -> ClientResult<()> {
        self.arm_timeout(what)?;
        let writer = self.stream.get_mut();
        let result = writer.write_all(bytes).and_then(|()| writer.flush());
        result.map_err(|e| self.io_error(e, what))
    }

    /// Waits for `+` (for the command `tag`), handling other responses
    /// meanwhile; the server may refuse with a completion instead.
    pub fn wait_continuation(&mut self, tag: &str, command: &'static str) -> ClientResult<String> {
        loop {
            match self.read_response(command)? {
                Response::Continuation(text) => return Ok(text),
                Response::Tagged { tag: t, line } if t == tag => {
                    self.in_flight.retain(|x| *x != t);
                    self.collected.remove(&t);
                    return Err(rejected(command, line));
                }
                other => self.dispatch(other)?,
            }
        }
    }

    /// Waits for the completion of `tag`.
    pub fn wait(&mut self, tag: &str) -> ClientResult<Completion> {
        loop {
            if let Some(done) = self.finished.remove(tag) {
                return Ok(done);
            }
            self.check_usable()?;
            let response = self.read_response(&format!("the answer to {tag}"))?;
            self.dispatch(response)?;
        }
    }

    /// The completion of `tag` if it has arrived (no waiting).
    pub fn take_finished(&mut self, tag: &str) -> Option<Completion> {
        self.finished.remove(tag)
    }

    /// Sends `command`, waits for it, and fails unless the server said OK.
    pub fn execute(&mut self, command: &Command) -> ClientResult<Completion> {
        let tag = self.send(command)?;
        let done = self.wait(&tag)?;
        match done.line.status {
            Status::Ok => Ok(done),
            _ => Err(rejected(command.name(), done.line)),
        }
    }

    /// The untagged data collected so far for a command still in flight
    /// (IDLE's updates).
    pub fn take_data(&mut self, tag: &str) -> Vec<Untagged> {
        self.collected
            .get_mut(tag)
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Untagged data that arrived with no command in flight, in order.
    pub fn take_unsolicited(&mut self) -> Vec<Untagged> {
        self.unsolicited.drain(..).collect()
    }

    /// Reads one response and routes it; for IDLE, which waits for updates.
    pub fn read_one(&mut self, what: &str) -> ClientResult<()> {
        let response = self.read_response(what)?;
        self.dispatch(response)
    }

    /// Whether a response has begun to arrive, never waiting: in the
    /// buffer, in the TLS layer (which the socket no longer shows), or on
    /// the socket. Reading it then waits only for its rest.
    pub fn has_input(&mut self) -> ClientResult<bool> {
        self.check_usable()?;
        if !self.stream.buffer().is_empty() {
            return Ok(true);
        }
        match self.stream.get_mut().has_input() {
            Ok(ready) => Ok(ready),
            Err(e) => Err(self.io_error(e, "the server's updates")),
        }
    }

    /// The socket, for a caller's event loop to watch (IDLE): readable
    /// when the server sends, though with TLS also when it sends no data
    /// and not when data sits decrypted already (see `has_input`).
    pub fn raw_fd(&self) -> Option<RawFd> {
        self.stream.get_ref().tcp().map(AsRawFd::as_raw_fd)
    }

    fn dispatch(&mut self, response: Response) -> ClientResult<()> {
        match response {
            Response::Tagged { tag, line } => {
                if !self.in_flight.contains(&tag) {
                    return Err(self.fail(ClientError::Protocol(format!(
                        "completion for unknown tag {tag:?}"
                    ))));
                }
                self.complete(tag, line);
                Ok(())
            }
            Response::Untagged(Untagged::Status(line)) if line.status == Status::Bye => {
                self.bye = Some(line.text);
                Ok(())
            }
            Response::Untagged(data) => {
                let owner = match &data {
                    Untagged::Esearch(e) => e.tag.clone().filter(|t| self.in_flight.contains(t)),
                    _ => None,
                }
                .or_else(|| self.in_flight.front().cloned());
                match owner {
                    Some(tag) => self.collected.entry(tag).or_default().push(data),
                    None => self.unsolicited.push_back(data),
                }
                Ok(())
            }
            Response::Continuation(_) => Err(self.fail(ClientError::Protocol(
                "continuation request while sending nothing".into(),
            ))),
        }
    }

    fn complete(&mut self, tag: String, line: StatusLine) {
        self.in_flight.retain(|t| *t != tag);
        let data = self.collected.remove(&tag).unwrap_or_default();
        self.finished.insert(tag, Completion { line, data });
    }

    fn read_response(&mut self, what: &str) -> ClientResult<Response> {
        self.check_usable()?;
        self.arm_timeout(what)?;
        let frame = match read_frame(&mut self.stream, &self.target.limits) {
            Ok(frame) => {
                self.answer_by = None;
                frame
            }
            Err(FrameError::Io(e)) => return Err(self.io_error(e, what)),
            Err(FrameError::Eof { partial }) => {
                let reason = match (&self.bye, partial) {
                    (Some(bye), _) => format!("server said BYE: {bye}"),
                    (None, true) => {
                        "server closed the connection in the middle of a response".into()
                    }
                    (None, false) => {
                        format!("server closed the connection while we waited for {what}")
                    }
                };
                return Err(self.fail(ClientError::Closed(reason)));
            }
            Err(e) => return Err(self.fail(ClientError::Protocol(e.to_string()))),
        };
        let parsed = Response::parse(frame)
            .map_err(|e| self.fail(ClientError::Protocol(format!("unparsable response: {e}"))))?;
        self.note_warnings(parsed.warnings);
        Ok(parsed.response)
    }

    /// Keeps what the parser left out of responses, for the log; the
    /// first [`MAX_WARNINGS`] and a count of the others.
    fn note_warnings(&mut self, warnings: Vec<String>) {
        for warning in warnings {
            if self.warnings.len() < MAX_WARNINGS {
                self.warnings.push(warning);
            } else {
                self.warnings_dropped += 1;
            }
        }
    }

    /// What the parser left out of responses since the last call, each
    /// with why, for the log.
    pub fn take_warnings(&mut self) -> Vec<String> {
        let mut warnings = std::mem::take(&mut self.warnings);
        let dropped = std::mem::take(&mut self.warnings_dropped);
        if dropped > 0 {
            warnings.push(format!("and {dropped} more parts of responses left out"));
        }
        warnings
    }

    /// Sets the socket's timeouts for the next wait: command_timeout, or
    /// the time left before a deadline when that is less (a syscall only
    /// then). Fails once a deadline has passed.
    fn arm_timeout(&mut self, what: &str) -> ClientResult<()> {
        let deadline = match (self.deadline, self.answer_by) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let (timeout, span) = match deadline {
            Some(d) if d.remaining() < self.target.command_timeout => (d.remaining(), d.span),
            _ => (self.target.command_timeout, self.target.command_timeout),
        };
        self.timeout_span = span;
        if timeout.is_zero() {
            let e = io::Error::from(io::ErrorKind::TimedOut);
            return Err(self.io_error(e, what));
        }
        if timeout == self.timeout {
            return Ok(());
        }
        let set = match self.stream.get_ref().tcp() {
            Some(tcp) => tcp
                .set_read_timeout(Some(timeout))
                .and_then(|()| tcp.set_write_timeout(Some(timeout))),
            None => Ok(()),
        };
        set.map_err(|e| self.io_error(e, what))?;
        self.timeout = timeout;
        Ok(())
    }

    fn io_error(&mut self, e: io::Error, what: &str) -> ClientError {
        let error = match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ClientError::Timeout {
                waiting_for: what.to_string(),
                after: self.timeout_span,
            },
            _ => ClientError::Closed(format!("{} while waiting for {what}", e)),
        };
        self.fail(error)
    }

    /// Closes the connection (best effort, without waiting for the server).
    pub fn close(&mut self) {
        if self.is_usable() {
            let _ = self.send(&Command::new("LOGOUT"));
        }
        self.fail(ClientError::Closed("closed by the client".into()));
    }

    /// Marks the connection broken by `error` and hands the error back.
    fn fail(&mut self, error: ClientError) -> ClientError {
        if error.breaks_connection() && self.broken.is_none() {
            self.broken = Some(error.to_string());
            if let Some(tcp) = self.stream.get_ref().tcp() {
                let _ = tcp.shutdown(std::net::Shutdown::Both);
            }
        }
        error
    }

    fn check_usable(&self) -> ClientResult<()> {
        match &self.broken {
            Some(reason) => Err(ClientError::Closed(reason.clone())),
            None => Ok(()),
        }
    }
}

fn tls_error(target: &Target, reason: String) -> ClientError {
    ClientError::Tls {
        target: target.display(),
        reason,
    }
}

/// The error for a NO/BAD completion.
pub fn rejected(command: &'static str, line: StatusLine) -> ClientError {
    ClientError::Rejected {
        command,
        status: line.status,
        code: line.code,
        text: line.text,
    }
}

/// The addresses to try: the target's own, or its host's.
fn addresses(target: &Target) -> ClientResult<Vec<SocketAddr>> {
    if !target.addresses.is_empty() {
        return Ok(target.addresses.clone());
    }
    let error = |reason: String| ClientError::Connect {
        target: target.display(),
        reason,
    };
    let resolved: Vec<SocketAddr> = (target.host.as_str(), target.port)
        .to_socket_addrs()
        .map_err(|e| error(format!("cannot resolve: {e}")))?
        .collect();
    if resolved.is_empty() {
        return Err(error("host has no addresses".into()));
    }
    Ok(resolved)
}

/// A TCP connection to `address`, by `by`.
fn connect_tcp(target: &Target, address: SocketAddr, by: Deadline) -> ClientResult<TcpStream> {
    let error = |reason: String| ClientError::Connect {
        target: target.display(),
        reason,
    };
    let no_answer = || {
        error(format!(
            "no answer from {address} within {}s",
            by.span.as_secs_f32()
        ))
    };
    let remaining = by.remaining();
    if remaining.is_zero() {
        return Err(no_answer());
    }
    TcpStream::connect_timeout(&address, remaining).map_err(|e| match e.kind() {
        io::ErrorKind::TimedOut => no_answer(),
        _ => error(format!("{address}: {e}")),
    })
}
