//! Search decisions: which keys of a SEARCH (or SORT) the remote evaluates,
//! and the one `UID SEARCH` / `UID SORT` command that sends them.
//!
//! Dovecot writes each top-level key of the search as IMAP (its own
//! canonical syntax); here it is parsed back into values and re-encoded,
//! so strings always go quoted or as literals and nothing in them can
//! change the command. Everything the local index cannot answer goes to
//! the remote in one command, and the flag, keyword and UID keys go along
//! (the remote then reads fewer messages); alone they stay local. Sequence
//! sets and MODSEQ keys are this session's own (the client sees the local
//! index's modseqs): local, unless the remote sorts. No message of a
//! shared folder is `\Recent` (see the README): the remote gets the keys
//! naming it as the local index answers them.

use std::io::Cursor;

use crate::imap::command::{Command, EncodeError};
use crate::imap::framer::{read_frame, Limits};
use crate::imap::value::{Tokens, Value};

/// One top-level search key, as values.
pub type Key = Vec<Value>;

/// Parses Dovecot's IMAP text of one search key; `None` if it is not IMAP.
pub fn parse_key(text: &str) -> Option<Key> {
    let mut input = Cursor::new(format!("{text}\r\n").into_bytes());
    let frame = read_frame(&mut input, &Limits::default()).ok()?;
    let mut tokens = Tokens::new(frame);
    let mut values = Vec::new();
    loop {
        tokens.skip_spaces();
        if tokens.at_end() || tokens.rest_is_empty() {
            break;
        }
        values.push(tokens.value(0).ok()?);
    }
    (!values.is_empty()).then_some(values)
}

/// Keys answered from the local index: flags, keywords, sets, ALL.
fn is_local(values: &[Value]) -> bool {
    const FLAG_KEYS: &[&str] = &[
        "ALL",
        "ANSWERED",
        "DELETED",
        "DRAFT",
        "FLAGGED",
        "SEEN",
        "RECENT",
        "NEW",
        "OLD",
        "UNANSWERED",
        "UNDELETED",
        "UNDRAFT",
        "UNFLAGGED",
        "UNSEEN",
    ];
    let mut rest = values;
    while let Some((first, tail)) = rest.split_first() {
        rest = tail;
        match first {
            Value::List(inner) if is_local(inner) => {}
            Value::Atom(a) => {
                let a = a.to_ascii_uppercase();
                if a == "NOT" || FLAG_KEYS.contains(&a.as_str()) || is_sequence_set(&a) {
                    continue;
                }
                if matches!(a.as_str(), "KEYWORD" | "UNKEYWORD" | "UID") && !rest.is_empty() {
                    rest = &rest[1..];
                    continue;
                }
                // The client sees the local index's modseqs (FETCH MODSEQ,
                // HIGHESTMODSEQ): MODSEQ [entry type] n is answered by them.
                if a == "MODSEQ" {
                    let entry = rest.first().is_some_and(is_entry_name);
                    rest = rest.get(if entry { 3 } else { 1 }..).unwrap_or_default();
                    continue;
                }
                return false;
            }
            _ => return false,
        }
    }
    true
}

/// Whether a value is a MODSEQ key's entry name (RFC 7162: a string such
/// as `"/flags/\\Seen"`; Dovecot writes it unquoted, `/flags/\Seen`).
fn is_entry_name(value: &Value) -> bool {
    match value {
        Value::Atom(a) => a.starts_with('/'),
        Value::Str(_) | Value::Literal(_) => true,
        _ => false,
    }
}

/// Whether a key tests modseqs anywhere (the local ones are the client's).
fn mentions_modseq(values: &[Value]) -> bool {
    values.iter().any(|v| match v {
        Value::Atom(a) => a.eq_ignore_ascii_case("MODSEQ"),
        Value::List(inner) => mentions_modseq(inner),
        _ => false,
    })
}

fn is_sequence_set(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || b":,*".contains(&b))
}

/// What to ask the remote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Indexes of the keys the remote evaluates.
    pub remote_keys: Vec<usize>,
    /// The remote's SORT criteria, when it sorts.
    pub sort: Option<Vec<String>>,
}

impl Plan {
    /// Whether anything goes to the remote.
    pub fn is_remote(&self) -> bool {
        !self.remote_keys.is_empty() || self.sort.is_some()
    }
}

