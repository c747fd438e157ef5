//! Typed server responses (RFC 3501, RFC 9051 and the extensions the storage
//! uses) parsed from a [`Frame`].
//!
//! Untagged data that the storage does not interpret stays available as
//! [`Untagged::Other`] with its values, so nothing a server sends is lost
//! and nothing unknown is an error. What cannot be read is left out as
//! narrowly as possible, with a warning: a flag that is no atom, the rest
//! of a FETCH from a broken item on ([`Untagged::Fetch`]'s `broken`),
//! other untagged data as [`Untagged::Unreadable`]; its consumer decides
//! what that means. Only tagged and status lines must be read whole.

use super::framer::Frame;
use super::sequence::SequenceSet;
use super::value::{shown, ParseError, ParseResult, Tokens, Value};

/// `OK`, `NO`, `BAD`, `PREAUTH` or `BYE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Ok,
    No,
    Bad,
    Preauth,
    Bye,
}

impl Status {
    fn parse(word: &str) -> Option<Status> {
        Some(match word.to_ascii_uppercase().as_str() {
            "OK" => Status::Ok,
            "NO" => Status::No,
            "BAD" => Status::Bad,
            "PREAUTH" => Status::Preauth,
            "BYE" => Status::Bye,
            _ => return None,
        })
    }
}

/// A response code (`[...]` after the status).
#[derive(Debug, PartialEq, Eq)]
pub enum Code {
    Alert,
    Capability(Vec<String>),
    PermanentFlags(Vec<String>),
    ReadOnly,
    ReadWrite,
    TryCreate,
    UidNext(u32),
    UidValidity(u32),
    Unseen(u32),
    HighestModseq(u64),
    NoModseq,
    Closed,
    AppendUid {
        uidvalidity: u32,
        uids: SequenceSet,
    },
    CopyUid {
        uidvalidity: u32,
        source: SequenceSet,
        destination: SequenceSet,
    },
    /// A code without arguments the storage maps to an error kind:
    /// `UNAVAILABLE`, `NOPERM`, `OVERQUOTA`, `ALREADYEXISTS`, `NONEXISTENT`,
    /// `AUTHENTICATIONFAILED`, `SERVERBUG`, `LIMIT`, …
    Named(String),
    /// Any other code with its raw arguments.
    Other(String, String),
}

/// A tagged completion or untagged status line.
#[derive(Debug, PartialEq, Eq)]
pub struct StatusLine {
    pub status: Status,
    pub code: Option<Code>,
    pub text: String,
}

/// One `LIST` (or `LSUB`) entry.
#[derive(Debug, PartialEq, Eq)]
pub struct ListEntry {
    pub attributes: Vec<String>,
    pub delimiter: Option<u8>,
    /// As sent (modified UTF-7 unless UTF8=ACCEPT is enabled).
    pub name: Vec<u8>,
}

/// `ESEARCH` results.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Esearch {
    pub tag: Option<String>,
    pub uid: bool,
    pub min: Option<u32>,
    pub max: Option<u32>,
    pub count: Option<u32>,
    pub all: Option<SequenceSet>,
    pub modseq: Option<u64>,
}

/// Untagged server data.
#[derive(Debug)]
pub enum Untagged {
    Status(StatusLine),
    Capability(Vec<String>),
    Enabled(Vec<String>),
    Exists(u32),
    Recent(u32),
    Expunge(u32),
    Flags(Vec<String>),
    /// `VANISHED [(EARLIER)] uid-set` (QRESYNC).
    Vanished {
        earlier: bool,
        uids: SequenceSet,
    },
    /// `FETCH`: the sequence number and the items by (upper-case) name.
    Fetch {
        seq: u32,
        items: Vec<(String, Value)>,
        /// Why the items after these could not be read (the rest of the
        /// response is left out), if they could not.
        broken: Option<String>,
    },
    List(ListEntry),
    Lsub(ListEntry),
    /// `STATUS mailbox (name value …)`.
    MailboxStatus {
        mailbox: Vec<u8>,
        items: Vec<(String, u64)>,
    },
    /// `SEARCH n… [(MODSEQ m)]`.
    Search {
        ids: Vec<u32>,
        modseq: Option<u64>,
    },
    Esearch(Esearch),
    Sort(Vec<u32>),
    /// `THREAD` trees, as nested lists of numbers.
    Thread(Vec<Value>),
    MyRights {
        mailbox: Vec<u8>,
        rights: String,
    },
    Acl {
        mailbox: Vec<u8>,
        entries: Vec<(String, String)>,
    },
    ListRights {
        mailbox: Vec<u8>,
        identifier: String,
        required: String,
        optional: Vec<String>,
    },
    Quota {
        root: String,
        resources: Vec<(String, u64, u64)>,
    },
    QuotaRoot {
        mailbox: Vec<u8>,
        roots: Vec<String>,
    },
    Id(Vec<(String, Option<String>)>),
    Namespace(Vec<Value>),
    Other {
        name: String,
        values: Vec<Value>,
    },
    /// Untagged data that could not be read: its name (upper-case; empty
    /// when not even that could be read) and why.
    Unreadable {
        name: String,
        reason: String,
    },
}

