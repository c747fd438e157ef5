//! The generic IMAP value tree (atoms, numbers, strings, literals, NIL,
//! parenthesised lists) and the tokenizer that reads it from a [`Frame`].
//!
//! Hostile input cannot panic or exhaust the stack here: every index is
//! checked and list nesting is bounded by [`MAX_DEPTH`].

use super::framer::{literal_announcement, Frame, Literal};

/// Deepest list nesting accepted (BODYSTRUCTURE of real mail stays far below).
pub const MAX_DEPTH: usize = 64;

/// One IMAP value.
#[derive(Debug)]
pub enum Value {
    /// An atom, including flags (`\Seen`) and fetch item names
    /// (`BODY[HEADER.FIELDS (SUBJECT)]<0>`).
    Atom(String),
    Number(u64),
    /// A quoted string, unescaped.
    Str(Vec<u8>),
    Literal(Literal),
    Nil,
    List(Vec<Value>),
    /// A list kept as the server wrote it, between its parentheses, once
    /// checked to be well-formed (see [`Tokens::list_text`]).
    ListText(Vec<u8>),
}

impl Value {
    /// The value as text: atoms, numbers, strings and in-memory literals.
    pub fn as_text(&self) -> Option<std::borrow::Cow<'_, str>> {
        match self {
            Value::Atom(a) => Some(a.as_str().into()),
            Value::Number(n) => Some(n.to_string().into()),
            Value::Str(s) => Some(String::from_utf8_lossy(s)),
            Value::Literal(l) => l.as_bytes().map(String::from_utf8_lossy),
            _ => None,
        }
    }

    /// The bytes of a string, literal (in memory) or atom.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Atom(a) => Some(a.as_bytes()),
            Value::Str(s) => Some(s),
            Value::Literal(l) => l.as_bytes(),
            _ => None,
        }
    }

    pub fn as_number(&self) -> Option<u64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// Whether this is the atom `name` (case-insensitive).
    pub fn is_atom(&self, name: &str) -> bool {
        matches!(self, Value::Atom(a) if a.eq_ignore_ascii_case(name))
    }
}

/// A syntax error in a server response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError(pub String);

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}

pub type ParseResult<T> = Result<T, ParseError>;

fn error<T>(message: impl Into<String>) -> ParseResult<T> {
    Err(ParseError(message.into()))
}

/// Reads values from a framed response, line by line and literal by literal.
pub struct Tokens {
    lines: Vec<Vec<u8>>,
    literals: std::vec::IntoIter<Literal>,
    line: usize,
    pos: usize,
    /// What the reader left out of the response (see [`Tokens::warn`]).
    warnings: Vec<String>,
}

impl Tokens {
    pub fn new(frame: Frame) -> Tokens {
        Tokens {
            lines: frame.lines,
            literals: frame.literals.into_iter(),
            line: 0,
            pos: 0,
            warnings: Vec::new(),
        }
    }

    /// Notes that part of the response was left out, and why: the rest of
    /// it is still used, and the note goes to the log.
    pub fn warn(&mut self, warning: String) {
        self.warnings.push(warning);
    }

    /// The notes made with [`Tokens::warn`] so far.
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    /// The beginning of the response's first line, for messages.
    pub fn excerpt(&self) -> String {
        let first = self.lines.first().map_or(&[][..], Vec::as_slice);
        shown(first)
    }

    fn current(&self) -> &[u8] {
        self.lines
            .get(self.line)
            .map_or(&[], |l| l.get(self.pos..).unwrap_or(&[]))
    }

    fn peek(&self) -> Option<u8> {
        self.current().first().copied()
    }

    /// Whether everything has been read.
    pub fn at_end(&self) -> bool {
        self.current().is_empty() && self.line + 1 >= self.lines.len()
    }

    /// Whether the current line has nothing left (more lines may follow).
    pub fn rest_is_empty(&self) -> bool {
        self.current().is_empty()
    }