/// Decides, given the keys (`None`: not expressible in IMAP), the SORT
/// criteria Dovecot asked for (`None`: none, or some the remote cannot
/// sort by) and whether the remote has SORT. A remote sort takes every
/// key (it must return exactly the matches, in order); a remote search
/// takes the keys the local index cannot answer from flags alone.
pub fn plan(keys: &[Option<Key>], sort: Option<Vec<String>>, remote_sorts: bool) -> Plan {
    let all_imap = keys
        .iter()
        .all(|k| k.as_deref().is_some_and(|k| !mentions_modseq(k)));
    if let Some(criteria) = sort.filter(|_| remote_sorts && all_imap) {
        return Plan {
            remote_keys: (0..keys.len()).collect(),
            sort: Some(criteria),
        };
    }
    let goes_remote = |k: &Key| !is_local(k);
    let mut remote_keys = indexes_where(keys, goes_remote);
    // With a search to send anyway, the flag keys go along: the remote then
    // reads the bodies only of the messages they let through.
    if !remote_keys.is_empty() {
        remote_keys = indexes_where(keys, |k| goes_remote(k) || the_remote_answers_alike(k));
    }
    Plan {
        remote_keys,
        sort: None,
    }
}

fn indexes_where(keys: &[Option<Key>], wanted: impl Fn(&Key) -> bool) -> Vec<usize> {
    keys.iter()
        .enumerate()
        .filter(|(_, k)| k.as_ref().is_some_and(&wanted))
        .map(|(i, _)| i)
        .collect()
}

/// Whether the remote answers a local key as the local index does: not
/// when it names sequence numbers or modseqs, which are this session's
/// own (nor \Recent: the local index answers it without reading).
fn the_remote_answers_alike(values: &[Value]) -> bool {
    const SESSION_KEYS: &[&str] = &["MODSEQ", "RECENT", "NEW", "OLD"];
    let mut rest = values;
    while let Some((first, tail)) = rest.split_first() {
        rest = tail;
        match first {
            Value::List(inner) if !the_remote_answers_alike(inner) => return false,
            Value::Atom(a) if a.eq_ignore_ascii_case("UID") => {
                rest = rest.get(1..).unwrap_or_default()
            }
            Value::Atom(a) if SESSION_KEYS.iter().any(|k| a.eq_ignore_ascii_case(k)) => {
                return false
            }
            Value::Atom(a) if is_sequence_set(a) => return false,
            _ => {}
        }
    }
    true
}

/// The command for `keys` (already chosen by `plan`).
pub fn command(
    keys: &[&Key],
    sort: Option<&[String]>,
    esearch: bool,
) -> Result<Command, EncodeError> {
    let non_ascii = keys.iter().any(|k| k.iter().any(has_non_ascii));
    let mut command = match sort {
        Some(criteria) => {
            let mut c = Command::new("UID SORT").open_group();
            for criterion in criteria {
                c = c.atom(criterion)?;
            }
            c.close_group().syntax("UTF-8")
        }
        None if esearch => Command::new("UID SEARCH").syntax("RETURN (ALL)"),
        None => Command::new("UID SEARCH"),
    };
    if sort.is_none() && non_ascii {
        command = command.syntax("CHARSET UTF-8");
    }
    if keys.is_empty() {
        return Ok(command.syntax("ALL"));
    }
    for key in keys {
        command = encode_values(command, key)?;
    }
    Ok(command)
}

/// The arguments of a search key that are not keys themselves: how many,
/// and whether they go as strings (Dovecot writes strings as atoms where
/// it can, and a MODSEQ key's entry name always so).
fn arguments(key: &str, next: Option<&Value>) -> (usize, bool) {
    match key.to_ascii_uppercase().as_str() {
        "BCC" | "BODY" | "CC" | "FROM" | "SUBJECT" | "TEXT" | "TO" => (1, true),
        "HEADER" => (2, true),
        "KEYWORD" | "UNKEYWORD" => (1, false),
        "MODSEQ" if next.is_some_and(is_entry_name) => (1, true),
        _ => (0, false),
    }
}

/// What the remote gets for a key that names `\Recent`, which no message
/// of a shared folder has (see the README): what the local index answers.
fn without_recent(key: &str) -> Option<&'static str> {
    match key.to_ascii_uppercase().as_str() {
        "RECENT" | "NEW" => Some("NOT ALL"),
        "OLD" => Some("ALL"),
        _ => None,
    }
}

