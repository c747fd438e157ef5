//! What a local FETCH needs from the remote, as IMAP fetch items, and the
//! remote's answers kept per message. ENVELOPE, BODY and BODYSTRUCTURE are
//! passed on as the remote wrote them, so they equal what the owner sees.

use crate::imap::framer::Literal;
use crate::imap::value::Value;

/// Items wanted, as bits shared with the C shim (`SIC_WANT_*`).
pub mod want {
    /// `INTERNALDATE`.
    pub const INTERNALDATE: u32 = 1 << 0;
    /// `RFC822.SIZE`.
    pub const SIZE: u32 = 1 << 1;
    /// `ENVELOPE`.
    pub const ENVELOPE: u32 = 1 << 2;
    /// `BODYSTRUCTURE`.
    pub const BODYSTRUCTURE: u32 = 1 << 3;
    /// `BODY` (the non-extensible structure).
    pub const BODY: u32 = 1 << 4;
    /// The whole message (`BODY.PEEK[]`).
    pub const MESSAGE: u32 = 1 << 5;
    /// The owner's message GUID (Dovecot's `X-GUID`).
    pub const GUID: u32 = 1 << 6;
    /// The message's header alone (`BODY.PEEK[HEADER]`); a whole message
    /// holds it too.
    pub const HEADER: u32 = 1 << 7;
}

/// Fetch item names for the wanted bits, in a fixed order. Whole messages
/// bring their size along: Dovecot asks it after reading the message, which
/// would otherwise cost one command per message. The header is not asked
/// beside the whole message that holds it.
pub fn fetch_items(wanted: u32) -> Vec<&'static str> {
    let wanted = if wanted & want::MESSAGE != 0 {
        (wanted | want::SIZE) & !want::HEADER
    } else {
        wanted
    };
    let mut items = vec!["UID"];
    let table = [
        (want::INTERNALDATE, "INTERNALDATE"),
        (want::SIZE, "RFC822.SIZE"),
        (want::ENVELOPE, "ENVELOPE"),
        (want::BODYSTRUCTURE, "BODYSTRUCTURE"),
        (want::BODY, "BODY"),
        (want::MESSAGE, "BODY.PEEK[]"),
        (want::HEADER, "BODY.PEEK[HEADER]"),
        (want::GUID, "X-GUID"),
    ];
    items.extend(
        table
            .iter()
            .filter(|(bit, _)| wanted & bit != 0)
            .map(|(_, name)| *name),
    );
    items
}

/// What the remote sent about one message.
#[derive(Debug, Default)]
pub struct MessageData {
    /// Seconds since the epoch and the zone offset in minutes.
    pub internaldate: Option<(i64, i32)>,
    /// `RFC822.SIZE`.
    pub size: Option<u64>,
    /// `ENVELOPE` as IMAP text, without the outer parentheses.
    pub envelope: Option<Vec<u8>>,
    /// `BODYSTRUCTURE` likewise.
    pub bodystructure: Option<Vec<u8>>,
    /// `BODY` likewise.
    pub body: Option<Vec<u8>>,
    /// `X-GUID`.
    pub guid: Option<String>,
    /// The whole message (`BODY[]`), in memory or a temporary file.
    pub message: Option<Literal>,
    /// The header alone (`BODY[HEADER]`), while the whole message is not
    /// here.
    pub header: Option<Literal>,
}

impl MessageData {
    /// The wanted bits this holds already.
    pub fn present(&self) -> u32 {
        let mut bits = 0;
        let mut mark = |present: bool, bit: u32| {
            if present {
                bits |= bit
            }
        };
        mark(self.internaldate.is_some(), want::INTERNALDATE);
        mark(self.size.is_some(), want::SIZE);
        mark(self.envelope.is_some(), want::ENVELOPE);
        mark(self.bodystructure.is_some(), want::BODYSTRUCTURE);
        mark(self.body.is_some(), want::BODY);
        mark(self.message.is_some(), want::MESSAGE);
        mark(self.guid.is_some(), want::GUID);
        mark(
            self.header.is_some() || self.message.is_some(),
            want::HEADER,
        );
        bits
    }