    /// Skips spaces (tolerating runs of them).
    pub fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
    }

    /// Consumes `byte` or fails.
    pub fn expect(&mut self, byte: u8) -> ParseResult<()> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            error(format!(
                "expected '{}' at {}",
                byte as char,
                self.describe_position()
            ))
        }
    }

    /// Consumes `byte` if it is next.
    pub fn accept(&mut self, byte: u8) -> bool {
        let next = self.peek() == Some(byte);
        if next {
            self.pos += 1;
        }
        next
    }

    pub fn peek_is(&self, byte: u8) -> bool {
        self.peek() == Some(byte)
    }

    fn describe_position(&self) -> String {
        let rest = String::from_utf8_lossy(self.current());
        let rest: String = rest.chars().take(20).collect();
        format!("line {} offset {} (before {rest:?})", self.line, self.pos)
    }

    /// The rest of the current line as text (for `resp-text`).
    pub fn rest_of_line(&mut self) -> String {
        let text = String::from_utf8_lossy(self.current()).into_owned();
        self.pos = self.lines.get(self.line).map_or(0, Vec::len);
        text
    }

    /// An atom (no string, list or literal).
    pub fn atom(&mut self) -> ParseResult<String> {
        let bytes = self.atom_bytes()?;
        String::from_utf8(bytes.to_vec()).or_else(|_| error("atom is not valid UTF-8"))
    }

    /// The bytes of the next atom, without copying them.
    fn atom_bytes(&mut self) -> ParseResult<&[u8]> {
        let start = self.pos;
        let line = self.lines.get(self.line).map(Vec::as_slice).unwrap_or(&[]);
        let mut end = start;
        while end < line.len() {
            match line[end] {
                b'[' => {
                    end = skip_bracketed(line, end)
                        .ok_or_else(|| ParseError("unbalanced '[' in atom".into()))?
                }
                b if is_atom_char(b) => end += 1,
                _ => break,
            }
        }
        if end == start {
            return error(format!("expected an atom at {}", self.describe_position()));
        }
        self.pos = end;
        Ok(&line[start..end])
    }

    /// The next flag of a flag list as the server wrote it: every byte up
    /// to a space, a parenthesis, a quote, a `{` or the end of the line.
    /// Unlike in [`Tokens::atom`], `[` is an ordinary character here
    /// (keywords may hold it), and `NIL` and digits stay text. Empty when
    /// one of those delimiters is next.
    pub fn flag_bytes(&mut self) -> &[u8] {
        let line = self.lines.get(self.line).map_or(&[][..], Vec::as_slice);
        let start = self.pos.min(line.len());
        let len = line[start..]
            .iter()
            .position(|b| b" ()\"{".contains(b))
            .unwrap_or(line.len() - start);
        self.pos = start + len;
        &line[start..start + len]
    }

    /// A number (`number` or `number64`).
    pub fn number(&mut self) -> ParseResult<u64> {
        match self.value(0)? {
            Value::Number(n) => Ok(n),
            other => error(format!("expected a number, got {other:?}")),
        }
    }

    /// A 32-bit number (sequence numbers, UIDs, counts).
    pub fn number32(&mut self) -> ParseResult<u32> {
        let n = self.number()?;
        u32::try_from(n).or_else(|_| error(format!("number {n} out of range")))
    }

    /// The next value of any kind.
    pub fn value(&mut self, depth: usize) -> ParseResult<Value> {
        match self.peek() {
            None if self.at_end() => error("unexpected end of response"),
            None => error(format!(
                "unexpected line break at {}",
                self.describe_position()
            )),
            Some(b'(') => self.list(depth),
            Some(b'"') => self.quoted().map(Value::Str),
            Some(b'{') => self.literal().map(Value::Literal),
            // literal8 (BINARY, IMAP4rev2): `~{N}`.
            Some(b'~') if self.current().get(1) == Some(&b'{') => {
                self.pos += 1;
                self.literal().map(Value::Literal)
            }
            Some(_) => {
                // Decide on the borrowed bytes: NIL and numbers need no copy.
                let atom = self.atom_bytes()?;
                if atom.eq_ignore_ascii_case(b"NIL") {
                    return Ok(Value::Nil);
                }
                if atom.len() <= 19 && atom.iter().all(u8::is_ascii_digit) {
                    let n = atom.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
                    return Ok(Value::Number(n));
                }
                String::from_utf8(atom.to_vec())
                    .map(Value::Atom)
                    .or_else(|_| error("atom is not valid UTF-8"))
            }
        }
    }

    /// A parenthesised list.
    pub fn list(&mut self, depth: usize) -> ParseResult<Value> {
        if depth >= MAX_DEPTH {
            return error(format!("lists nested deeper than {MAX_DEPTH}"));
        }
        self.expect(b'(')?;
        let mut items = Vec::new();
        loop {
            self.skip_spaces();
            if self.accept(b')') {
                return Ok(Value::List(items));
            }
            items.push(self.value(depth + 1)?);
        }
    }

    /// The list that comes next as the server wrote it, between its
    /// parentheses: literals inline (`{N}` CRLF bytes), every string, atom
    /// and nesting checked as [`Tokens::value`] would. ENVELOPE and
    /// BODYSTRUCTURE are passed on like this, so what the owner's server
    /// wrote is what the user sees, without building a tree and writing it
    /// back. NUL bytes are refused: the text goes on as a C string.
    pub fn list_text(&mut self) -> ParseResult<Vec<u8>> {
        self.expect(b'(')?;
        let mut text = ListText {
            out: Vec::new(),
            from: self.pos,
        };
        self.skip_list_items(1, &mut text)?;
        let line = self.lines.get(self.line).map_or(&[][..], Vec::as_slice);
        text.out.extend_from_slice(&line[text.from..self.pos - 1]);
        if text.out.contains(&0) {
            return error("NUL byte in a structure");
        }
        Ok(text.out)
    }

    /// Items up to and including the `)` that closes the list.
    fn skip_list_items(&mut self, depth: usize, text: &mut ListText) -> ParseResult<()> {
        if depth >= MAX_DEPTH {
            return error(format!("lists nested deeper than {MAX_DEPTH}"));
        }
        loop {
            self.skip_spaces();
            if self.accept(b')') {
                return Ok(());
            }
            self.skip_value(depth, text)?;
        }
    }

    fn skip_value(&mut self, depth: usize, text: &mut ListText) -> ParseResult<()> {
        match self.peek() {
            None if self.at_end() => error("unexpected end of response"),
            None => error(format!(
                "unexpected line break at {}",
                self.describe_position()
            )),
            Some(b'(') => {
                self.pos += 1;
                self.skip_list_items(depth + 1, text)
            }
            Some(b'"') => self.skip_quoted(),
            Some(b'{') => {
                let line = self.line;
                let literal = self.literal()?;
                let bytes = literal
                    .as_bytes()
                    .ok_or_else(|| ParseError("literal too large in a structure".into()))?;
                text.out.extend_from_slice(&self.lines[line][text.from..]);
                text.out.extend_from_slice(b"\r\n");
                text.out.extend_from_slice(bytes);
                text.from = 0;
                Ok(())
            }
            Some(_) => self.atom_bytes().map(drop),
        }
    }

    /// Past a quoted string, checking it is terminated.
    fn skip_quoted(&mut self) -> ParseResult<()> {
        self.expect(b'"')?;
        let rest = self.current();
        let mut i = 0;
        while i < rest.len() {
            match rest[i] {
                b'"' => {
                    self.pos += i + 1;
                    return Ok(());
                }
                b'\\' => i += 2,
                _ => i += 1,
            }
        }
        error("unterminated quoted string")
    }

    /// A quoted string, with `\"` and `\\` unescaped.
    pub fn quoted(&mut self) -> ParseResult<Vec<u8>> {
        self.expect(b'"')?;
        let rest = self.current();
        // Most strings have no escapes: copy them in one go.
        if let Some(end) = rest.iter().position(|&b| b == b'"' || b == b'\\') {
            if rest[end] == b'"' {
                let out = rest[..end].to_vec();
                self.pos += end + 1;
                return Ok(out);
            }
        }
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return error("unterminated quoted string"),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(c) => out.push(c),
                        None => return error("unterminated quoted string"),
                    }
                    self.pos += 1;
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// A literal: the `{N}` that ends this line, then the framed bytes.
    fn literal(&mut self) -> ParseResult<Literal> {
        let rest = self.current();
        if literal_announcement(rest).is_none() || rest.first() != Some(&b'{') {
            return error(format!("malformed literal at {}", self.describe_position()));
        }
        let literal = self
            .literals
            .next()
            .ok_or_else(|| ParseError("literal missing".into()))?;
        self.line += 1;
        self.pos = 0;
        Ok(literal)
    }
}