impl Untagged {
    /// Whether this is data that could not be read and may have been
    /// about the selected folder's messages (their number, flags or
    /// expunges): all the reader knows then is that something changed.
    pub fn unreadable_message_data(&self) -> bool {
        matches!(self, Untagged::Unreadable { name, .. }
            if ["", "EXISTS", "RECENT", "EXPUNGE", "FETCH", "VANISHED"].contains(&name.as_str()))
    }
}

/// One whole server response.
#[derive(Debug)]
pub enum Response {
    Tagged { tag: String, line: StatusLine },
    Untagged(Untagged),
    Continuation(String),
}

/// A response, and what of it was left out (for the log).
#[derive(Debug)]
pub struct Parsed {
    pub response: Response,
    /// Each part left out, and why (a flag that is no atom, …).
    pub warnings: Vec<String>,
}

impl Response {
    /// Parses a framed response. A part that cannot be used is left out
    /// and named in the warnings; only what leaves no usable response is
    /// an error.
    pub fn parse(frame: Frame) -> ParseResult<Parsed> {
        let mut t = Tokens::new(frame);
        let response = response(&mut t)?;
        Ok(Parsed {
            response,
            warnings: t.take_warnings(),
        })
    }
}

fn response(t: &mut Tokens) -> ParseResult<Response> {
    if t.accept(b'+') {
        t.accept(b' ');
        return Ok(Response::Continuation(t.rest_of_line()));
    }
    if t.accept(b'*') {
        t.expect(b' ')?;
        return untagged(t).map(Response::Untagged);
    }
    let tag = t.atom()?;
    t.expect(b' ')?;
    let word = t.atom()?;
    let status = Status::parse(&word)
        .ok_or_else(|| ParseError(format!("tagged response with status {word:?}")))?;
    Ok(Response::Tagged {
        tag,
        line: status_line(t, status)?,
    })
}

fn status_line(t: &mut Tokens, status: Status) -> ParseResult<StatusLine> {
    t.skip_spaces();
    let code = if t.peek_is(b'[') {
        Some(code(t)?)
    } else {
        None
    };
    t.skip_spaces();
    Ok(StatusLine {
        status,
        code,
        text: t.rest_of_line(),
    })
}

fn code(t: &mut Tokens) -> ParseResult<Code> {
    t.expect(b'[')?;
    let name = code_name(t)?.to_ascii_uppercase();
    let code = match name.as_str() {
        "ALERT" => Code::Alert,
        "READ-ONLY" => Code::ReadOnly,
        "READ-WRITE" => Code::ReadWrite,
        "TRYCREATE" => Code::TryCreate,
        "NOMODSEQ" => Code::NoModseq,
        "CLOSED" => Code::Closed,
        "CAPABILITY" => Code::Capability(atoms_until(t, b']')?),
        "PERMANENTFLAGS" => {
            t.skip_spaces();
            Code::PermanentFlags(flag_list(t)?)
        }
        "UIDNEXT" => Code::UidNext(spaced(t, Tokens::number32)?),
        "UIDVALIDITY" => Code::UidValidity(spaced(t, Tokens::number32)?),
        "UNSEEN" => Code::Unseen(spaced(t, Tokens::number32)?),
        "HIGHESTMODSEQ" => Code::HighestModseq(spaced(t, Tokens::number)?),
        "APPENDUID" => Code::AppendUid {
            uidvalidity: spaced(t, Tokens::number32)?,
            uids: spaced(t, sequence_set)?,
        },
        "COPYUID" => Code::CopyUid {
            uidvalidity: spaced(t, Tokens::number32)?,
            source: spaced(t, sequence_set)?,
            destination: spaced(t, sequence_set)?,
        },
        _ if t.peek_is(b']') => Code::Named(name),
        _ => {
            t.skip_spaces();
            Code::Other(name, raw_until_bracket(t))
        }
    };
    t.skip_spaces();
    t.expect(b']')?;
    Ok(code)
}

/// A response code's name: an atom that stops at `]`.
fn code_name(t: &mut Tokens) -> ParseResult<String> {
    t.atom()
}

fn raw_until_bracket(t: &mut Tokens) -> String {
    let mut out = String::new();
    while !t.peek_is(b']') && !t.at_end() {
        match t.value(0) {
            Ok(v) => out.push_str(&v.as_text().unwrap_or_default()),
            Err(_) => break,
        }
        if t.accept(b' ') {
            out.push(' ');
        }
    }
    out
}

fn spaced<T>(t: &mut Tokens, read: impl FnOnce(&mut Tokens) -> ParseResult<T>) -> ParseResult<T> {
    t.expect(b' ')?;
    read(t)
}

fn sequence_set(t: &mut Tokens) -> ParseResult<SequenceSet> {
    let atom = match t.value(0)? {
        Value::Number(n) => n.to_string(),
        Value::Atom(a) => a,
        other => {
            return Err(ParseError(format!(
                "expected a sequence set, got {other:?}"
            )))
        }
    };
    SequenceSet::parse(&atom).ok_or_else(|| ParseError(format!("invalid sequence set {atom:?}")))
}