    /// Takes in one FETCH response's items.
    pub fn absorb(&mut self, items: Vec<(String, Value)>) {
        for (name, value) in items {
            match name.as_str() {
                "INTERNALDATE" => {
                    self.internaldate = value.as_text().and_then(|t| parse_internaldate(&t))
                }
                "RFC822.SIZE" => self.size = value.as_number(),
                "ENVELOPE" => self.envelope = Some(structure_text(value)),
                "BODYSTRUCTURE" => self.bodystructure = Some(structure_text(value)),
                "BODY" => self.body = Some(structure_text(value)),
                "X-GUID" => self.guid = value.as_text().map(|g| g.into_owned()),
                "BODY[]" => {
                    self.message = literal(value);
                    if self.message.is_some() {
                        self.header = None;
                    }
                }
                "BODY[HEADER]" if self.message.is_none() => self.header = literal(value),
                _ => {}
            }
        }
    }

    /// Bytes held in memory (for the cache bound).
    pub fn memory_size(&self) -> usize {
        let text = |s: &Option<Vec<u8>>| s.as_ref().map_or(0, Vec::len);
        text(&self.envelope) + text(&self.bodystructure) + text(&self.body) + self.streams_size()
    }

    /// Bytes of the whole message and the header held in memory.
    fn streams_size(&self) -> usize {
        let held = |l: &Option<Literal>| {
            l.as_ref()
                .and_then(Literal::as_bytes)
                .map_or(0, <[u8]>::len)
        };
        held(&self.message) + held(&self.header)
    }

    /// Drops the whole message and the header (fetched again when wanted);
    /// the bytes of memory this freed.
    pub fn drop_streams(&mut self) -> usize {
        let freed = self.streams_size();
        self.message = None;
        self.header = None;
        freed
    }
}

/// A message section's literal (or quoted string); NIL: the remote has no
/// such message any more, never an empty message.
fn literal(value: Value) -> Option<Literal> {
    match value {
        Value::Literal(literal) => Some(literal),
        Value::Str(bytes) => Some(Literal::Memory(bytes)),
        _ => None,
    }
}

/// ENVELOPE, BODY or BODYSTRUCTURE as the remote wrote it, without the
/// outer parentheses (Dovecot adds them); empty when it sent no list.
fn structure_text(value: Value) -> Vec<u8> {
    match value {
        Value::ListText(text) => text,
        _ => Vec::new(),
    }
}

/// `"17-Jul-1996 02:44:25 -0700"` as (epoch seconds, offset minutes).
pub fn parse_internaldate(text: &str) -> Option<(i64, i32)> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let (date, rest) = text.trim().split_once(' ')?;
    let (time, zone) = rest.trim().split_once(' ')?;
    let mut d = date.split('-');
    let day: i64 = d.next()?.trim().parse().ok()?;
    let month_name = d.next()?.to_ascii_lowercase();
    let month = MONTHS.iter().position(|m| *m == month_name)? as i64 + 1;
    let year: i64 = d.next()?.parse().ok()?;
    let mut t = time.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, s) = (t.next()??, t.next()??, t.next()??);
    let sign = match zone.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let zone_digits: i64 = zone.get(1..5)?.parse().ok()?;
    let offset = sign * ((zone_digits / 100) * 60 + zone_digits % 100);
    let local = days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s;
    Some((local - offset * 60, i32::try_from(offset).ok()?))
}

/// (epoch seconds, offset minutes) as `"17-Jul-1996 02:44:25 -0700"`.
pub fn format_internaldate(time: i64, zone_minutes: i32) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let local = time + i64::from(zone_minutes) * 60;
    let (days, secs) = (local.div_euclid(86_400), local.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let sign = if zone_minutes < 0 { '-' } else { '+' };
    let zone = zone_minutes.unsigned_abs();
    format!(
        "{d:2}-{}-{y:04} {:02}:{:02}:{:02} {sign}{:02}{:02}",
        MONTHS[(m - 1) as usize],
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        zone / 60,
        zone % 60
    )
}

