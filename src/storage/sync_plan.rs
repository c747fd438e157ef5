//! Sync decisions: what the local index must change to mirror what the
//! remote reported. Pure: the C shim applies the plan to Dovecot's index.

use std::collections::BTreeMap;

use crate::imap::sequence::SequenceSet;

/// System flags, with the bit values of Dovecot's `enum mail_flags`.
pub mod system_flags {
    /// `\Answered`.
    pub const ANSWERED: u8 = 0x01;
    /// `\Flagged`.
    pub const FLAGGED: u8 = 0x02;
    /// `\Deleted`.
    pub const DELETED: u8 = 0x04;
    /// `\Seen`.
    pub const SEEN: u8 = 0x08;
    /// `\Draft`.
    pub const DRAFT: u8 = 0x10;
}

/// A message's flags as the remote has them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Flags {
    /// System flags (`system_flags` bits).
    pub system: u8,
    /// Keywords, as the remote spells them.
    pub keywords: Vec<String>,
}

impl Flags {
    /// From a `FLAGS (…)` list. `\Recent` is the local server's business.
    pub fn from_names<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> Flags {
        use system_flags::*;
        const SYSTEM: [(&str, u8); 5] = [
            ("\\Answered", ANSWERED),
            ("\\Flagged", FLAGGED),
            ("\\Deleted", DELETED),
            ("\\Seen", SEEN),
            ("\\Draft", DRAFT),
        ];
        let mut flags = Flags::default();
        for name in names {
            let name = name.as_ref();
            match SYSTEM
                .iter()
                .find(|(system, _)| system.eq_ignore_ascii_case(name))
            {
                Some((_, bit)) => flags.system |= bit,
                None if name.starts_with('\\') => {}
                None => flags.keywords.push(name.to_string()),
            }
        }
        flags
    }
}

/// What the remote told since the last sync. Messages map to their flags,
/// or to `None` when the remote's answer about them could not be read
/// whole: such a message is there, and the index keeps the flags it has
/// (a new one gets none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delta {
    /// Every message there is (after `UID FETCH 1:* (FLAGS)`).
    Full {
        all: BTreeMap<u32, Option<Flags>>,
        /// False when an answer that named no message could not be read:
        /// any message may be missing from `all`, so none is expunged.
        complete: bool,
    },
    /// Only what changed (QRESYNC): vanished UIDs and new or changed messages.
    Changes {
        /// UIDs the remote expunged (`VANISHED`).
        vanished: SequenceSet,
        /// New or changed messages and their flags.
        changed: BTreeMap<u32, Option<Flags>>,
    },
}

/// The local index as it stands: every message, or those the plan needs
/// (`Delta::local_needed`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Local {
    /// The index's UIDVALIDITY (0 for a new index).
    pub uidvalidity: u32,
    /// The index's highest UID (0 when it is empty), or above it the
    /// highest it ever had (next_uid - 1): a UID up to here that the index
    /// lacks was expunged, and is never appended again.
    pub last_uid: u32,
    /// The remote's HIGHESTMODSEQ that the index's state is as of (0 when
    /// unknown): another session of the user may have synced newer news.
    pub modseq: u64,
    /// UIDs in ascending order.
    pub uids: Vec<u32>,
    /// Each UID's flags, in the same order.
    pub flags: Vec<Flags>,
}

/// Which local messages a plan must see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Needed {
    /// Every one: what is not on the remote goes.
    All,
    /// Only these UIDs: what the remote said changed or vanished.
    Only(SequenceSet),
}

impl Delta {
    /// The local messages `plan` compares with this delta: so that a
    /// resync reads what changed, not the whole index. Also those above
    /// the index's last UID now: another session of the user may have
    /// added them before the plan runs.
    pub fn local_needed(&self) -> Needed {
        let Delta::Changes { vanished, changed } = self else {
            return Needed::All;
        };
        let changed = changed.keys().map(|&uid| (uid, uid));
        Needed::Only(SequenceSet::from_ranges(
            vanished.0.iter().copied().chain(changed),
        ))
    }
}

impl Local {
    fn flags_of(&self, uid: u32) -> Option<&Flags> {
        let at = self.uids.binary_search(&uid).ok()?;
        self.flags.get(at)
    }
}

impl Flags {
    /// The same flags, whatever the keywords' order and case.
    pub fn same_as(&self, other: &Flags) -> bool {
        let sorted = |f: &Flags| {
            let mut k: Vec<String> = f.keywords.iter().map(|k| k.to_ascii_lowercase()).collect();
            k.sort();
            k
        };
        self.system == other.system && sorted(self) == sorted(other)
    }
}