/// Space-separated atoms up to `end` (not consumed) or the end of the line.
fn atoms_until(t: &mut Tokens, end: u8) -> ParseResult<Vec<String>> {
    let mut out = Vec::new();
    loop {
        t.skip_spaces();
        if t.peek_is(end) || t.at_end() || t.rest_is_empty() {
            return Ok(out);
        }
        out.push(t.atom()?);
    }
}

/// A flag list `(…)` (FLAGS, PERMANENTFLAGS, LIST attributes): each flag
/// as the server wrote it, `NIL` and `007` included (atoms here like any
/// other). A flag that is no atom is left out with a warning; only a list
/// whose end cannot be found is an error.
fn flag_list(t: &mut Tokens) -> ParseResult<Vec<String>> {
    t.expect(b'(')?;
    let mut flags = Vec::new();
    loop {
        t.skip_spaces();
        if t.accept(b')') {
            return Ok(flags);
        }
        match flag(t)? {
            Ok(flag) => flags.push(flag),
            Err(junk) => t.warn(format!("flag {junk} left out: not an atom")),
        }
    }
}

/// The next flag of a list, or what stands there instead (shown).
fn flag(t: &mut Tokens) -> ParseResult<Result<String, String>> {
    let bytes = t.flag_bytes();
    if is_flag(bytes) {
        // ASCII by `is_flag`.
        return Ok(Ok(String::from_utf8_lossy(bytes).into_owned()));
    }
    if !bytes.is_empty() {
        return Ok(Err(format!("{:?}", shown(bytes))));
    }
    // A string, literal or list: no flag, but its end is known.
    Ok(Err(describe(&t.value(1)?)))
}

/// A value for a message, without copying a literal or a long string.
fn describe(value: &Value) -> String {
    match value {
        Value::Str(s) => format!("\"{}\"", shown(s)),
        Value::Literal(l) => format!("a {}-byte literal", l.len()),
        Value::List(_) | Value::ListText(_) => "a list".into(),
        other => format!("{:?}", other.as_text().unwrap_or_default()),
    }
}

/// `flag-perm` of RFC 3501 and 9051: an atom, `\` and an atom, or `\*`.
fn is_flag(bytes: &[u8]) -> bool {
    let atom = bytes.strip_prefix(b"\\").unwrap_or(bytes);
    let atom_char = |b: &u8| (0x21..0x7f).contains(b) && !b"(){%*\"\\]".contains(b);
    atom == b"*" && bytes.len() == 2 || !atom.is_empty() && atom.iter().all(atom_char)
}

fn astring_bytes(t: &mut Tokens) -> ParseResult<Vec<u8>> {
    match t.value(0)? {
        Value::Number(n) => Ok(n.to_string().into_bytes()),
        v => v
            .as_bytes()
            .map(<[u8]>::to_vec)
            .ok_or_else(|| ParseError(format!("expected a string, got {v:?}"))),
    }
}

/// Untagged status or data. Data that cannot be read is kept as
/// [`Untagged::Unreadable`] (a FETCH: as far as it could be read): the
/// frame delimited it, so the responses after it are read as ever. A
/// status line that cannot be read is an error.
fn untagged(t: &mut Tokens) -> ParseResult<Untagged> {
    let first = match t.value(0) {
        Ok(first) => first,
        Err(e) => return Ok(unreadable(t, "", e)),
    };
    if let Value::Number(n) = first {
        return Ok(match spaced(t, Tokens::atom) {
            Ok(word) => {
                let word = word.to_ascii_uppercase();
                message_data(t, n, &word).unwrap_or_else(|e| unreadable(t, &word, e))
            }
            Err(e) => unreadable(t, "", e),
        });
    }
    let word = match first {
        Value::Atom(a) => a.to_ascii_uppercase(),
        other => {
            let e = ParseError(format!("untagged response starts with {other:?}"));
            return Ok(unreadable(t, "", e));
        }
    };
    if let Some(status) = Status::parse(&word) {
        return status_line(t, status).map(Untagged::Status);
    }
    Ok(data(t, &word).unwrap_or_else(|e| unreadable(t, &word, e)))
}

/// `* n EXISTS`, `* n FETCH (…)` and the like.
fn message_data(t: &mut Tokens, n: u64, word: &str) -> ParseResult<Untagged> {
    let n = u32::try_from(n).map_err(|_| ParseError(format!("message number {n} out of range")))?;
    Ok(match word {
        "EXISTS" => Untagged::Exists(n),
        "RECENT" => Untagged::Recent(n),
        "EXPUNGE" => Untagged::Expunge(n),
        "FETCH" => fetch(t, n),
        _ => Untagged::Other {
            name: format!("{n} {word}"),
            values: rest_values(t)?,
        },
    })
}

