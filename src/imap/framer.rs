//! Reads one whole server response off a byte stream: its line(s) and the
//! literals between them, within the configured limits.
//!
//! A response is `line0 {N0}\r\n <N0 bytes> line1 {N1}\r\n <N1 bytes> … lineK\r\n`.
//! Literals larger than [`Limits::spill_threshold`] go to an unlinked
//! temporary file, so a 50 MB message body never sits in memory whole.

use std::fs::File;
use std::io::{self, BufRead, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bounds on what a server may send.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Longest line (without literals) accepted.
    pub max_line: usize,
    /// Largest literal accepted (announced size).
    pub max_literal: u64,
    /// Literals above this size are written to a temporary file.
    pub spill_threshold: usize,
    /// Where spilled literals go.
    pub spill_dir: PathBuf,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_line: 64 * 1024,
            max_literal: 256 * 1024 * 1024,
            spill_threshold: 1024 * 1024,
            spill_dir: std::env::temp_dir(),
        }
    }
}

/// The bytes of one literal.
#[derive(Debug)]
pub enum Literal {
    Memory(Vec<u8>),
    /// An unlinked temporary file holding `len` bytes, positioned at 0.
    File {
        file: File,
        len: u64,
    },
}

impl Literal {
    /// Its size in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Literal::Memory(v) => v.len() as u64,
            Literal::File { len, .. } => *len,
        }
    }

    /// Whether it holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes, when they are in memory.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Literal::Memory(v) => Some(v),
            Literal::File { .. } => None,
        }
    }

    /// Reads the whole literal into memory (for callers that need it whole).
    pub fn read_all(&mut self) -> io::Result<Vec<u8>> {
        match self {
            Literal::Memory(v) => Ok(v.clone()),
            Literal::File { file, len } => {
                let mut out = Vec::with_capacity(*len as usize);
                file.seek(SeekFrom::Start(0))?;
                file.read_to_end(&mut out)?;
                file.seek(SeekFrom::Start(0))?;
                Ok(out)
            }
        }
    }
}

/// One response as framed: `lines.len() == literals.len() + 1`, and every
/// line but the last ends with the `{N}` that announced the next literal.
#[derive(Debug, Default)]
pub struct Frame {
    pub lines: Vec<Vec<u8>>,
    pub literals: Vec<Literal>,
}

/// Why a response could not be framed.
#[derive(Debug)]
pub enum FrameError {
    /// The stream ended (cleanly between responses when `partial` is false).
    Eof {
        partial: bool,
    },
    LineTooLong {
        limit: usize,
    },
    LiteralTooLarge {
        announced: u64,
        limit: u64,
    },
    Io(io::Error),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Eof { partial: false } => write!(f, "connection closed by server"),
            FrameError::Eof { partial: true } => {
                write!(f, "connection closed in the middle of a response")
            }
            FrameError::LineTooLong { limit } => {
                write!(f, "server sent a line longer than {limit} bytes")
            }
            FrameError::LiteralTooLarge { announced, limit } => {
                write!(
                    f,
                    "server announced a {announced}-byte literal (limit {limit})"
                )
            }
            FrameError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Reads the next response from `input`.
pub fn read_frame(input: &mut impl BufRead, limits: &Limits) -> Result<Frame, FrameError> {
    let mut frame = Frame::default();
    loop {
        let partial = !frame.lines.is_empty();
        let line = read_line(input, limits.max_line, partial)?;
        match literal_announcement(&line) {
            Some(size) => {
                if size > limits.max_literal {
                    return Err(FrameError::LiteralTooLarge {
                        announced: size,
                        limit: limits.max_literal,
                    });
                }
                frame.lines.push(line);
                frame.literals.push(read_literal(input, size, limits)?);
            }
            None => {
                frame.lines.push(line);
                return Ok(frame);
            }
        }
    }
}

/// One line without its CRLF (a bare LF is tolerated).
fn read_line(input: &mut impl BufRead, max: usize, partial: bool) -> Result<Vec<u8>, FrameError> {
    let mut line = Vec::new();
    loop {
        let available = match input.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(FrameError::Io(e)),
        };
        if available.is_empty() {
            return Err(FrameError::Eof {
                partial: partial || !line.is_empty(),
            });
        }
        let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..i], Some(i + 1)),
            None => (available, None),
        };
        if line.len() + chunk.len() > max {
            return Err(FrameError::LineTooLong { limit: max });
        }
        line.extend_from_slice(chunk);
        let consumed = done.unwrap_or(chunk.len());
        input.consume(consumed);
        if done.is_some() {
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Ok(line);
        }
    }
}

