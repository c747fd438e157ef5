//! The on-disk record of the embedded store: one committed transaction (or
//! a snapshot, or a pointer to the next generation), checksummed.
//!
//! `magic "SDR1" | payload length u32 LE | CRC-32 of payload u32 LE | payload`
//!
//! A record is valid only whole: a torn or altered one fails its checksum
//! and is never read as data.

/// Marks the start of every record.
pub const MAGIC: &[u8; 4] = b"SDR1";
/// Bytes before the payload.
pub const HEADER_LEN: usize = 12;

/// What a record holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// One committed transaction, already resolved (no increments left).
    Commit(Vec<Change>),
    /// The whole state at the start of a generation file.
    Snapshot(Vec<(String, String)>),
    /// This generation is closed; readers continue in `log.<generation>`.
    Moved { generation: u64 },
}

/// One resolved change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Set(String, String),
    Unset(String),
}

const KIND_COMMIT: u8 = 1;
const KIND_SNAPSHOT: u8 = 2;
const KIND_MOVED: u8 = 3;
const CHANGE_SET: u8 = 1;
const CHANGE_UNSET: u8 = 2;

impl Record {
    /// The record with its header.
    pub fn encode(&self) -> Vec<u8> {
        let mut payload = Vec::new();
        match self {
            Record::Commit(changes) => {
                payload.push(KIND_COMMIT);
                for change in changes {
                    match change {
                        Change::Set(k, v) => {
                            payload.push(CHANGE_SET);
                            put_str(&mut payload, k);
                            put_str(&mut payload, v);
                        }
                        Change::Unset(k) => {
                            payload.push(CHANGE_UNSET);
                            put_str(&mut payload, k);
                        }
                    }
                }
            }
            Record::Snapshot(pairs) => {
                payload.push(KIND_SNAPSHOT);
                for (k, v) in pairs {
                    put_str(&mut payload, k);
                    put_str(&mut payload, v);
                }
            }
            Record::Moved { generation } => {
                payload.push(KIND_MOVED);
                payload.extend_from_slice(&generation.to_le_bytes());
            }
        }
        let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        out.extend_from_slice(&payload);
        out
    }
}

/// Why bytes are not a valid record.
#[derive(Debug, PartialEq, Eq)]
pub enum Invalid {
    /// The bytes end before the record does.
    Incomplete,
    /// Wrong magic, checksum or contents.
    Bad(&'static str),
}

/// Decodes the record at the start of `bytes`; returns it and its length.
pub fn decode(bytes: &[u8]) -> Result<(Record, usize), Invalid> {
    if bytes.len() < HEADER_LEN {
        return Err(Invalid::Incomplete);
    }
    if &bytes[..4] != MAGIC {
        return Err(Invalid::Bad("bad magic"));
    }
    let len = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    let Some(payload) = bytes.get(HEADER_LEN..HEADER_LEN + len) else {
        return Err(Invalid::Incomplete);
    };
    if crc32fast::hash(payload) != crc {
        return Err(Invalid::Bad("checksum mismatch"));
    }
    let record = parse_payload(payload).ok_or(Invalid::Bad("malformed contents"))?;
    Ok((record, HEADER_LEN + len))
}

/// The offset of the next valid record after `from`, if any (to tell a
/// torn tail from damage in the middle of a file).
pub fn next_valid(bytes: &[u8], from: usize) -> Option<usize> {
    (from..bytes.len().saturating_sub(HEADER_LEN - 1))
        .filter(|&i| bytes[i..].starts_with(MAGIC))
        .find(|&i| decode(&bytes[i..]).is_ok())
}

fn parse_payload(payload: &[u8]) -> Option<Record> {
    let (&kind, mut rest) = payload.split_first()?;
    match kind {
        KIND_COMMIT => {
            let mut changes = Vec::new();
            while let Some((&op, after)) = rest.split_first() {
                rest = after;
                let key = take_str(&mut rest)?;
                changes.push(match op {
                    CHANGE_SET => Change::Set(key, take_str(&mut rest)?),
                    CHANGE_UNSET => Change::Unset(key),
                    _ => return None,
                });
            }
            Some(Record::Commit(changes))
        }
        KIND_SNAPSHOT => {
            let mut pairs = Vec::new();
            while !rest.is_empty() {
                pairs.push((take_str(&mut rest)?, take_str(&mut rest)?));
            }
            Some(Record::Snapshot(pairs))
        }
        KIND_MOVED if rest.len() == 8 => Some(Record::Moved {
            generation: u64::from_le_bytes(rest.try_into().ok()?),
        }),
        _ => None,
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn take_str(rest: &mut &[u8]) -> Option<String> {
    let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let bytes = rest.get(4..4 + len)?;
    *rest = &rest[4 + len..];
    String::from_utf8(bytes.to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for record in [
            Record::Commit(vec![
                Change::Set("shared/a".into(), "1".into()),
                Change::Unset("shared/b".into()),
            ]),
            Record::Snapshot(vec![("k".into(), "v".into())]),
            Record::Snapshot(vec![]),
            Record::Moved { generation: 7 },
        ] {
            let bytes = record.encode();
            assert_eq!(decode(&bytes), Ok((record, bytes.len())));
        }
    }

    #[test]
    fn every_truncation_and_every_bit_flip_is_detected() {
        let bytes = Record::Commit(vec![Change::Set("shared/x".into(), "value".into())]).encode();
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut damaged = bytes.clone();
                damaged[i] ^= 1 << bit;
                assert!(decode(&damaged).is_err(), "flip {i}:{bit} undetected");
            }
        }
    }

    #[test]
    fn next_valid_finds_a_record_after_damage() {
        let good = Record::Moved { generation: 2 }.encode();
        let mut bytes = vec![0xAA; 10];
        bytes.extend_from_slice(&good);
        assert_eq!(next_valid(&bytes, 1), Some(10));
        assert_eq!(next_valid(&bytes[..bytes.len() - 1], 1), None);
    }
}