/// Untagged data named by its first word.
fn data(t: &mut Tokens, word: &str) -> ParseResult<Untagged> {
    Ok(match word {
        "CAPABILITY" => Untagged::Capability(atoms_until(t, b'\n')?),
        "ENABLED" => Untagged::Enabled(atoms_until(t, b'\n')?),
        "FLAGS" => Untagged::Flags(spaced(t, flag_list)?),
        "LIST" => Untagged::List(spaced(t, list_entry)?),
        "LSUB" => Untagged::Lsub(spaced(t, list_entry)?),
        "STATUS" => mailbox_status(t)?,
        "SEARCH" => search(t)?,
        "ESEARCH" => Untagged::Esearch(esearch(t)?),
        "SORT" => Untagged::Sort(numbers(t)?),
        "THREAD" => Untagged::Thread(rest_values(t)?),
        "VANISHED" => vanished(t)?,
        "MYRIGHTS" => Untagged::MyRights {
            mailbox: spaced(t, astring_bytes)?,
            rights: text_value(t)?,
        },
        "ACL" => acl(t)?,
        "LISTRIGHTS" => list_rights(t)?,
        "QUOTA" => quota(t)?,
        "QUOTAROOT" => {
            let mailbox = spaced(t, astring_bytes)?;
            let roots = rest_values(t)?
                .iter()
                .filter_map(|v| v.as_text().map(|s| s.into_owned()))
                .collect();
            Untagged::QuotaRoot { mailbox, roots }
        }
        "ID" => id(t)?,
        "NAMESPACE" => Untagged::Namespace(rest_values(t)?),
        _ => Untagged::Other {
            name: word.to_string(),
            values: rest_values(t)?,
        },
    })
}

/// Untagged data that could not be read, noted for the log.
fn unreadable(t: &mut Tokens, name: &str, e: ParseError) -> Untagged {
    t.warn(format!("unreadable response {:?}: {e}", t.excerpt()));
    Untagged::Unreadable {
        name: name.to_string(),
        reason: e.0,
    }
}

/// Every remaining value of the response.
fn rest_values(t: &mut Tokens) -> ParseResult<Vec<Value>> {
    let mut out = Vec::new();
    loop {
        t.skip_spaces();
        if t.at_end() {
            return Ok(out);
        }
        out.push(t.value(0)?);
    }
}

fn text_value(t: &mut Tokens) -> ParseResult<String> {
    t.skip_spaces();
    let v = t.value(0)?;
    v.as_text()
        .map(|s| s.into_owned())
        .ok_or_else(|| ParseError(format!("expected a string, got {v:?}")))
}

fn numbers(t: &mut Tokens) -> ParseResult<Vec<u32>> {
    let mut out = Vec::new();
    loop {
        t.skip_spaces();
        if t.at_end() || t.peek_is(b'(') {
            return Ok(out);
        }
        out.push(t.number32()?);
    }
}

/// A FETCH response: its items as far as they could be read.
fn fetch(t: &mut Tokens, seq: u32) -> Untagged {
    let mut items = Vec::new();
    let broken = fetch_items(t, &mut items).err().map(|e| {
        let read = items.iter().map(|(name, _)| name.as_str());
        let read = read.collect::<Vec<_>>().join(" ");
        t.warn(format!(
            "FETCH of message {seq} cut short after ({read}): {e} in {:?}",
            t.excerpt()
        ));
        e.0
    });
    Untagged::Fetch { seq, items, broken }
}

fn fetch_items(t: &mut Tokens, items: &mut Vec<(String, Value)>) -> ParseResult<()> {
    t.expect(b' ')?;
    t.expect(b'(')?;
    loop {
        t.skip_spaces();
        if t.accept(b')') {
            return Ok(());
        }
        let mut name = t.atom()?;
        name.make_ascii_uppercase();
        t.expect(b' ')?;
        let structure = matches!(name.as_str(), "ENVELOPE" | "BODY" | "BODYSTRUCTURE");
        let value = if name == "FLAGS" {
            Value::List(flag_list(t)?.into_iter().map(Value::Atom).collect())
        } else if structure && t.peek_is(b'(') {
            Value::ListText(t.list_text()?)
        } else {
            t.value(1)?
        };
        items.push((name, value));
    }
}

fn list_entry(t: &mut Tokens) -> ParseResult<ListEntry> {
    let attributes = flag_list(t)?;
    t.expect(b' ')?;
    let delimiter = match t.value(0)? {
        Value::Nil => None,
        Value::Str(s) if s.len() == 1 => Some(s[0]),
        other => return Err(ParseError(format!("invalid LIST delimiter {other:?}"))),
    };
    let name = spaced(t, astring_bytes)?;
    // LIST-EXTENDED data (CHILDINFO, OLDNAME) is accepted and not needed here.
    rest_values(t)?;
    Ok(ListEntry {
        attributes,
        delimiter,
        name,
    })
}

fn mailbox_status(t: &mut Tokens) -> ParseResult<Untagged> {
    let mailbox = spaced(t, astring_bytes)?;
    t.skip_spaces();
    let Value::List(values) = t.list(0)? else {
        unreachable!("list() returns a list")
    };
    let items = values
        .chunks(2)
        .map(|pair| match pair {
            [Value::Atom(name), Value::Number(n)] => Ok((name.to_ascii_uppercase(), *n)),
            _ => Err(ParseError(format!("invalid STATUS item {pair:?}"))),
        })
        .collect::<ParseResult<_>>()?;
    Ok(Untagged::MailboxStatus { mailbox, items })
}