/// The size in a trailing `{N}` (or `{N+}`), if the line ends with one.
pub fn literal_announcement(line: &[u8]) -> Option<u64> {
    let inner = line.strip_suffix(b"}")?;
    let open = inner.iter().rposition(|&b| b == b'{')?;
    let digits = &inner[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || digits.len() > 20 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

fn read_literal(
    input: &mut impl BufRead,
    size: u64,
    limits: &Limits,
) -> Result<Literal, FrameError> {
    if size <= limits.spill_threshold as u64 {
        let mut bytes = vec![0; size as usize];
        read_exact(input, &mut bytes)?;
        return Ok(Literal::Memory(bytes));
    }
    let mut file = spill_file(limits).map_err(FrameError::Io)?;
    let mut remaining = size;
    let mut buf = vec![0; 64 * 1024];
    while remaining > 0 {
        let n = remaining.min(buf.len() as u64) as usize;
        read_exact(input, &mut buf[..n])?;
        file.write_all(&buf[..n]).map_err(FrameError::Io)?;
        remaining -= n as u64;
    }
    file.seek(SeekFrom::Start(0)).map_err(FrameError::Io)?;
    Ok(Literal::File { file, len: size })
}

fn read_exact(input: &mut impl BufRead, buf: &mut [u8]) -> Result<(), FrameError> {
    input.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => FrameError::Eof { partial: true },
        _ => FrameError::Io(e),
    })
}

/// A new temporary file, unlinked at once so nothing is left behind.
fn spill_file(limits: &Limits) -> io::Result<File> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let path = limits
        .spill_dir
        .join(format!("shared_imapc-literal-{}-{n}", std::process::id()));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    /// A reader that hands out one byte per read: every split point.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() || buf.is_empty() {
                return Ok(0);
            }
            buf[0] = self.0[0];
            self.0 = &self.0[1..];
            Ok(1)
        }
    }

    fn frames(input: &[u8], limits: &Limits) -> Vec<Result<Frame, FrameError>> {
        let mut reader = BufReader::with_capacity(1, Trickle(input));
        let mut out = Vec::new();
        loop {
            match read_frame(&mut reader, limits) {
                Err(FrameError::Eof { partial: false }) => return out,
                Err(e) => {
                    out.push(Err(e));
                    return out;
                }
                Ok(f) => out.push(Ok(f)),
            }
        }
    }

    #[test]
    fn lines_and_literals_split_at_every_byte() {
        let input = b"* OK hi\r\n* 1 FETCH (BODY[] {5}\r\nab\r\nc UID 7)\r\na1 OK done\r\n";
        let got = frames(input, &Limits::default());
        assert_eq!(got.len(), 3);
        let fetch = got[1].as_ref().unwrap();
        assert_eq!(
            fetch.lines,
            vec![b"* 1 FETCH (BODY[] {5}".to_vec(), b" UID 7)".to_vec()]
        );
        assert_eq!(fetch.literals[0].as_bytes(), Some(&b"ab\r\nc"[..]));
    }

    #[test]
    fn large_literals_are_spilled_to_an_unlinked_file() {
        let body = vec![b'x'; 5000];
        let mut input = format!("* 1 FETCH (BODY[] {{{}}}\r\n", body.len()).into_bytes();
        input.extend_from_slice(&body);
        input.extend_from_slice(b")\r\n");
        let limits = Limits {
            spill_threshold: 1000,
            ..Limits::default()
        };
        let mut frame = read_frame(&mut &input[..], &limits).unwrap();
        assert!(frame.literals[0].as_bytes().is_none());
        assert_eq!(frame.literals[0].len(), 5000);
        assert_eq!(frame.literals[0].read_all().unwrap(), body);
        let leftovers = std::fs::read_dir(&limits.spill_dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with(&format!("shared_imapc-literal-{}-", std::process::id()))
            })
            .count();
        assert_eq!(leftovers, 0);
    }

    #[test]
    fn a_4gb_literal_is_refused_before_reading_it() {
        let got = frames(b"* 1 FETCH (BODY[] {4294967296}\r\n", &Limits::default());
        assert!(matches!(
            got[0],
            Err(FrameError::LiteralTooLarge {
                announced: 4294967296,
                ..
            })
        ));
    }

    #[test]
    fn over_long_lines_are_refused() {
        let limits = Limits {
            max_line: 100,
            ..Limits::default()
        };
        let line = [b"* OK ".to_vec(), vec![b'a'; 200], b"\r\n".to_vec()].concat();
        assert!(matches!(
            frames(&line, &limits)[0],
            Err(FrameError::LineTooLong { limit: 100 })
        ));
    }

    #[test]
    fn disconnect_mid_literal_is_a_partial_eof() {
        let got = frames(b"* 1 FETCH (BODY[] {10}\r\nabc", &Limits::default());
        assert!(matches!(got[0], Err(FrameError::Eof { partial: true })));
        let got = frames(b"* OK no newline", &Limits::default());
        assert!(matches!(got[0], Err(FrameError::Eof { partial: true })));
    }

    #[test]
    fn literal_announcements() {
        assert_eq!(literal_announcement(b"x {12}"), Some(12));
        assert_eq!(literal_announcement(b"x {12+}"), Some(12));
        assert_eq!(literal_announcement(b"x {}"), None);
        assert_eq!(literal_announcement(b"x {1a}"), None);
        assert_eq!(literal_announcement(b"x 12}"), None);
        assert_eq!(literal_announcement(b"{99999999999999999999999}"), None);
    }
}