/// One change to the local index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Drop every record: the remote's UIDVALIDITY changed.
    Reset,
    /// Expunge this UID.
    Expunge(u32),
    /// Replace this UID's flags.
    SetFlags(u32, Flags),
    /// Add this UID (above every local one) with its flags.
    Append(u32, Flags),
    /// The keywords the remote's folder knows (its `* FLAGS`), also those
    /// no message has now: Dovecot lists the index's in FLAGS, as the
    /// owner's own server does.
    Keywords(Vec<String>),
}

/// The changes, in the order they must be applied.
pub fn plan(local: &Local, remote_uidvalidity: u32, delta: &Delta) -> Vec<Change> {
    let mut changes = Vec::new();
    let reset = local.uidvalidity != 0 && local.uidvalidity != remote_uidvalidity;
    let uids: &[u32] = if reset { &[] } else { &local.uids };
    if reset {
        changes.push(Change::Reset);
    }
    let last_local = if reset { 0 } else { local.last_uid };
    let (vanished, upserts): (Vec<u32>, &BTreeMap<u32, Option<Flags>>) = match delta {
        Delta::Full { all, complete } => (
            uids.iter()
                .copied()
                .filter(|u| *complete && !all.contains_key(u))
                .collect(),
            all,
        ),
        Delta::Changes { vanished, changed } => (
            uids.iter()
                .copied()
                .filter(|&u| vanished.contains(u))
                .collect(),
            changed,
        ),
    };
    changes.extend(vanished.into_iter().map(Change::Expunge));
    for (&uid, flags) in upserts {
        // Flags fetched just before the message went: it is not there.
        if matches!(delta, Delta::Changes { vanished, .. } if vanished.contains(uid)) {
            continue;
        }
        if uid > last_local {
            changes.push(Change::Append(uid, flags.clone().unwrap_or_default()));
        } else if let (Ok(_), Some(flags)) = (uids.binary_search(&uid), flags) {
            let known = if reset { None } else { local.flags_of(uid) };
            if !known.is_some_and(|k| k.same_as(flags)) {
                changes.push(Change::SetFlags(uid, flags.clone()));
            }
        }
        // Below the last local UID and not local: expunged here already,
        // so it cannot be on the remote either (UIDs are never reused).
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen() -> Flags {
        Flags::from_names(["\\Seen"])
    }

    fn all(uids: &[u32]) -> Delta {
        Delta::Full {
            all: uids.iter().map(|&u| (u, Some(seen()))).collect(),
            complete: true,
        }
    }

    /// Messages and their flags, all read.
    fn read<const N: usize>(pairs: [(u32, Flags); N]) -> BTreeMap<u32, Option<Flags>> {
        pairs.into_iter().map(|(u, f)| (u, Some(f))).collect()
    }

    #[test]
    fn first_sync_appends_everything() {
        let local = Local::default();
        let changes = plan(&local, 7, &all(&[1, 2, 5]));
        assert_eq!(
            changes,
            vec![
                Change::Append(1, seen()),
                Change::Append(2, seen()),
                Change::Append(5, seen())
            ]
        );
    }

    #[test]
    fn full_sync_expunges_what_is_gone_and_updates_what_changed() {
        let local = Local {
            uidvalidity: 7,
            last_uid: 3,
            uids: vec![1, 2, 3],
            flags: vec![Flags::default(), seen(), seen()],
            modseq: 0,
        };
        let changes = plan(&local, 7, &all(&[1, 3, 4]));
        assert_eq!(
            changes,
            vec![
                Change::Expunge(2),
                Change::SetFlags(1, seen()),
                Change::Append(4, seen())
            ]
        );
    }

    #[test]
    fn a_uid_below_the_highest_the_index_had_is_never_appended() {
        // UID 4 was appended and expunged by another session: next_uid 5.
        let local = Local {
            uidvalidity: 7,
            last_uid: 4,
            uids: vec![1, 2, 3],
            flags: vec![seen(); 3],
            modseq: 0,
        };
        assert_eq!(
            plan(&local, 7, &all(&[1, 2, 3, 4, 5])),
            vec![Change::Append(5, seen())]
        );
    }

    #[test]
    fn keywords_compare_as_sets() {
        let a = Flags::from_names(["$Work", "\\Seen", "Later"]);
        let b = Flags::from_names(["later", "$work", "\\Seen"]);
        assert!(a.same_as(&b));
        assert!(!a.same_as(&seen()));
    }

    #[test]
    fn changed_uidvalidity_resets_the_index() {
        let local = Local {
            uidvalidity: 7,
            last_uid: 2,
            uids: vec![1, 2],
            flags: vec![seen(), seen()],
            modseq: 0,
        };
        let changes = plan(&local, 8, &all(&[1]));
        assert_eq!(changes, vec![Change::Reset, Change::Append(1, seen())]);
    }

    #[test]
    fn qresync_changes_touch_only_what_changed() {
        let local = Local {
            uidvalidity: 7,
            last_uid: 3,
            uids: vec![1, 2, 3],
            flags: vec![Flags::default(); 3],
            modseq: 0,
        };
        let delta = Delta::Changes {
            vanished: SequenceSet(vec![(2, 2), (9, 12)]),
            changed: read([(3, seen()), (4, Flags::default())]),
        };
        assert_eq!(
            plan(&local, 7, &delta),
            vec![
                Change::Expunge(2),
                Change::SetFlags(3, seen()),
                Change::Append(4, Flags::default())
            ]
        );
    }

    #[test]
    fn a_message_that_vanished_after_its_flags_came_is_not_added() {
        let local = Local {
            uidvalidity: 7,
            last_uid: 2,
            uids: vec![1, 2],
            flags: vec![Flags::default(); 2],
            modseq: 0,
        };
        let delta = Delta::Changes {
            vanished: SequenceSet(vec![(2, 3)]),
            changed: read([(2, seen()), (3, seen()), (4, seen())]),
        };
        assert_eq!(
            plan(&local, 7, &delta),
            vec![Change::Expunge(2), Change::Append(4, seen())]
        );
    }

    #[test]
    fn a_resync_needs_only_the_local_messages_it_names() {
        let delta = Delta::Changes {
            vanished: SequenceSet(vec![(2, 4), (90, 95)]),
            changed: read([(3, seen()), (7, seen()), (50, seen())]),
        };
        let needed = delta.local_needed();
        assert_eq!(
            needed,
            Needed::Only(SequenceSet(vec![(2, 4), (7, 7), (50, 50), (90, 95)]))
        );
        assert_eq!(all(&[1]).local_needed(), Needed::All);
        // The plan from those alone is the plan from the whole index.
        let whole = Local {
            uidvalidity: 7,
            last_uid: 10,
            uids: (1..=10).collect(),
            flags: vec![Flags::default(); 10],
            modseq: 0,
        };
        let part = Local {
            uids: vec![2, 3, 4, 7],
            flags: vec![Flags::default(); 4],
            ..whole.clone()
        };
        assert_eq!(plan(&part, 7, &delta), plan(&whole, 7, &delta));
        assert_eq!(
            plan(&part, 7, &delta),
            vec![
                Change::Expunge(2),
                Change::Expunge(3),
                Change::Expunge(4),
                Change::SetFlags(7, seen()),
                Change::Append(50, seen())
            ]
        );
    }

    #[test]
    fn a_message_whose_flags_could_not_be_read_keeps_its_own() {
        let local = Local {
            uidvalidity: 7,
            last_uid: 3,
            uids: vec![1, 2, 3],
            flags: vec![Flags::default(), seen(), Flags::default()],
            modseq: 0,
        };
        let mut all = read([(1, seen())]);
        all.extend([(2, None), (4, None)]);
        let delta = Delta::Full {
            all,
            complete: true,
        };
        // 2 neither expunged nor changed; 4 new, with no flags.
        assert_eq!(
            plan(&local, 7, &delta),
            vec![
                Change::Expunge(3),
                Change::SetFlags(1, seen()),
                Change::Append(4, Flags::default())
            ]
        );
        let delta = Delta::Changes {
            vanished: SequenceSet(Vec::new()),
            changed: [(2, None)].into_iter().collect(),
        };
        assert_eq!(plan(&local, 7, &delta), vec![]);
    }

    #[test]
    fn an_incomplete_listing_expunges_nothing() {
        let local = Local {
            uidvalidity: 7,
            last_uid: 3,
            uids: vec![1, 2, 3],
            flags: vec![seen(); 3],
            modseq: 0,
        };
        let delta = Delta::Full {
            all: read([(1, Flags::default()), (4, seen())]),
            complete: false,
        };
        assert_eq!(
            plan(&local, 7, &delta),
            vec![
                Change::SetFlags(1, Flags::default()),
                Change::Append(4, seen())
            ]
        );
    }

    #[test]
    fn flags_are_read_case_insensitively_and_recent_is_ignored() {
        let flags = Flags::from_names(["\\SEEN", "\\Recent", "$Label1", "\\Draft"]);
        assert_eq!(flags.system, system_flags::SEEN | system_flags::DRAFT);
        assert_eq!(flags.keywords, vec!["$Label1"]);
    }
}