fn encode_values(mut command: Command, values: &[Value]) -> Result<Command, EncodeError> {
    let (mut arguments_due, mut as_strings) = (0usize, false);
    for (i, value) in values.iter().enumerate() {
        let argument = arguments_due > 0;
        arguments_due = arguments_due.saturating_sub(1);
        let as_string = argument && as_strings;
        command = match value {
            Value::Atom(a) if as_string => command.string(a.as_bytes())?,
            Value::Atom(a) if argument => command.atom(a)?,
            Value::Atom(a) => match without_recent(a) {
                Some(replacement) => command.syntax(replacement),
                None => {
                    (arguments_due, as_strings) = arguments(a, values.get(i + 1));
                    command.atom(a)?
                }
            },
            Value::Number(n) if as_string => command.string(n.to_string().as_bytes())?,
            Value::Number(n) => command.number(*n),
            Value::Str(bytes) => command.string(bytes)?,
            Value::Literal(l) => command.string(l.as_bytes().unwrap_or_default())?,
            Value::Nil => command.atom("NIL")?,
            Value::List(inner) => encode_values(command.open_group(), inner)?.close_group(),
            // Only FETCH responses carry these, never a search key.
            Value::ListText(_) => return Err(EncodeError::NotAnAtom("a server's list".into())),
        };
    }
    Ok(command)
}

/// `UID THREAD algorithm UTF-8 keys…` (every key goes; `ALL` if none).
pub fn thread_command(algorithm: &str, keys: &[&Key]) -> Result<Command, EncodeError> {
    let mut command = Command::new("UID THREAD").atom(algorithm)?.syntax("UTF-8");
    if keys.is_empty() {
        return Ok(command.syntax("ALL"));
    }
    for key in keys {
        command = encode_values(command, key)?;
    }
    Ok(command)
}

/// A thread tree with UIDs turned into sequence numbers (`uids[i]` is
/// message i + 1); unknown UIDs are left out, and lists left empty too.
pub fn renumber(tree: &Value, uids: &[u32]) -> Option<Value> {
    match tree {
        Value::Number(uid) => {
            let uid = u32::try_from(*uid).ok()?;
            let at = uids.binary_search(&uid).ok()?;
            Some(Value::Number(at as u64 + 1))
        }
        Value::List(items) => {
            let kept: Vec<Value> = items.iter().filter_map(|i| renumber(i, uids)).collect();
            (!kept.is_empty()).then_some(Value::List(kept))
        }
        _ => None,
    }
}

/// Writes one thread as RFC 5256 does: `(3 6 (4 23)(44 7 96))`.
pub fn write_thread(tree: &Value, out: &mut String) {
    match tree {
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::List(items) => {
            out.push('(');
            for (i, item) in items.iter().enumerate() {
                let after_list = i > 0 && matches!(items[i - 1], Value::List(_));
                if i > 0 && !(after_list && matches!(item, Value::List(_))) {
                    out.push(' ');
                }
                write_thread(item, out);
            }
            out.push(')');
        }
        _ => {}
    }
}