fn search(t: &mut Tokens) -> ParseResult<Untagged> {
    let ids = numbers(t)?;
    let modseq = if t.peek_is(b'(') {
        let Value::List(items) = t.list(0)? else {
            unreachable!("list() returns a list")
        };
        match items.as_slice() {
            [name, Value::Number(m)] if name.is_atom("MODSEQ") => Some(*m),
            _ => return Err(ParseError("invalid SEARCH MODSEQ".into())),
        }
    } else {
        None
    };
    Ok(Untagged::Search { ids, modseq })
}

fn esearch(t: &mut Tokens) -> ParseResult<Esearch> {
    let mut out = Esearch::default();
    t.skip_spaces();
    if t.peek_is(b'(') {
        let Value::List(correlator) = t.list(0)? else {
            unreachable!("list() returns a list")
        };
        if let [name, tag] = correlator.as_slice() {
            if name.is_atom("TAG") {
                out.tag = tag.as_text().map(|s| s.into_owned());
            }
        }
    }
    loop {
        t.skip_spaces();
        if t.at_end() {
            return Ok(out);
        }
        let mut name = t.atom()?;
        name.make_ascii_uppercase();
        if name == "UID" {
            out.uid = true;
            continue;
        }
        t.expect(b' ')?;
        match name.as_str() {
            "MIN" => out.min = Some(t.number32()?),
            "MAX" => out.max = Some(t.number32()?),
            "COUNT" => out.count = Some(t.number32()?),
            "ALL" => out.all = Some(sequence_set(t)?),
            "MODSEQ" => out.modseq = Some(t.number()?),
            _ => {
                t.value(0)?;
            }
        }
    }
}

fn vanished(t: &mut Tokens) -> ParseResult<Untagged> {
    t.skip_spaces();
    let mut earlier = false;
    if t.peek_is(b'(') {
        let Value::List(items) = t.list(0)? else {
            unreachable!("list() returns a list")
        };
        earlier = items.iter().any(|v| v.is_atom("EARLIER"));
        t.skip_spaces();
    }
    Ok(Untagged::Vanished {
        earlier,
        uids: sequence_set(t)?,
    })
}

