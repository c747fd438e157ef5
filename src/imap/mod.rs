//! The IMAP protocol in pure Rust: framing of server responses (lines and
//! streamed literals, bounded), the value tokenizer, typed responses, and
//! the command encoder. No I/O beyond the `BufRead` it is given, no Dovecot.
//!
//! Parser choice: a purpose-built streaming parser. It frames a response
//! first (so literals are bounded and spilled to disk before any parsing)
//! and then parses the framed lines. `imap-proto` parses from one
//! contiguous buffer, so a response must be whole in memory first, and an
//! incomplete one is re-parsed from its start as bytes arrive.
//!
//! Measured with `make bench-client` (2026-12-01, release build, one core):
//!
//! | input | parser | MB/s | allocations per response | peak heap |
//! |---|---|---:|---:|---:|
//! | 100,000 FETCH (UID FLAGS RFC822.SIZE ENVELOPE) | shared_imapc | 79–90 | 37 | ~0 |
//! | same | imap-proto 0.17 | 96–147 | 7 | ~0 |
//! | one 50 MB literal read from a stream | shared_imapc | 1,870–2,170 | 14 | 0.1 MB |
//! | same | imap-proto 0.17 | 1,360–1,600 | 2 | 52.4 MB |
//!
//! imap-proto is faster on small responses because its values borrow from
//! the input; ours copies each string and atom into owned values. Bounded
//! memory for large literals and owned responses that outlive the read
//! buffer decided it; borrowed values over the framed lines are the known
//! way to close the gap if FETCH parsing ever dominates.

pub mod command;
pub mod framer;
pub mod response;
pub mod sequence;
pub mod utf7;
pub mod value;