fn has_non_ascii(value: &Value) -> bool {
    match value {
        Value::Str(b) => !b.is_ascii(),
        Value::Literal(l) => !l.as_bytes().unwrap_or_default().is_ascii(),
        Value::List(inner) => inner.iter().any(has_non_ascii),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(texts: &[&str]) -> Vec<Option<Key>> {
        texts.iter().map(|t| parse_key(t)).collect()
    }

    fn wire(command: &Command) -> String {
        command.log_text()
    }

    #[test]
    fn content_keys_go_remote_flags_alone_stay_local() {
        let k = keys(&[
            "SEEN",
            "SUBJECT \"report\"",
            "NOT (FLAGGED KEYWORD $Work)",
            "UID 1:5",
            "MODSEQ 7",
            "MODSEQ \"/flags/\\\\Seen\" all 9",
            "OR (BODY \"x\") (SEEN)",
        ]);
        let p = plan(&k, None, true);
        // The flag and UID keys go along with the content keys; the
        // modseqs are the local index's.
        assert_eq!(p.remote_keys, vec![0, 1, 2, 3, 6]);
        assert!(p.is_remote());
        assert!(!plan(&keys(&["UNSEEN", "1:3"]), None, true).is_remote());
    }

    #[test]
    fn session_keys_stay_local_beside_content_keys() {
        let k = keys(&["BODY x", "1:3", "RECENT", "NOT (NEW)", "UNSEEN", "UID 4:9"]);
        assert_eq!(plan(&k, None, true).remote_keys, vec![0, 4, 5]);
    }

    #[test]
    fn sort_goes_remote_with_every_key_when_offered() {
        let sort = Some(vec!["REVERSE".to_string(), "DATE".to_string()]);
        let p = plan(&keys(&["SEEN", "SUBJECT x"]), sort.clone(), true);
        assert_eq!(p.remote_keys, vec![0, 1]);
        assert!(p.sort.is_some());
        assert_eq!(plan(&keys(&["ALL"]), sort.clone(), false).sort, None);
        // A key only Dovecot knows: Dovecot sorts, the remote still searches.
        let mut k = keys(&["SUBJECT x"]);
        k.push(None);
        let p = plan(&k, sort, true);
        assert_eq!((p.remote_keys, p.sort), (vec![0], None));
    }

    #[test]
    fn commands_quote_strings_and_never_pass_syntax_through() {
        let k = keys(&["SUBJECT \"a) UID 1:* (\"", "LARGER 100", "NOT (FROM \"x\")"]);
        let refs: Vec<&Key> = k.iter().flatten().collect();
        let c = command(&refs, None, true).unwrap();
        assert_eq!(
            wire(&c),
            "UID SEARCH RETURN (ALL) SUBJECT \"a) UID 1:* (\" LARGER 100 NOT (FROM x)"
                .replace("FROM x", "FROM \"x\"")
        );
        let sort = vec!["REVERSE".to_string(), "SUBJECT".to_string()];
        let c = command(&[], Some(&sort), false).unwrap();
        assert_eq!(wire(&c), "UID SORT (REVERSE SUBJECT) UTF-8 ALL");
    }

    #[test]
    fn modseq_entry_names_go_as_strings() {
        // Dovecot writes the entry name unquoted; alone, the key is local.
        let k = keys(&["MODSEQ /flags/\\Seen all 1", "MODSEQ /flags/$Work priv 3"]);
        assert!(!plan(&k, None, true).is_remote());
        let k = keys(&["OR (BODY x) (MODSEQ /flags/\\Seen shared 5)"]);
        assert_eq!(plan(&k, None, true).remote_keys, vec![0]);
        let refs: Vec<&Key> = k.iter().flatten().collect();
        assert_eq!(
            wire(&command(&refs, None, false).unwrap()),
            "UID SEARCH OR (BODY \"x\") (MODSEQ \"/flags/\\\\Seen\" shared 5)"
        );
    }

    #[test]
    fn recent_goes_to_the_remote_as_the_local_index_answers_it() {
        let k = keys(&[
            "OR (SUBJECT x) (NOT (NEW))",
            "OR RECENT OLD",
            "KEYWORD RECENT",
        ]);
        let refs: Vec<&Key> = k.iter().flatten().collect();
        assert_eq!(
            wire(&command(&refs, None, false).unwrap()),
            "UID SEARCH OR (SUBJECT \"x\") (NOT (NOT ALL)) OR NOT ALL ALL KEYWORD RECENT"
        );
    }

    #[test]
    fn non_ascii_strings_go_as_literals_with_a_charset() {
        let k = keys(&["SUBJECT {5}\r\ncaf\u{e9}"]);
        let refs: Vec<&Key> = k.iter().flatten().collect();
        let c = command(&refs, None, false).unwrap();
        assert_eq!(wire(&c), "UID SEARCH CHARSET UTF-8 SUBJECT {5}");
    }

    #[test]
    fn threads_are_renumbered_and_written_as_rfc_5256_does() {
        use Value::{List, Number};
        let tree = List(vec![
            Number(30),
            Number(60),
            List(vec![Number(40), Number(230)]),
            List(vec![Number(440), Number(70)]),
        ]);
        let mut text = String::new();
        write_thread(&tree, &mut text);
        assert_eq!(text, "(30 60 (40 230)(440 70))");
        // 230 and 440 are not in the local index (yet).
        let uids = [30, 40, 60, 70];
        let mut text = String::new();
        write_thread(&renumber(&tree, &uids).unwrap(), &mut text);
        assert_eq!(text, "(1 3 (2)(4))");
        assert!(renumber(&List(vec![Number(999)]), &uids).is_none());
        let c = thread_command("REFERENCES", &[]).unwrap();
        assert_eq!(c.log_text(), "UID THREAD REFERENCES UTF-8 ALL");
    }

    #[test]
    fn text_that_is_not_imap_is_not_a_key() {
        assert!(parse_key("").is_none());
        assert!(parse_key("SUBJECT \"unterminated").is_none());
        assert!(Command::new("X").atom("A B").is_err());
        assert!(Command::new("X").atom("\\Seen").is_ok());
    }
}
