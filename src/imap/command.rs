//! Commands to the server, built so that data can never change their syntax:
//! every string is sent as an atom, a quoted string or a literal as its bytes
//! require, NUL is refused, and mailbox names are encoded first.

use super::sequence::SequenceSet;
use super::utf7;

/// Longest string sent quoted; longer ones go as literals.
const MAX_QUOTED: usize = 1000;

/// A piece of a command on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    /// Bytes sent as they are.
    Text(Vec<u8>),
    /// A literal: announced as `{N}` (or `{N+}`), then sent.
    Literal(Vec<u8>),
}

/// Data that cannot be sent at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// IMAP strings cannot carry NUL bytes.
    Nul,
    /// Mailbox names cannot carry CR or LF.
    BadMailboxName(String),
    /// Text given as an atom that is not one.
    NotAnAtom(String),
}

impl std::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EncodeError::Nul => f.write_str("string contains a NUL byte"),
            EncodeError::BadMailboxName(name) => write!(f, "invalid mailbox name {name:?}"),
            EncodeError::NotAnAtom(text) => write!(f, "{text:?} is not an atom"),
        }
    }
}

impl std::error::Error for EncodeError {}

/// A command without its tag.
#[derive(Clone, Debug)]
pub struct Command {
    name: &'static str,
    parts: Vec<Part>,
    /// Set when an argument is a secret: the command is never logged whole.
    secret: bool,
    /// Set right after `(`: the next argument follows without a space.
    group_opened: bool,
}

impl Command {
    /// Starts a command; `name` is a fixed keyword such as `"UID FETCH"`.
    pub fn new(name: &'static str) -> Command {
        Command {
            name,
            parts: vec![Part::Text(name.as_bytes().to_vec())],
            secret: false,
            group_opened: false,
        }
    }

    /// The command keyword (for logs and errors).
    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// The space before an argument (none right after `(`).
    fn separator(&mut self) {
        if !std::mem::take(&mut self.group_opened) {
            self.text(b" ");
        }
    }

    fn text(&mut self, bytes: &[u8]) {
        match self.parts.last_mut() {
            Some(Part::Text(t)) => t.extend_from_slice(bytes),
            _ => self.parts.push(Part::Text(bytes.to_vec())),
        }
    }

    /// Appends fixed syntax written by this crate (never data): `(FLAGS UID)`.
    pub fn syntax(mut self, syntax: &'static str) -> Command {
        self.separator();
        self.text(syntax.as_bytes());
        self
    }

    /// A parenthesized list of fixed items: `(UID FLAGS)`.
    pub fn list(mut self, items: &[&'static str]) -> Command {
        self.separator();
        self.text(format!("({})", items.join(" ")).as_bytes());
        self
    }

    /// SELECT/EXAMINE parameters to resynchronize (RFC 7162 QRESYNC).
    pub fn qresync(mut self, uidvalidity: u32, modseq: u64) -> Command {
        self.separator();
        self.text(format!("(QRESYNC ({uidvalidity} {modseq}))").as_bytes());
        self
    }

    pub fn number(mut self, n: u64) -> Command {
        self.separator();
        self.text(n.to_string().as_bytes());
        self
    }

    pub fn sequence(mut self, set: &SequenceSet) -> Command {
        self.separator();
        self.text(set.to_string().as_bytes());
        self
    }

    /// An `astring` argument (user names, identifiers).
    pub fn astring(mut self, data: &[u8]) -> Result<Command, EncodeError> {
        self.separator();
        self.push_string(data, true)?;
        Ok(self)
    }

    /// A `string` argument (search keys): quoted or literal, never an atom.
    pub fn string(mut self, data: &[u8]) -> Result<Command, EncodeError> {
        self.separator();
        self.push_string(data, false)?;
        Ok(self)
    }

    /// A literal, whatever the bytes (APPEND's message).
    pub fn literal(mut self, data: &[u8]) -> Command {
        self.separator();
        self.parts.push(Part::Literal(data.to_vec()));
        self
    }

    /// A secret `astring` (a password): sent like any string, never logged.
    pub fn secret(mut self, data: &[u8]) -> Result<Command, EncodeError> {
        self.secret = true;
        self.astring(data)
    }

    /// A mailbox name: modified UTF-7, or UTF-8 as it is when the server
    /// accepts it (`UTF8=ACCEPT` enabled).
    pub fn mailbox(self, name: &str, utf8_accepted: bool) -> Result<Command, EncodeError> {
        if name.contains(['\r', '\n']) {
            return Err(EncodeError::BadMailboxName(name.to_string()));
        }
        let encoded = if utf8_accepted {
            name.to_string()
        } else {
            utf7::encode(name)
        };
        self.astring(encoded.as_bytes())
    }

    fn push_string(&mut self, data: &[u8], atom_allowed: bool) -> Result<(), EncodeError> {
        if data.contains(&0) {
            return Err(EncodeError::Nul);
        }
        let needs_literal =
            data.len() > MAX_QUOTED || data.iter().any(|b| !(0x20..0x7f).contains(b));
        if needs_literal {
            self.parts.push(Part::Literal(data.to_vec()));
        } else if atom_allowed && is_plain_atom(data) {
            self.text(data);
        } else {
            let mut quoted = Vec::with_capacity(data.len() + 2);
            quoted.push(b'"');
            for &b in data {
                if b == b'"' || b == b'\\' {
                    quoted.push(b'\\');
                }
                quoted.push(b);
            }
            quoted.push(b'"');
            self.text(&quoted);
        }
        Ok(())
    }

    /// Opens a parenthesized group of arguments: `(`.
    pub fn open_group(mut self) -> Command {
        self.separator();
        self.text(b"(");
        self.group_opened = true;
        self
    }

    /// Closes the group opened last: `)`.
    pub fn close_group(mut self) -> Command {
        self.group_opened = false;
        self.text(b")");
        self
    }

    /// An atom taken from data (a search key name, a flag, a sequence set):
    /// refused unless it is one, so it can never change the syntax.
    pub fn atom(mut self, atom: &str) -> Result<Command, EncodeError> {
        let body = atom.strip_prefix('\\').unwrap_or(atom);
        let valid = !body.is_empty()
            && body
                .bytes()
                .all(|b| b > 0x20 && b < 0x7f && !b"(){%\"\\]".contains(&b));
        if !valid {
            return Err(EncodeError::NotAnAtom(atom.to_string()));
        }
        self.separator();
        self.text(atom.as_bytes());
        Ok(self)
    }

    /// The command as a log line: literals as `{N}`, and nothing but the
    /// keyword when it holds a secret.
    pub fn log_text(&self) -> String {
        if self.secret {
            return format!("{} <hidden>", self.name);
        }
        self.parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => String::from_utf8_lossy(t).into_owned(),
                Part::Literal(l) => format!("{{{}}}", l.len()),
            })
            .collect()
    }
}