/// `bytes` for a message: lossy UTF-8, at most 60 characters.
pub fn shown(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    match text.char_indices().nth(60) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.into_owned(),
    }
}

/// What [`Tokens::list_text`] has gathered: the text before the current
/// line, and where on the current line the rest begins.
struct ListText {
    out: Vec<u8>,
    from: usize,
}

/// ATOM-CHAR, leniently: flags (`\Seen`, `\*`) and wildcards are atoms here.
fn is_atom_char(b: u8) -> bool {
    !matches!(b, b'(' | b')' | b'{' | b' ' | b'"' | b']') && b > 0x1f && b != 0x7f
}

/// From the `[` at `start`, the index just past its matching `]`
/// (quoted strings and nested brackets inside are honoured).
fn skip_bracketed(line: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = start;
    let mut in_quote = false;
    while i < line.len() {
        match (in_quote, line[i]) {
            (true, b'\\') => i += 1,
            (true, b'"') => in_quote = false,
            (false, b'"') => in_quote = true,
            (false, b'[') => depth += 1,
            (false, b']') => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(lines: &[&[u8]], literals: Vec<&[u8]>) -> Tokens {
        Tokens::new(Frame {
            lines: lines.iter().map(|l| l.to_vec()).collect(),
            literals: literals
                .into_iter()
                .map(|l| Literal::Memory(l.to_vec()))
                .collect(),
        })
    }

    #[test]
    fn nested_lists_strings_and_literals() {
        let mut t = tokens(
            &[b"(\"a \\\"q\\\"\" NIL 42 \\Seen (x) {3}", b" end)"],
            vec![b"l\r\n"],
        );
        let v = t.value(0).unwrap();
        let items = v.as_list().unwrap();
        assert_eq!(items[0].as_bytes(), Some(&b"a \"q\""[..]));
        assert!(matches!(items[1], Value::Nil));
        assert_eq!(items[2].as_number(), Some(42));
        assert!(items[3].is_atom("\\seen"));
        assert_eq!(items[4].as_list().unwrap().len(), 1);
        assert_eq!(items[5].as_bytes(), Some(&b"l\r\n"[..]));
        assert!(items[6].is_atom("end"));
        assert!(t.at_end());
    }

    #[test]
    fn list_text_is_the_servers_text_between_the_parentheses() {
        let mut t = tokens(
            &[b"((\"a \\\"q\\\")\" NIL)(\"b\" {3}", b" x) \"mixed\") rest"],
            vec![b"\xe9t\xe9"],
        );
        assert_eq!(
            t.list_text().unwrap(),
            b"(\"a \\\"q\\\")\" NIL)(\"b\" {3}\r\n\xe9t\xe9 x) \"mixed\""
        );
        t.skip_spaces();
        assert_eq!(t.atom().unwrap(), "rest");
    }

    #[test]
    fn list_text_refuses_what_value_refuses() {
        let deep = [vec![b'('; 10_000], vec![b')'; 10_000]].concat();
        assert!(tokens(&[&deep], vec![]).list_text().is_err());
        assert!(tokens(&[b"(\"unterminated)"], vec![]).list_text().is_err());
        assert!(tokens(&[b"(\"a\\\")"], vec![]).list_text().is_err());
        assert!(tokens(&[b"(a (b)"], vec![]).list_text().is_err());
        assert!(tokens(&[b"(a {5}"], vec![]).list_text().is_err());
        assert!(tokens(&[b"(a BODY[x)"], vec![]).list_text().is_err());
        assert!(tokens(&[b"(a {1}", b")"], vec![b"\0"]).list_text().is_err());
        assert!(tokens(&[b"atom"], vec![]).list_text().is_err());
    }

    #[test]
    fn literal8_for_binary() {
        let mut t = tokens(&[b"(BINARY[1] ~{3}", b")"], vec![b"a\0b"]);
        let v = t.value(0).unwrap();
        let items = v.as_list().unwrap();
        assert!(items[0].is_atom("BINARY[1]"));
        assert_eq!(items[1].as_bytes(), Some(&b"a\0b"[..]));
    }

    #[test]
    fn section_atoms_keep_their_brackets() {
        let mut t = tokens(&[b"BODY[HEADER.FIELDS (SUBJECT \"X]\")]<0> x"], vec![]);
        assert_eq!(t.atom().unwrap(), "BODY[HEADER.FIELDS (SUBJECT \"X]\")]<0>");
    }

    #[test]
    fn hostile_input_is_an_error_not_a_panic() {
        let deep = vec![b'('; 10_000];
        assert!(tokens(&[&deep], vec![]).value(0).is_err());
        assert!(tokens(&[b"\"unterminated"], vec![]).value(0).is_err());
        assert!(tokens(&[b"BODY[unbalanced"], vec![]).value(0).is_err());
        assert!(tokens(&[b"(a b"], vec![]).value(0).is_err());
        assert!(
            tokens(&[b"{5}"], vec![]).value(0).is_err(),
            "announced literal missing"
        );
        assert!(tokens(&[b""], vec![]).value(0).is_err());
        assert!(matches!(
            tokens(&[b"99999999999999999999999"], vec![]).value(0),
            Ok(Value::Atom(_))
        ));
    }
}