fn acl(t: &mut Tokens) -> ParseResult<Untagged> {
    let mailbox = spaced(t, astring_bytes)?;
    let values = rest_values(t)?;
    let texts: Vec<String> = values
        .iter()
        .map(|v| v.as_text().unwrap_or_default().into_owned())
        .collect();
    if texts.len() % 2 != 0 {
        return Err(ParseError(
            "ACL response with an identifier but no rights".into(),
        ));
    }
    let entries = texts
        .chunks(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect();
    Ok(Untagged::Acl { mailbox, entries })
}

fn list_rights(t: &mut Tokens) -> ParseResult<Untagged> {
    let mailbox = spaced(t, astring_bytes)?;
    let identifier = text_value(t)?;
    let required = text_value(t)?;
    let optional = rest_values(t)?
        .iter()
        .filter_map(|v| v.as_text().map(|s| s.into_owned()))
        .collect();
    Ok(Untagged::ListRights {
        mailbox,
        identifier,
        required,
        optional,
    })
}

fn quota(t: &mut Tokens) -> ParseResult<Untagged> {
    let root = text_value(t)?;
    t.skip_spaces();
    let Value::List(values) = t.list(0)? else {
        unreachable!("list() returns a list")
    };
    let resources = values
        .chunks(3)
        .map(|c| match c {
            [Value::Atom(name), Value::Number(usage), Value::Number(limit)] => {
                Ok((name.clone(), *usage, *limit))
            }
            _ => Err(ParseError(format!("invalid QUOTA resource {c:?}"))),
        })
        .collect::<ParseResult<_>>()?;
    Ok(Untagged::Quota { root, resources })
}

fn id(t: &mut Tokens) -> ParseResult<Untagged> {
    t.skip_spaces();
    let params = match t.value(0)? {
        Value::Nil => Vec::new(),
        Value::List(items) => items
            .chunks(2)
            .map(|pair| {
                let key = pair[0].as_text().unwrap_or_default().into_owned();
                let value = pair
                    .get(1)
                    .and_then(|v| v.as_text())
                    .map(|s| s.into_owned());
                (key, value)
            })
            .collect(),
        other => return Err(ParseError(format!("invalid ID response {other:?}"))),
    };
    Ok(Untagged::Id(params))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::framer::{read_frame, Limits};

    fn parse(text: &[u8]) -> Response {
        parse_with_warnings(text).0
    }

    fn parse_with_warnings(text: &[u8]) -> (Response, Vec<String>) {
        let frame = read_frame(&mut &text[..], &Limits::default()).expect("framed");
        let parsed = Response::parse(frame)
            .unwrap_or_else(|e| panic!("{}: {e}", String::from_utf8_lossy(text)));
        (parsed.response, parsed.warnings)
    }

    fn untagged_of(text: &[u8]) -> Untagged {
        match parse(text) {
            Response::Untagged(u) => u,
            other => panic!("not untagged: {other:?}"),
        }
    }

    #[test]
    fn tagged_with_codes() {
        let Response::Tagged { tag, line } = parse(b"a1 OK [READ-WRITE] SELECT completed\r\n")
        else {
            panic!()
        };
        assert_eq!(tag, "a1");
        assert_eq!(line.status, Status::Ok);
        assert_eq!(line.code, Some(Code::ReadWrite));
        assert_eq!(line.text, "SELECT completed");
        let Response::Tagged { line, .. } = parse(b"a2 NO [UNAVAILABLE] Backend down\r\n") else {
            panic!()
        };
        assert_eq!(line.code, Some(Code::Named("UNAVAILABLE".into())));
        let Response::Tagged { line, .. } =
            parse(b"a3 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n")
        else {
            panic!()
        };
        let Some(Code::CopyUid {
            uidvalidity,
            source,
            destination,
        }) = line.code
        else {
            panic!()
        };
        assert_eq!(uidvalidity, 38505);
        assert_eq!(source.to_string(), "304,319:320");
        assert_eq!(destination.to_string(), "3956:3958");
    }

    #[test]
    fn untagged_status_codes() {
        let Untagged::Status(line) =
            untagged_of(b"* OK [PERMANENTFLAGS (\\Answered \\Seen \\*)] Flags permitted.\r\n")
        else {
            panic!()
        };
        assert_eq!(
            line.code,
            Some(Code::PermanentFlags(vec![
                "\\Answered".into(),
                "\\Seen".into(),
                "\\*".into()
            ]))
        );
        let Untagged::Status(line) = untagged_of(b"* OK [HIGHESTMODSEQ 715194045007] Highest\r\n")
        else {
            panic!()
        };
        assert_eq!(line.code, Some(Code::HighestModseq(715194045007)));
        let Untagged::Status(line) =
            untagged_of(b"* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] Ready.\r\n")
        else {
            panic!()
        };
        assert_eq!(
            line.code,
            Some(Code::Capability(vec![
                "IMAP4rev1".into(),
                "SASL-IR".into(),
                "AUTH=PLAIN".into()
            ]))
        );
    }

    #[test]
    fn fetch_with_envelope_flags_and_literal() {
        let text = b"* 12 FETCH (UID 4827 FLAGS (\\Seen) MODSEQ (12121231000) BODY[HEADER.FIELDS (SUBJECT)] {21}\r\nSubject: hi there\r\n\r\n ENVELOPE (\"date\" \"subj\" ((NIL NIL \"a\" \"b.c\")) NIL NIL NIL NIL NIL NIL \"<id>\"))\r\n";
        let Untagged::Fetch {
            seq,
            items,
            broken: None,
        } = untagged_of(text)
        else {
            panic!()
        };
        assert_eq!(seq, 12);
        let names: Vec<&str> = items.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "UID",
                "FLAGS",
                "MODSEQ",
                "BODY[HEADER.FIELDS (SUBJECT)]",
                "ENVELOPE"
            ]
        );
        assert_eq!(items[0].1.as_number(), Some(4827));
        assert_eq!(
            items[3].1.as_bytes(),
            Some(&b"Subject: hi there\r\n\r\n"[..])
        );
        let Value::ListText(envelope) = &items[4].1 else {
            panic!("ENVELOPE kept as text")
        };
        assert_eq!(
            envelope,
            b"\"date\" \"subj\" ((NIL NIL \"a\" \"b.c\")) NIL NIL NIL NIL NIL NIL \"<id>\""
        );
    }

    #[test]
    fn list_status_search_sort_thread() {
        let Untagged::List(e) =
            untagged_of(b"* LIST (\\HasNoChildren) \"/\" \"shared/alice/Team A\"\r\n")
        else {
            panic!()
        };
        assert_eq!(e.delimiter, Some(b'/'));
        assert_eq!(e.name, b"shared/alice/Team A");
        let Untagged::MailboxStatus { mailbox, items } =
            untagged_of(b"* STATUS INBOX (MESSAGES 3 UIDNEXT 4)\r\n")
        else {
            panic!()
        };
        assert_eq!(mailbox, b"INBOX");
        assert_eq!(items, vec![("MESSAGES".into(), 3), ("UIDNEXT".into(), 4)]);
        let Untagged::Search { ids, modseq } =
            untagged_of(b"* SEARCH 2 5 9 (MODSEQ 917162500)\r\n")
        else {
            panic!()
        };
        assert_eq!((ids, modseq), (vec![2, 5, 9], Some(917162500)));
        let Untagged::Search { ids, .. } = untagged_of(b"* SEARCH\r\n") else {
            panic!()
        };
        assert!(ids.is_empty());
        let Untagged::Sort(ids) = untagged_of(b"* SORT 5 3 4\r\n") else {
            panic!()
        };
        assert_eq!(ids, vec![5, 3, 4]);
        let Untagged::Thread(trees) = untagged_of(b"* THREAD (2)(3 6 (4 23)(44 7 96))\r\n") else {
            panic!()
        };
        assert_eq!(trees.len(), 2);
    }

    #[test]
    fn esearch_vanished_acl_quota_id() {
        let Untagged::Esearch(e) =
            untagged_of(b"* ESEARCH (TAG \"a5\") UID COUNT 3 ALL 4:6,9 MODSEQ 7\r\n")
        else {
            panic!()
        };
        assert_eq!(e.tag.as_deref(), Some("a5"));
        assert!(e.uid);
        assert_eq!(e.count, Some(3));
        assert_eq!(e.all.unwrap().to_string(), "4:6,9");
        let Untagged::Vanished { earlier, uids } =
            untagged_of(b"* VANISHED (EARLIER) 41,43:116\r\n")
        else {
            panic!()
        };
        assert!(earlier);
        assert_eq!(uids.to_string(), "41,43:116");
        let Untagged::MyRights { rights, .. } =
            untagged_of(b"* MYRIGHTS \"shared/alice/x\" lrs\r\n")
        else {
            panic!()
        };
        assert_eq!(rights, "lrs");
        let Untagged::Acl { entries, .. } =
            untagged_of(b"* ACL INBOX alice lrswipkxtecda bob lr\r\n")
        else {
            panic!()
        };
        assert_eq!(entries[1], ("bob".into(), "lr".into()));
        let Untagged::Quota { resources, .. } = untagged_of(b"* QUOTA \"\" (STORAGE 10 512)\r\n")
        else {
            panic!()
        };
        assert_eq!(resources, vec![("STORAGE".into(), 10, 512)]);
        let Untagged::Id(params) = untagged_of(b"* ID (\"name\" \"Dovecot\" \"x\" NIL)\r\n") else {
            panic!()
        };
        assert_eq!(params[0], ("name".into(), Some("Dovecot".into())));
        assert_eq!(params[1], ("x".into(), None));
    }

    fn flags_of(text: &[u8]) -> Vec<String> {
        let Untagged::Fetch { items, .. } = untagged_of(text) else {
            panic!("no FETCH")
        };
        let (_, flags) = items.iter().find(|(name, _)| name == "FLAGS").unwrap();
        let flags = flags.as_list().unwrap().iter();
        flags.map(|f| f.as_text().unwrap().into_owned()).collect()
    }

    #[test]
    fn any_atom_is_a_flag_nil_and_digits_included() {
        // A keyword may be any atom: `NIL`, digits (as written), `[`.
        let Untagged::Flags(flags) =
            untagged_of(b"* FLAGS (\\Answered \\Seen NIL 007 a[b $Work)\r\n")
        else {
            panic!()
        };
        assert_eq!(
            flags,
            ["\\Answered", "\\Seen", "NIL", "007", "a[b", "$Work"]
        );
        let Untagged::Status(line) =
            untagged_of(b"* OK [PERMANENTFLAGS (\\Seen NIL a[b \\*)] Flags permitted.\r\n")
        else {
            panic!()
        };
        let expected = ["\\Seen", "NIL", "a[b", "\\*"].map(String::from).to_vec();
        assert_eq!(line.code, Some(Code::PermanentFlags(expected)));
        assert_eq!(
            flags_of(b"* 3 FETCH (UID 5 FLAGS (NIL \\Seen 007 a[b) MODSEQ (9))\r\n"),
            ["NIL", "\\Seen", "007", "a[b"]
        );
        let Untagged::List(entry) = untagged_of(b"* LIST (\\Marked NIL) \"/\" x\r\n") else {
            panic!()
        };
        assert_eq!(entry.attributes, ["\\Marked", "NIL"]);
    }

    #[test]
    fn empty_flag_lists_and_codes_without_text() {
        let Untagged::Flags(flags) = untagged_of(b"* FLAGS ()\r\n") else {
            panic!()
        };
        assert!(flags.is_empty());
        assert!(flags_of(b"* 1 FETCH (FLAGS () UID 1)\r\n").is_empty());
        let Untagged::Status(line) = untagged_of(b"* OK [PERMANENTFLAGS ()]\r\n") else {
            panic!()
        };
        assert_eq!(line.code, Some(Code::PermanentFlags(Vec::new())));
    }

    #[test]
    fn literals_and_empty_forms_the_grammar_allows() {
        let Untagged::List(e) = untagged_of(b"* LIST () NIL {4}\r\nTeam\r\n") else {
            panic!()
        };
        assert_eq!((e.delimiter, &e.name[..]), (None, &b"Team"[..]));
        let Untagged::List(e) = untagged_of(b"* LIST (\\Noselect) \"/\" \"\"\r\n") else {
            panic!()
        };
        assert!(e.name.is_empty());
        let Untagged::MailboxStatus { mailbox, items } =
            untagged_of(b"* STATUS {4}\r\nTeam (MESSAGES 1)\r\n")
        else {
            panic!()
        };
        assert_eq!((&mailbox[..], items.len()), (&b"Team"[..], 1));
        let Untagged::MyRights { rights, .. } =
            untagged_of(b"* MYRIGHTS {4}\r\nTeam {3}\r\nlrs\r\n")
        else {
            panic!()
        };
        assert_eq!(rights, "lrs");
        let Untagged::Esearch(e) = untagged_of(b"* ESEARCH (TAG {2}\r\ns5) UID\r\n") else {
            panic!()
        };
        assert_eq!((e.tag.as_deref(), e.uid, e.all), (Some("s5"), true, None));
        let Untagged::Esearch(e) = untagged_of(b"* ESEARCH\r\n") else {
            panic!()
        };
        assert_eq!(e, Esearch::default());
        let (response, warnings) = parse_with_warnings(b"* 1 FETCH (UID 2 X-GUID {3}\r\nabc)\r\n");
        assert!(warnings.is_empty(), "{warnings:?} {response:?}");
    }

    #[test]
    fn a_flag_that_is_no_atom_is_left_out_with_a_warning() {
        let text = b"* FLAGS (\\Seen a]b \"quoted\" (x) {3}\r\nabc \xff $Work)\r\n";
        let (response, warnings) = parse_with_warnings(text);
        let Response::Untagged(Untagged::Flags(flags)) = response else {
            panic!("{response:?}")
        };
        assert_eq!(flags, ["\\Seen", "$Work"]);
        assert_eq!(warnings.len(), 5, "{warnings:?}");
        assert!(warnings[0].contains("a]b"), "{warnings:?}");
        assert!(warnings[3].contains("3-byte literal"), "{warnings:?}");
        // Also in FETCH and PERMANENTFLAGS: the rest of the response stays.
        let text = b"* 2 FETCH (UID 7 FLAGS (\\Seen \"x\" $Work) MODSEQ (4))\r\n";
        assert_eq!(flags_of(text), ["\\Seen", "$Work"]);
        let text = b"* OK [PERMANENTFLAGS (a%b \\*)] Flags permitted.\r\n";
        let (response, warnings) = parse_with_warnings(text);
        let Response::Untagged(Untagged::Status(line)) = response else {
            panic!("{response:?}")
        };
        assert_eq!(line.code, Some(Code::PermanentFlags(vec!["\\*".into()])));
        assert_eq!(warnings.len(), 1);
    }

    #[test]
    fn continuation_and_unknown_data() {
        assert!(matches!(parse(b"+ \r\n"), Response::Continuation(_)));
        assert!(matches!(parse(b"+ idling\r\n"), Response::Continuation(t) if t == "idling"));
        assert!(
            matches!(untagged_of(b"* XFOO bar (1 2)\r\n"), Untagged::Other { name, values } if name == "XFOO" && values.len() == 2)
        );
    }

    #[test]
    fn garbage_is_an_error() {
        for text in [
            &b"\r\n"[..],
            b"a1 MAYBE x\r\n",
            b"a1 OK [UIDVALIDITY x] y\r\n",
            b"* OK [UIDNEXT] y\r\n",
        ] {
            let frame = read_frame(&mut &text[..], &Limits::default()).unwrap();
            assert!(
                Response::parse(frame).is_err(),
                "{:?} parsed",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn untagged_data_that_cannot_be_read_is_kept_as_unreadable() {
        for (text, name) in [
            (&b"* \r\n"[..], ""),
            (b"* \"x\" y\r\n", ""),
            (b"* 4294967296 EXISTS\r\n", "EXISTS"),
            (b"* LIST (\\X) \"toolong\" x\r\n", "LIST"),
            (b"* STATUS x (MESSAGES)\r\n", "STATUS"),
            (b"* VANISHED 1:x\r\n", "VANISHED"),
            (b"* ESEARCH (TAG \"a1\") ALL 1:x\r\n", "ESEARCH"),
        ] {
            let (response, warnings) = parse_with_warnings(text);
            let Response::Untagged(unreadable) = response else {
                panic!("{response:?}")
            };
            assert!(
                matches!(&unreadable, Untagged::Unreadable { name: n, .. } if n == name),
                "{unreadable:?}"
            );
            assert_eq!(
                unreadable.unreadable_message_data(),
                matches!(name, "" | "EXISTS" | "VANISHED")
            );
            assert_eq!(warnings.len(), 1, "{warnings:?}");
        }
    }

    #[test]
    fn a_fetch_cut_short_keeps_the_items_before_the_break() {
        for text in [
            &b"* 2 FETCH (UID 7 FLAGS \\Seen MODSEQ (4))\r\n"[..],
            b"* 2 FETCH (UID 7 BODY[unbalanced {3}\r\nabc)\r\n",
            b"* 2 FETCH (UID 7 X-GUID \xff\xfe FLAGS ())\r\n",
            b"* 2 FETCH (UID 7 ENVELOPE (\"unterminated)\r\n",
            b"* 2 FETCH (UID 7 FLAGS (\\Seen)\r\n",
        ] {
            let (response, warnings) = parse_with_warnings(text);
            let Response::Untagged(Untagged::Fetch { seq, items, broken }) = response else {
                panic!("{response:?}")
            };
            assert_eq!((seq, items[0].0.as_str()), (2, "UID"));
            assert_eq!(items[0].1.as_number(), Some(7));
            assert!(broken.is_some());
            assert!(
                warnings[0].contains("FETCH of message 2 cut short"),
                "{warnings:?}"
            );
        }
        let (response, _) = parse_with_warnings(b"* 5 FETCH\r\n");
        assert!(matches!(
            response,
            Response::Untagged(Untagged::Fetch { seq: 5, items, broken: Some(_) }) if items.is_empty()
        ));
    }
}