/// ASTRING-CHAR only, and not the word NIL.
fn is_plain_atom(data: &[u8]) -> bool {
    !data.is_empty()
        && !data.eq_ignore_ascii_case(b"NIL")
        && data
            .iter()
            .all(|&b| b > 0x20 && b < 0x7f && !b"(){%*\"\\".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(cmd: &Command) -> Vec<u8> {
        let mut out = Vec::new();
        for p in cmd.parts() {
            match p {
                Part::Text(t) => out.extend_from_slice(t),
                Part::Literal(l) => {
                    out.extend_from_slice(format!("{{{}}}\r\n", l.len()).as_bytes());
                    out.extend_from_slice(l);
                }
            }
        }
        out
    }

    #[test]
    fn strings_choose_atom_quoted_or_literal() {
        let c = Command::new("LOGIN")
            .astring(b"alice")
            .unwrap()
            .astring(b"pass word")
            .unwrap();
        assert_eq!(wire(&c), b"LOGIN alice \"pass word\"");
        let c = Command::new("X")
            .astring(b"a\"b\\c")
            .unwrap()
            .astring(b"")
            .unwrap()
            .astring(b"nil")
            .unwrap();
        assert_eq!(wire(&c), b"X \"a\\\"b\\\\c\" \"\" \"nil\"");
        let c = Command::new("X").astring("Grüße".as_bytes()).unwrap();
        assert_eq!(c.parts()[1], Part::Literal("Grüße".as_bytes().to_vec()));
        let c = Command::new("SEARCH").string(b"word").unwrap();
        assert_eq!(wire(&c), b"SEARCH \"word\"");
    }

    #[test]
    fn data_cannot_inject_commands() {
        let evil = b"x\r\na2 DELETE INBOX";
        let c = Command::new("SEARCH")
            .syntax("SUBJECT")
            .string(evil)
            .unwrap();
        assert_eq!(
            c.parts()[1],
            Part::Literal(evil.to_vec()),
            "CRLF forces a literal"
        );
        let c = Command::new("SELECT").astring(b"INBOX) (x").unwrap();
        assert_eq!(wire(&c), b"SELECT \"INBOX) (x\"");
        let c = Command::new("SELECT").astring(b"{5}").unwrap();
        assert_eq!(wire(&c), b"SELECT \"{5}\"");
        assert_eq!(
            Command::new("X").astring(b"a\0b").unwrap_err(),
            EncodeError::Nul
        );
        assert!(Command::new("SELECT").mailbox("a\r\nb", false).is_err());
    }

    #[test]
    fn mailbox_names_are_encoded() {
        let c = Command::new("SELECT")
            .mailbox("shared/alice/Entwürfe", false)
            .unwrap();
        assert_eq!(wire(&c), b"SELECT shared/alice/Entw&APw-rfe");
        let c = Command::new("SELECT").mailbox("Entwürfe", true).unwrap();
        assert!(matches!(c.parts()[1], Part::Literal(_)));
        let c = Command::new("SELECT").mailbox("Team A", false).unwrap();
        assert_eq!(wire(&c), b"SELECT \"Team A\"");
    }

    #[test]
    fn secrets_are_not_logged() {
        let c = Command::new("LOGIN")
            .astring(b"alice")
            .unwrap()
            .secret(b"s3cret")
            .unwrap();
        assert_eq!(c.log_text(), "LOGIN <hidden>");
        let c = Command::new("APPEND")
            .astring(b"INBOX")
            .unwrap()
            .string(b"a\r\nb")
            .unwrap();
        assert_eq!(c.log_text(), "APPEND INBOX {4}");
    }
}
