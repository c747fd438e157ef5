//! The IMAP protocol in pure Rust: framing of server responses (lines and
//! streamed literals, bounded), the value tokenizer, typed responses, and
//! the command encoder. No I/O beyond the `BufRead` it is given, no Dovecot.
//!
//! Parser choice: a purpose-built streaming parser. It frames a response
//! first (so literals can be bounded and spilled to disk before any parsing)
//! and then parses the framed lines; `imap-proto` and `imap-codec` parse
//! from one contiguous buffer and would need a whole 50 MB literal in memory.

pub mod command;
pub mod framer;
pub mod response;
pub mod sequence;
pub mod utf7;
pub mod value;