/// The proleptic Gregorian date of days since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internaldate_is_written_back_as_read() {
        for text in [
            "17-Jul-1996 02:44:25 -0700",
            " 1-Jan-1970 00:00:00 +0000",
            "29-Feb-2024 23:59:59 +0530",
        ] {
            let (time, zone) = parse_internaldate(text).unwrap();
            assert_eq!(format_internaldate(time, zone), text);
        }
    }

    #[test]
    fn internaldate_is_read_with_its_zone() {
        assert_eq!(
            parse_internaldate("17-Jul-1996 02:44:25 -0700"),
            Some((837_596_665, -420))
        );
        assert_eq!(
            parse_internaldate(" 1-Jan-1970 00:00:00 +0000"),
            Some((0, 0))
        );
        assert_eq!(parse_internaldate("1-Foo-1970 00:00:00 +0000"), None);
        assert_eq!(parse_internaldate("garbage"), None);
    }

    #[test]
    fn structures_are_kept_as_the_remote_wrote_them() {
        let envelope = b"\"Mon, 1 Jan 2024\" {4}\r\n\xe9t\xe9 NIL".to_vec();
        let mut data = MessageData::default();
        data.absorb(vec![
            ("ENVELOPE".into(), Value::ListText(envelope.clone())),
            ("BODYSTRUCTURE".into(), Value::Nil),
            ("RFC822.SIZE".into(), Value::Number(42)),
        ]);
        assert_eq!(data.envelope, Some(envelope));
        assert_eq!(data.bodystructure, Some(Vec::new()), "no list: empty");
        assert_eq!(data.size, Some(42));
        assert_eq!(
            data.present(),
            want::ENVELOPE | want::BODYSTRUCTURE | want::SIZE
        );
    }

    #[test]
    fn a_message_the_remote_answers_nil_for_is_not_there() {
        let mut data = MessageData::default();
        data.absorb(vec![("BODY[]".into(), Value::Nil)]);
        assert!(data.message.is_none(), "not an empty message");
        assert_eq!(data.present() & want::MESSAGE, 0);
    }

    #[test]
    fn items_follow_the_wanted_bits() {
        assert_eq!(
            fetch_items(want::ENVELOPE | want::SIZE),
            vec!["UID", "RFC822.SIZE", "ENVELOPE"]
        );
        assert_eq!(
            fetch_items(want::MESSAGE),
            vec!["UID", "RFC822.SIZE", "BODY.PEEK[]"]
        );
        assert_eq!(fetch_items(want::HEADER), vec!["UID", "BODY.PEEK[HEADER]"]);
        assert_eq!(
            fetch_items(want::HEADER | want::MESSAGE),
            vec!["UID", "RFC822.SIZE", "BODY.PEEK[]"],
            "the whole message holds the header"
        );
    }

    #[test]
    fn a_header_is_there_until_the_whole_message_replaces_it() {
        let mut data = MessageData::default();
        data.absorb(vec![(
            "BODY[HEADER]".into(),
            Value::Str(b"Subject: x\r\n\r\n".to_vec()),
        )]);
        assert_eq!(data.present(), want::HEADER);
        assert_eq!(data.memory_size(), 14);
        data.absorb(vec![(
            "BODY[]".into(),
            Value::Str(b"Subject: x\r\n\r\nbody".to_vec()),
        )]);
        assert_eq!(data.present(), want::HEADER | want::MESSAGE);
        assert!(data.header.is_none(), "kept once, in the whole message");
        assert_eq!(data.memory_size(), 18);
        assert_eq!(data.drop_streams(), 18);
        assert_eq!(data.present(), 0);
    }
}
