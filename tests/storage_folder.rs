//! The storage core's folder logic against a scripted server: what the
//! index is told to do after QRESYNC answers, and that a server which
//! breaks the rules (a FETCH without UID, names in its shared namespace,
//! a malformed ENVELOPE) gets a full resync or an error, never a wrong
//! index; that a reopened folder resumes its remote selection only while
//! the user may still read there; and that news about the folder that
//! come with other commands (a STATUS) or in ranges reach its index.

mod common;

use common::fake_server::{FakeServer, Peer, Script};
use shared_imapc::imap::sequence::SequenceSet;
use shared_imapc::storage::account::{Account, Owner};
use shared_imapc::storage::error::ErrorKind;
use shared_imapc::storage::folder::SyncResult;
use shared_imapc::storage::folder::{FlagChange, Folder};
use shared_imapc::storage::search_plan::parse_key;
use shared_imapc::storage::settings::Settings;
use shared_imapc::storage::sync_plan::{system_flags, Change, Flags, Local, Needed};
use shared_imapc::sys::log::DebugLog;

const GREETING: &[u8] =
    b"* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN LITERAL+ NAMESPACE QRESYNC CONDSTORE ESEARCH UIDPLUS] ready\r\n";

/// Answers the login, NAMESPACE and ENABLE; then `rest` takes over.
fn serve(rest: impl FnOnce(&mut Peer) + Send + 'static) -> FakeServer {
    FakeServer::start(move |peer| {
        log_in_and_select(peer);
        rest(peer);
    })
}

/// The greeting and login, NAMESPACE and ENABLE, and the first SELECT.
fn log_in_and_select(peer: &mut Peer) {
    log_in_and_answer_select(
        peer,
        &[
            "* 3 EXISTS",
            "* OK [UIDVALIDITY 7] v",
            "* OK [UIDNEXT 4] n",
            "* OK [HIGHESTMODSEQ 10] m",
        ],
    );
}

/// The same, answering the SELECT with `select` (and OK).
fn log_in_and_answer_select(peer: &mut Peer, select: &[&str]) {
    peer.send(GREETING);
    let (tag, _) = peer.command();
    peer.send(format!("{tag} OK [CAPABILITY IMAP4rev1 NAMESPACE QRESYNC CONDSTORE ESEARCH UIDPLUS LITERAL+ ACL] in\r\n").as_bytes());
    loop {
        let (tag, command) = peer.command();
        if command.starts_with("NAMESPACE") {
            peer.send(b"* NAMESPACE ((\"\" \"/\")) NIL ((\"shared/\" \"/\"))\r\n");
        } else if command.starts_with("ENABLE") {
            peer.send(b"* ENABLED QRESYNC\r\n");
        } else {
            for line in select {
                peer.send(format!("{line}\r\n").as_bytes());
            }
            peer.send(format!("{tag} OK [READ-WRITE] selected\r\n").as_bytes());
            break;
        }
        peer.send(format!("{tag} OK done\r\n").as_bytes());
    }
}

fn open(port: u16) -> Folder {
    let owner = account(port).owner("shared/alice/", "alice").unwrap();
    Folder::open(owner, "Team", false, (0, 0)).unwrap()
}

/// `Team` opened and synced once (`ALL_FLAGS`), with its owner.
fn open_synced(port: u16, read_only: bool) -> (Owner, Folder) {
    let owner = account(port).owner("shared/alice/", "alice").unwrap();
    let mut folder = Folder::open(owner.clone(), "Team", read_only, (0, 0)).unwrap();
    sync(&mut folder, &Local::default(), false);
    (owner, folder)
}

fn account(port: u16) -> Account {
    let port = port.to_string();
    let settings = Settings::parse([
        ("shared_imapc_host", "127.0.0.1"),
        ("shared_imapc_port", port.as_str()),
        ("shared_imapc_master_user", "bob"),
        ("shared_imapc_password", "secret"),
        ("shared_imapc_command_timeout", "2s"),
    ])
    .unwrap();
    Account::new(settings, DebugLog::default(), None, None)
}

fn answer(peer: &mut Peer, expect: &str, lines: &[&str]) {
    let (tag, command) = peer.command();
    assert!(
        command.starts_with(expect),
        "expected {expect}, got {command}"
    );
    for line in lines {
        peer.send(format!("{line}\r\n").as_bytes());
    }
    peer.send(format!("{tag} OK done\r\n").as_bytes());
}

const ALL_FLAGS: &[&str] = &[
    "* 1 FETCH (UID 1 FLAGS () MODSEQ (3))",
    "* 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ (4))",
    "* 3 FETCH (UID 3 FLAGS ($Work) MODSEQ (10))",
];

fn local(uids: &[u32]) -> Local {
    Local {
        uidvalidity: 7,
        last_uid: uids.last().copied().unwrap_or(0),
        uids: uids.to_vec(),
        flags: vec![Flags::default(); uids.len()],
        modseq: 0,
    }
}

/// `names` added to the message `uid`.
fn add(uid: u32, names: &[&str]) -> FlagChange {
    FlagChange {
        uids: SequenceSet(vec![(uid, uid)]),
        add: true,
        flags: Flags::from_names(names.iter().copied()),
    }
}

/// One sync as the C shim runs it: the plan is given only the local
/// messages the folder asked for.
fn sync(folder: &mut Folder, local: &Local, quick: bool) -> SyncResult {
    let needed = folder
        .begin_sync(local.uidvalidity, local.last_uid, quick, 0)
        .unwrap();
    let mut part = local.clone();
    if let Needed::Only(uids) = needed {
        let keep: Vec<usize> = (0..local.uids.len())
            .filter(|&i| uids.contains(local.uids[i]))
            .collect();
        part.uids = keep.iter().map(|&i| local.uids[i]).collect();
        part.flags = keep.iter().map(|&i| local.flags[i].clone()).collect();
    }
    folder.finish_sync(&part).unwrap()
}

#[test]
fn after_the_login_one_round_trip_brings_the_layout_and_qresync() {
    let server = FakeServer::start(|peer| {
        peer.send(GREETING);
        let (tag, _) = peer.command();
        peer.send(format!("{tag} OK [CAPABILITY IMAP4rev1 NAMESPACE QRESYNC] in\r\n").as_bytes());
        // Both sent before either is answered (else this waits in vain).
        let (namespace, first) = peer.command();
        let (enable, second) = peer.command();
        assert_eq!(
            (first.as_str(), second.as_str()),
            ("NAMESPACE", "ENABLE QRESYNC")
        );
        peer.send(
            format!("* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n{namespace} OK done\r\n").as_bytes(),
        );
        peer.send(format!("* ENABLED QRESYNC\r\n{enable} OK done\r\n").as_bytes());
        // The folder then needs no ENABLE of its own.
        answer(
            peer,
            "SELECT Team",
            &["* 0 EXISTS", "* OK [UIDVALIDITY 7] v"],
        );
    });
    drop(open(server.port));
    server.finish();
}

#[test]
fn qresync_answers_become_index_changes() {
    let server = serve(|peer| {
        answer(peer, "NOOP", &[]);
        answer(peer, "UID FETCH 1:* (UID FLAGS MODSEQ)", ALL_FLAGS);
        answer(
            peer,
            "NOOP",
            &[
                "* VANISHED 2",
                "* 2 FETCH (UID 3 FLAGS (\\Seen) MODSEQ (12))",
                "* 3 EXISTS",
            ],
        );
        answer(
            peer,
            "UID FETCH 4:* (UID FLAGS MODSEQ)",
            &["* 3 FETCH (UID 4 FLAGS () MODSEQ (13))"],
        );
    });
    let mut folder = open(server.port);
    let first = sync(&mut folder, &Local::default(), false);
    assert_eq!(first.changes.len(), 3);
    assert!(matches!(first.changes[2], Change::Append(3, ref f) if f.keywords == ["$Work"]));
    assert_eq!((first.uidvalidity, first.highest_modseq), (7, 10));
    // The plan needs only the local messages the news name (also the new
    // one: another session of the user may have added it meanwhile).
    let needed = folder.begin_sync(7, 3, false, 0).unwrap();
    assert_eq!(needed, Needed::Only(SequenceSet(vec![(2, 4)])));
    let next = folder.finish_sync(&local(&[2, 3])).unwrap();
    assert_eq!(
        next.changes,
        vec![
            Change::Expunge(2),
            Change::SetFlags(3, Flags::from_names(["\\Seen"])),
            Change::Append(4, Flags::default()),
        ]
    );
    assert_eq!(next.highest_modseq, 13);
    drop(folder);
    server.finish();
}

#[test]
fn a_sync_begun_and_never_finished_compares_the_whole_folder_next() {
    let server = serve(|peer| {
        answer(peer, "NOOP", &[]);
        answer(peer, "UID FETCH 1:* (UID FLAGS MODSEQ)", ALL_FLAGS);
        answer(peer, "NOOP", &["* 2 FETCH (UID 2 FLAGS () MODSEQ (11))"]);
        answer(peer, "NOOP", &[]);
        answer(peer, "UID FETCH 1:* (UID FLAGS MODSEQ)", ALL_FLAGS);
    });
    let mut folder = open(server.port);
    sync(&mut folder, &Local::default(), false);
    assert_eq!(
        folder.begin_sync(7, 3, false, 0).unwrap(),
        Needed::Only(SequenceSet(vec![(2, 2)]))
    );
    // Its plan never made: what it learnt is not in the index.
    assert_eq!(folder.begin_sync(7, 3, false, 0).unwrap(), Needed::All);
    let next = folder.finish_sync(&local(&[1, 2, 3])).unwrap();
    assert_eq!(
        next.changes,
        vec![
            Change::SetFlags(2, Flags::from_names(["\\Seen"])),
            Change::SetFlags(3, Flags::from_names(["$Work"])),
        ]
    );
    drop(folder);
    server.finish();
}

#[test]
fn news_behind_what_another_session_gave_the_index_wait_for_the_next_sync() {
    let server = serve(|peer| {
        answer(peer, "NOOP", &[]);
        answer(peer, "UID FETCH 1:* (UID FLAGS MODSEQ)", ALL_FLAGS);
        // News that came alongside another command, not asked for under
        // the index's lock.
        answer(peer, "MYRIGHTS Other", &["* MYRIGHTS Other lr"]);
        answer(
            peer,
            "STATUS Other",
            &[
                "* VANISHED 1",
                "* 2 FETCH (UID 2 FLAGS () MODSEQ (11))",
                "* STATUS Other (MESSAGES 0 UIDNEXT 1 UIDVALIDITY 9)",
            ],
        );
        answer(peer, "NOOP", &["* 3 FETCH (UID 3 FLAGS () MODSEQ (16))"]);
    });
    let (mut owner, mut folder) = open_synced(server.port, false);
    owner.status("Other").unwrap();
    // Another session of the user synced as of modseq 15 meanwhile: this
    // news (as of 11) would undo its work, and waits, but for the expunge
    // (a message gone never comes back).
    let ahead = Local {
        modseq: 15,
        flags: vec![
            Flags::default(),
            Flags::from_names(["\\Seen"]),
            Flags::from_names(["$Work"]),
        ],
        ..local(&[1, 2, 3])
    };
    let behind = sync(&mut folder, &ahead, true);
    assert_eq!(
        (behind.changes, behind.highest_modseq),
        (vec![Change::Expunge(1)], 15)
    );
    // Not lost: the next sync asks (as of 16) and applies it with what
    // came since.
    let next = sync(&mut folder, &ahead, false);
    assert_eq!(
        next.changes,
        vec![
            Change::Expunge(1),
            Change::SetFlags(2, Flags::default()),
            Change::SetFlags(3, Flags::default()),
        ]
    );
    assert_eq!(next.highest_modseq, 16);
    drop(folder);
    server.finish();
}

#[test]
fn a_listing_of_the_whole_folder_holds_what_another_session_added_before_it() {
    // As Dovecot does: a FETCH answers from the session's view as of its
    // last command, which a NOOP brings up to now.
    let server = serve(|peer| {
        let (tag, command) = peer.command();
        let listing = if command.starts_with("NOOP") {
            peer.send(b"* 4 EXISTS\r\n");
            peer.send(format!("{tag} OK done\r\n").as_bytes());
            [ALL_FLAGS, &["* 4 FETCH (UID 4 FLAGS () MODSEQ (12))"]].concat()
        } else {
            peer.send(format!("{tag} BAD expected\r\n").as_bytes());
            ALL_FLAGS.to_vec()
        };
        answer(peer, "UID FETCH 1:* (UID FLAGS MODSEQ)", &listing);
    });
    let mut folder = open(server.port);
    // Alice's message 4 came after this SELECT; another session of bob's
    // saw it and put it in the index before this session's first sync.
    let synced = sync(&mut folder, &local(&[1, 2, 3, 4]), false);
    assert!(
        !synced.changes.contains(&Change::Expunge(4)),
        "{:?}",
        synced.changes
    );
    drop(folder);
    server.finish();
}

#[test]
fn a_change_to_a_message_the_session_has_not_seen_yet_is_sent_after_a_noop() {
    // As Dovecot does: a UID STORE of a UID the session has not seen yet
    // (another session of the user put it in the index) does nothing and
    // answers OK; a NOOP first brings it into the session's view.
    let server = serve(|peer| {
        answer(peer, "NOOP", &[]);
        answer(peer, "UID FETCH 1:* (UID FLAGS MODSEQ)", ALL_FLAGS);
        answer(
            peer,
            "UID STORE 2 +FLAGS ($Work)",
            &["* 2 FETCH (UID 2 FLAGS (\\Seen $Work) MODSEQ (11))"],
        );
        answer(peer, "NOOP", &["* 4 EXISTS"]);
        answer(
            peer,
            "UID STORE 5 +FLAGS ($Work)",
            &["* 4 FETCH (UID 5 FLAGS ($Work) MODSEQ (12))"],
        );
    });
    let (_owner, mut folder) = open_synced(server.port, false);
    // UID 2 was in the SELECT's view: no NOOP first.
    folder.store(&[add(2, &["$Work"])], false).unwrap();
    folder.store(&[add(5, &["$Work"])], false).unwrap();
    drop(folder);
    server.finish();
}

#[test]
fn a_store_of_flags_and_keywords_goes_as_one_command_and_asks_what_it_did_not_tell() {
    let server = serve(|peer| {
        answer(peer, "NOOP", &[]);
        answer(peer, "UID FETCH 1:* (UID FLAGS MODSEQ)", ALL_FLAGS);
        answer(
            peer,
            "UID STORE 2 +FLAGS (\\Seen $Load $Work)",
            &["* 2 FETCH (UID 2 FLAGS (\\Seen $Load) MODSEQ (11))"],
        );
        // \Flagged was not set: nothing changed, nothing told.
        answer(peer, "UID STORE 2 -FLAGS (\\Flagged)", &[]);
        // Rights dropped a keyword on UID 3: asked for.
        answer(peer, "UID STORE 3 +FLAGS ($Work)", &[]);
        answer(
            peer,
            "UID FETCH 3 (UID FLAGS MODSEQ)",
            &["* 3 FETCH (UID 3 FLAGS () MODSEQ (10))"],
        );
    });
    let (_owner, mut folder) = open_synced(server.port, false);
    // As Dovecot lists one STORE: system flags, then each keyword.
    let removed = FlagChange {
        add: false,
        ..add(2, &["\\Flagged"])
    };
    folder
        .store(
            &[
                add(2, &["\\Seen"]),
                add(2, &["$Load"]),
                add(2, &["$Work"]),
                removed,
                add(3, &["$Work"]),
            ],
            false,
        )
        .unwrap();
    drop(folder);
    server.finish();
}

#[test]
fn a_store_the_index_took_for_a_no_op_asks_for_the_flags_in_the_same_round_trip() {
    // The owner's server answers nothing to a STORE that changes nothing
    // there: the flags are asked for with it, not one round trip later.
    let server = serve(|peer| {
        answer(peer, "NOOP", &[]);
        answer(peer, "UID FETCH 1:* (UID FLAGS MODSEQ)", ALL_FLAGS);
        let (store_tag, store) = peer.command();
        assert_eq!(store, "UID STORE 2 +FLAGS (\\Seen)");
        let (fetch_tag, fetch) = peer.command();
        assert_eq!(fetch, "UID FETCH 2 (UID FLAGS MODSEQ)");
        peer.send(
            format!(
                "{store_tag} OK done\r\n* 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ (4))\r\n{fetch_tag} OK done\r\n"
            )
            .as_bytes(),
        );
    });
    let (_owner, mut folder) = open_synced(server.port, false);
    folder.store(&[add(2, &["\\Seen"])], true).unwrap();
    drop(folder);
    server.finish();
}

/// Now, in µs since the epoch (as Dovecot's ioloop time).
fn now() -> u64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.unwrap().as_micros() as u64
}

/// A sync at the end of a user's command (not FAST: NOOP, SELECT) that
/// began at `began`, with the index's `index_asked_at`.
fn sync_after_command(folder: &mut Folder, local: &Local, began: u64, index_asked_at: u64) {
    if folder.has_news(false, began).unwrap() {
        folder
            .begin_sync(local.uidvalidity, local.last_uid, false, index_asked_at)
            .unwrap();
        folder.finish_sync(local).unwrap();
    }
}

/// A sync that is not quick, asking the remote before the index's lock
/// (`ask_ahead`), as sync.c does; the index is `local` once locked.
fn sync_asked_ahead(folder: &mut Folder, local: &Local, index_asked_at: u64) -> SyncResult {
    assert!(folder.has_news(false, now()).unwrap());
    folder.ask_ahead(local.last_uid, index_asked_at).unwrap();
    folder
        .begin_sync(local.uidvalidity, local.last_uid, false, index_asked_at)
        .unwrap();
    folder.finish_sync(local).unwrap()
}

#[test]
fn news_asked_ahead_of_the_lock_apply_unless_another_session_went_further() {
    let server = serve(|peer| {
        answer(peer, "NOOP", &[]);
        answer(peer, "UID FETCH 1:* (UID FLAGS MODSEQ)", ALL_FLAGS);
        // Asked ahead: new mail, and its flags; nothing under the lock.
        answer(peer, "NOOP", &["* 4 EXISTS"]);
        answer(
            peer,
            "UID FETCH 4:* (UID FLAGS MODSEQ)",
            &["* 4 FETCH (UID 4 FLAGS (\\Seen) MODSEQ (12))"],
        );
        answer(peer, "NOOP", &["* 2 FETCH (UID 2 FLAGS () MODSEQ (16))"]);
    });
    let (_owner, mut folder) = open_synced(server.port, false);
    // Another session of the user gave the index modseq 15 while this one
    // waited for the lock: news as of 12 would undo its work, and wait.
    let went_further = index_at(15);
    let asked = now();
    let behind = sync_asked_ahead(&mut folder, &went_further, 0);
    assert_eq!((behind.changes, behind.asked_at), (vec![], 0));
    // The next one applies them with what came since, and the index is
    // as new as when it asked.
    let asked_again = now();
    let next = sync_asked_ahead(&mut folder, &went_further, 0);
    assert_eq!(
        next.changes,
        vec![
            Change::SetFlags(2, Flags::default()),
            Change::Append(4, Flags::from_names(["\\Seen"])),
        ]
    );
    assert!(
        next.asked_at >= asked_again && next.asked_at > asked,
        "{}",
        next.asked_at
    );
    drop(folder);
    server.finish();
}

/// Answers the NOOP asked ahead with `lines` and a tagged OK that tells
/// the HIGHESTMODSEQ, as Dovecot's does after expunges.
fn answer_noop_with_modseq(peer: &mut Peer, lines: &[&str], modseq: u64) {
    let (tag, command) = peer.command();
    assert!(command.starts_with("NOOP"), "expected NOOP, got {command}");
    for line in lines {
        peer.send(format!("{line}\r\n").as_bytes());
    }
    peer.send(format!("{tag} OK [HIGHESTMODSEQ {modseq}] done\r\n").as_bytes());
}

/// `index` of `Team` with all three messages, as another session left it
/// at `modseq`.
fn index_at(modseq: u64) -> Local {
    Local {
        modseq,
        flags: vec![
            Flags::default(),
            Flags::from_names(["\\Seen"]),
            Flags::from_names(["$Work"]),
        ],
        ..local(&[1, 2, 3])
    }
}

/// `Team` synced, then a sync asked ahead whose NOOP tells that message 3
/// changed (modseq 12) and 1 went (13..16): only the tagged OK tells how
/// far these news reach. The index, once locked, is as of `index_modseq`.
fn sync_after_an_expunge(index_modseq: u64) -> SyncResult {
    let server = serve(|peer| {
        answer(peer, "NOOP", &[]);
        answer(peer, "UID FETCH 1:* (UID FLAGS MODSEQ)", ALL_FLAGS);
        answer_noop_with_modseq(
            peer,
            &["* VANISHED 1", "* 2 FETCH (UID 3 FLAGS () MODSEQ (12))"],
            16,
        );
    });
    let (_owner, mut folder) = open_synced(server.port, false);
    let result = sync_asked_ahead(&mut folder, &index_at(index_modseq), 0);
    drop(folder);
    server.finish();
    result
}

#[test]
fn news_with_an_expunge_are_as_new_as_the_tagged_highestmodseq_says() {
    // Another session applied news as of 15 meanwhile: these are newer.
    let result = sync_after_an_expunge(15);
    assert_eq!(
        result.changes,
        vec![Change::Expunge(1), Change::SetFlags(3, Flags::default())]
    );
    assert_eq!(result.highest_modseq, 16);
    assert!(result.asked_at != 0);
}

#[test]
fn expunges_apply_even_when_another_session_went_further() {
    // The index is as of 20: the flags told here may be older than its,
    // but an expunged message never comes back.
    let result = sync_after_an_expunge(20);
    assert_eq!(result.changes, vec![Change::Expunge(1)]);
    assert_eq!((result.highest_modseq, result.asked_at), (20, 0));
}

#[test]
fn a_noop_asks_the_remote_unless_it_was_asked_since_the_command_began() {
    let server = serve(|peer| {
        answer(peer, "NOOP", &[]);
        answer(peer, "UID FETCH 1:* (UID FLAGS MODSEQ)", ALL_FLAGS);
        // The first NOOP: the index was asked for before it began.
        answer(peer, "NOOP", &[]);
        // The second: another session of the user asked after it began;
        // the third: this folder's own STORE did, in the same command.
        answer(
            peer,
            "UID STORE 1 +FLAGS ($Work)",
            &["* 1 FETCH (UID 1 FLAGS ($Work) MODSEQ (11))"],
        );
        // The fourth began later than all that.
        answer(peer, "NOOP", &[]);
    });
    let (_owner, mut folder) = open_synced(server.port, false);
    let index = Local {
        flags: vec![
            Flags::default(),
            Flags::from_names(["\\Seen"]),
            Flags::from_names(["$Work"]),
        ],
        ..local(&[1, 2, 3])
    };
    let began = now();
    sync_after_command(&mut folder, &index, began, began - 1);
    let began = now();
    sync_after_command(&mut folder, &index, began, began);
    let began = now();
    folder.store(&[add(1, &["$Work"])], false).unwrap();
    sync_after_command(&mut folder, &index, began, 0);
    std::thread::sleep(std::time::Duration::from_millis(2));
    sync_after_command(&mut folder, &index, now(), began);
    drop(folder);
    server.finish();
}

#[test]
fn news_of_older_messages_told_while_fetching_new_ones_reach_the_index() {
    let server = serve(|peer| {
        answer(peer, "NOOP", &[]);
        answer(peer, "UID FETCH 1:* (UID FLAGS MODSEQ)", ALL_FLAGS);
        answer(peer, "NOOP", &["* 4 EXISTS"]);
        // Another session changed message 2 since: Dovecot tells it here.
        answer(
            peer,
            "UID FETCH 4:* (UID FLAGS MODSEQ)",
            &[
                "* 2 FETCH (UID 2 MODSEQ (12) FLAGS (\\Seen $Seed))",
                "* 4 FETCH (UID 4 FLAGS () MODSEQ (11))",
            ],
        );
    });
    let mut folder = open(server.port);
    sync(&mut folder, &local(&[1, 2, 3]), false);
    let next = sync(&mut folder, &local(&[1, 2, 3]), false);
    assert_eq!(
        next.changes,
        vec![
            Change::SetFlags(2, Flags::from_names(["\\Seen", "$Seed"])),
            Change::Append(4, Flags::default()),
        ]
    );
    assert_eq!(next.highest_modseq, 12);
    drop(folder);
    server.finish();
}

#[test]
fn new_mail_told_as_a_listing_ends_is_listed_in_the_same_sync() {
    // Message 2 went and message 4 came after the listing's data; the
    // tagged answer's HIGHESTMODSEQ covers both, and the index may claim
    // it only with message 4 in it: the next session's QRESYNC starts
    // there, and a UID below the index's last is never appended.
    let server = serve(|peer| {
        answer(peer, "NOOP", &[]);
        answer(
            peer,
            "UID FETCH 1:* (UID FLAGS MODSEQ)",
            &[ALL_FLAGS, &["* VANISHED 2", "* 3 EXISTS"]].concat(),
        );
        answer(
            peer,
            "UID FETCH 1:* (UID FLAGS MODSEQ)",
            &[
                "* 1 FETCH (UID 1 FLAGS () MODSEQ (3))",
                "* 2 FETCH (UID 3 FLAGS () MODSEQ (10))",
                "* 3 FETCH (UID 4 FLAGS () MODSEQ (12))",
            ],
        );
    });
    let mut folder = open(server.port);
    let first = sync(&mut folder, &local(&[1, 2, 3]), false);
    assert_eq!(
        first.changes,
        vec![Change::Expunge(2), Change::Append(4, Flags::default())]
    );
    drop(folder);
    server.finish();
}

#[test]
fn new_mail_told_as_its_fetch_ends_is_fetched_in_the_same_sync() {
    // Found by the several-sessions test: another session's message 5 was
    // told (EXISTS) after the data of the fetch of message 4; left for
    // the next sync, the index claimed the modseq that covers it, and the
    // user's other sessions, starting from there, never saw it.
    let server = serve(|peer| {
        answer(peer, "NOOP", &[]);
        answer(peer, "UID FETCH 1:* (UID FLAGS MODSEQ)", ALL_FLAGS);
        answer(peer, "NOOP", &["* 4 EXISTS"]);
        answer(
            peer,
            "UID FETCH 4:* (UID FLAGS MODSEQ)",
            &["* 4 FETCH (UID 4 FLAGS () MODSEQ (11))", "* 5 EXISTS"],
        );
        answer(
            peer,
            "UID FETCH 4:* (UID FLAGS MODSEQ)",
            &[
                "* 4 FETCH (UID 4 FLAGS () MODSEQ (11))",
                "* 5 FETCH (UID 5 FLAGS () MODSEQ (12))",
            ],
        );
    });
    let mut folder = open(server.port);
    sync(&mut folder, &local(&[1, 2, 3]), false);
    let next = sync(&mut folder, &local(&[1, 2, 3]), false);
    assert_eq!(
        next.changes,
        vec![
            Change::Append(4, Flags::default()),
            Change::Append(5, Flags::default())
        ]
    );
    assert_eq!(next.highest_modseq, 12);
    drop(folder);
    server.finish();
}

#[test]
fn a_folder_that_selected_anew_in_its_sync_asks_again_at_the_next() {
    let server = serve(|peer| {
        answer(peer, "NOOP", &[]);
        answer(peer, "UID FETCH 1:* (UID FLAGS MODSEQ)", ALL_FLAGS);
        answer(
            peer,
            "SELECT Other",
            &["* 0 EXISTS", "* OK [UIDVALIDITY 9] v"],
        );
        // Selected anew from where the index is: only what changed since.
        answer(
            peer,
            "SELECT Team (QRESYNC (7 10))",
            &[
                "* 2 EXISTS",
                "* OK [UIDVALIDITY 7] v",
                "* VANISHED (EARLIER) 2",
            ],
        );
        answer(peer, "NOOP", &[]);
    });
    let (owner, mut folder) = open_synced(server.port, false);
    // Another folder of the owner's takes the remote selection.
    drop(Folder::open(owner, "Other", false, (0, 0)).unwrap());
    let next = sync(&mut folder, &local(&[1, 2, 3]), false);
    assert_eq!(next.changes, vec![Change::Expunge(2)]);
    sync(&mut folder, &local(&[1, 3]), false);
    drop(folder);
    server.finish();
}

#[test]
fn after_a_reconnect_the_folder_resyncs_with_qresync_from_its_index() {
    let first: Script = Box::new(|peer| {
        log_in_and_select(peer);
        answer(peer, "NOOP", &[]);
        answer(peer, "UID FETCH 1:* (UID FLAGS MODSEQ)", ALL_FLAGS);
        // The server goes away instead of answering.
        let (_, command) = peer.command();
        assert_eq!(command, "NOOP");
    });
    let second: Script = Box::new(|peer| {
        peer.send(GREETING);
        let (tag, _) = peer.command();
        peer.send(format!("{tag} OK [CAPABILITY IMAP4rev1 QRESYNC ACL] in\r\n").as_bytes());
        // The session restores its selection and repeats the NOOP; the
        // folder then enables QRESYNC on this login and resyncs with it.
        answer(peer, "SELECT Team", &["* 2 EXISTS"]);
        answer(peer, "NOOP", &[]);
        answer(peer, "ENABLE QRESYNC", &["* ENABLED QRESYNC"]);
        answer(
            peer,
            "SELECT Team (QRESYNC (7 10))",
            &[
                "* 2 EXISTS",
                "* OK [UIDVALIDITY 7] v",
                "* VANISHED (EARLIER) 3",
            ],
        );
    });
    let server = FakeServer::start_many(vec![first, second]);
    let (_owner, mut folder) = open_synced(server.port, false);
    let next = sync(&mut folder, &local(&[1, 2, 3]), false);
    assert_eq!(next.changes, vec![Change::Expunge(3)]);
    drop(folder);
    server.finish();
}

#[test]
fn a_change_is_not_repeated_into_a_folder_created_anew_during_a_reconnect() {
    let first: Script = Box::new(|peer| {
        log_in_and_select(peer);
        answer(peer, "NOOP", &[]);
        answer(peer, "UID FETCH 1:* (UID FLAGS MODSEQ)", ALL_FLAGS);
        // The server goes away instead of answering.
        let (_, command) = peer.command();
        assert!(command.starts_with("UID STORE 1 +FLAGS"), "{command}");
    });
    let second: Script = Box::new(|peer| {
        peer.send(GREETING);
        let (tag, _) = peer.command();
        peer.send(format!("{tag} OK [CAPABILITY IMAP4rev1 QRESYNC ACL] in\r\n").as_bytes());
        // The owner deleted Team and made a new one meanwhile.
        let recreated = ["* 0 EXISTS", "* OK [UIDVALIDITY 8] v"];
        answer(peer, "SELECT Team", &recreated);
        // Selected again as the folder's own: never the STORE.
        answer(peer, "ENABLE QRESYNC", &["* ENABLED QRESYNC"]);
        answer(peer, "SELECT Team (QRESYNC (7 10))", &recreated);
    });
    let server = FakeServer::start_many(vec![first, second]);
    let (_owner, mut folder) = open_synced(server.port, false);
    let error = folder.store(&[add(1, &["\\Flagged"])], false).unwrap_err();
    assert_eq!(error.kind, ErrorKind::NotFound, "{error:?}");
    drop(folder);
    server.finish();
}

#[test]
fn a_fetch_without_uid_forces_a_full_resync() {
    let server = serve(|peer| {
        answer(peer, "NOOP", &[]);
        answer(peer, "UID FETCH 1:*", ALL_FLAGS);
        // Flags by sequence number only: which message is meant is unsure.
        answer(peer, "NOOP", &["* 2 FETCH (FLAGS (\\Deleted))"]);
        answer(
            peer,
            "UID FETCH 1:*",
            &[
                "* 1 FETCH (UID 1 FLAGS ())",
                "* 2 FETCH (UID 2 FLAGS (\\Deleted))",
            ],
        );
    });
    let mut folder = open(server.port);
    sync(&mut folder, &Local::default(), false);
    let next = sync(&mut folder, &local(&[1, 2, 3]), false);
    assert_eq!(
        next.changes,
        vec![
            Change::Expunge(3),
            Change::SetFlags(2, Flags::from_names(["\\Deleted"]))
        ]
    );
    drop(folder);
    server.finish();
}

#[test]
fn hostile_fetch_data_is_an_error_or_ignored_not_a_crash() {
    let server = serve(|peer| {
        answer(peer, "NOOP", &[]);
        answer(peer, "UID FETCH 1:*", ALL_FLAGS);
        // An ENVELOPE that is no list, a BODYSTRUCTURE of the wrong shape,
        // and an answer for a UID nobody asked about.
        answer(
            peer,
            "UID FETCH 1:3 (UID ENVELOPE BODYSTRUCTURE)",
            &[
                "* 1 FETCH (UID 1 ENVELOPE NIL BODYSTRUCTURE (\"text\"))",
                "* 2 FETCH (UID 2 ENVELOPE \"x\" BODYSTRUCTURE 5)",
                "* 9 FETCH (UID 99 ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL))",
            ],
        );
        answer(peer, "UID FETCH 3 (UID ENVELOPE BODYSTRUCTURE)", &[]);
    });
    let mut folder = open(server.port);
    sync(&mut folder, &Local::default(), false);
    let wanted = 0b1100; // ENVELOPE | BODYSTRUCTURE
    folder.prefetch(&[1, 2, 3], wanted).unwrap();
    let one = folder.message(1, wanted).unwrap().expect("cached");
    assert_eq!(one.envelope.as_deref(), Some(&b""[..]));
    assert_eq!(one.bodystructure.as_deref(), Some(&b"\"text\""[..]));
    // Never answered: gone as far as the local side knows.
    assert!(folder.message(3, wanted).unwrap().is_none());
    drop(folder);
    server.finish();
}

#[test]
fn a_reopened_folder_resumes_its_selection_while_the_user_may_read() {
    let server = serve(|peer| {
        answer(peer, "NOOP", &[]);
        answer(peer, "UID FETCH 1:* (UID FLAGS MODSEQ)", ALL_FLAGS);
        // Reopened: no new SELECT, the changes since come with a NOOP
        // (sent together with the MYRIGHTS).
        answer(peer, "MYRIGHTS Team", &["* MYRIGHTS Team lrs"]);
        answer(peer, "NOOP", &["* 2 FETCH (UID 2 FLAGS () MODSEQ (11))"]);
        // Reopened after the read right went: the NOOP's news are dropped,
        // the folder is selected anew, and refused.
        answer(peer, "MYRIGHTS Team", &["* MYRIGHTS Team l"]);
        answer(
            peer,
            "NOOP",
            &["* 3 FETCH (UID 3 FLAGS (\\Seen) MODSEQ (12))"],
        );
        let (tag, command) = peer.command();
        assert_eq!(command, "SELECT Team (QRESYNC (7 11))");
        peer.send(format!("{tag} NO Mailbox doesn't exist: Team\r\n").as_bytes());
    });
    let mut account = account(server.port);
    let owner = account.owner("shared/alice/", "alice").unwrap();
    let mut folder = Folder::open(owner.clone(), "Team", false, (0, 0)).unwrap();
    assert_eq!(
        sync(&mut folder, &Local::default(), false).highest_modseq,
        10
    );
    drop(folder);
    let mut folder = Folder::open(owner.clone(), "Team", false, (7, 10)).unwrap();
    let mut index = local(&[1, 2, 3]);
    index.flags[1] = Flags::from_names(["\\Seen"]);
    let next = sync(&mut folder, &index, true);
    assert_eq!(next.changes, vec![Change::SetFlags(2, Flags::default())]);
    assert_eq!(next.highest_modseq, 11);
    drop(folder);
    assert!(Folder::open(owner, "Team", false, (7, 11)).is_err());
    server.finish();
}

#[test]
fn news_that_came_with_another_command_reach_the_open_folder() {
    let server = serve(|peer| {
        answer(peer, "NOOP", &[]);
        answer(peer, "UID FETCH 1:* (UID FLAGS MODSEQ)", ALL_FLAGS);
        // Dovecot tells the selected folder's news with any command.
        answer(peer, "MYRIGHTS Other", &["* MYRIGHTS Other lr"]);
        answer(
            peer,
            "STATUS Other",
            &[
                "* VANISHED 2",
                "* 1 FETCH (UID 1 FLAGS (\\Flagged) MODSEQ (11))",
                "* STATUS Other (MESSAGES 0 UIDNEXT 1 UIDVALIDITY 9 HIGHESTMODSEQ 1)",
            ],
        );
    });
    let (mut owner, mut folder) = open_synced(server.port, false);
    assert_eq!(owner.status("Other").unwrap().uidvalidity, 9);
    assert!(folder.has_news(true, 0).unwrap());
    let next = sync(&mut folder, &local(&[1, 2, 3]), true);
    assert_eq!(
        next.changes,
        vec![
            Change::Expunge(2),
            Change::SetFlags(1, Flags::from_names(["\\Flagged"])),
        ]
    );
    assert_eq!(next.highest_modseq, 11);
    drop(folder);
    server.finish();
}

#[test]
fn news_that_came_while_the_folder_was_closed_reach_it_when_reopened() {
    let server = serve(|peer| {
        answer(peer, "NOOP", &[]);
        answer(peer, "UID FETCH 1:* (UID FLAGS MODSEQ)", ALL_FLAGS);
        // Closed, its selection kept: a STATUS brings news about it.
        answer(peer, "MYRIGHTS Team", &["* MYRIGHTS Team lr"]);
        answer(
            peer,
            "STATUS Team",
            &[
                "* VANISHED 3",
                "* STATUS Team (MESSAGES 2 UIDNEXT 4 UIDVALIDITY 7 HIGHESTMODSEQ 11)",
            ],
        );
        answer(peer, "MYRIGHTS Team", &["* MYRIGHTS Team lr"]);
        answer(peer, "NOOP", &[]);
    });
    let (mut owner, folder) = open_synced(server.port, true);
    drop(folder);
    assert_eq!(owner.status("Team").unwrap().messages, 2);
    let mut folder = Folder::open(owner, "Team", true, (7, 10)).unwrap();
    let next = sync(&mut folder, &local(&[1, 2, 3]), true);
    assert_eq!(next.changes, vec![Change::Expunge(3)]);
    drop(folder);
    server.finish();
}

#[test]
fn a_message_that_comes_after_several_vanished_is_fetched() {
    let server = serve(|peer| {
        answer(peer, "NOOP", &[]);
        answer(peer, "UID FETCH 1:* (UID FLAGS MODSEQ)", ALL_FLAGS);
        answer(peer, "NOOP", &["* VANISHED 2:3"]);
        // One left, one new: fewer than before, but more than after.
        answer(peer, "NOOP", &["* 2 EXISTS"]);
        answer(
            peer,
            "UID FETCH 2:* (UID FLAGS MODSEQ)",
            &["* 2 FETCH (UID 4 FLAGS () MODSEQ (12))"],
        );
    });
    let mut folder = open(server.port);
    sync(&mut folder, &Local::default(), false);
    let next = sync(&mut folder, &local(&[1, 2, 3]), false);
    assert_eq!(next.changes, vec![Change::Expunge(2), Change::Expunge(3)]);
    let next = sync(&mut folder, &local(&[1]), false);
    assert_eq!(next.changes, vec![Change::Append(4, Flags::default())]);
    drop(folder);
    server.finish();
}

#[test]
fn too_many_news_for_a_folder_make_it_select_anew() {
    let server = serve(|peer| {
        answer(peer, "NOOP", &[]);
        answer(peer, "UID FETCH 1:* (UID FLAGS MODSEQ)", ALL_FLAGS);
        let mut status = vec!["* 1 FETCH (UID 1 FLAGS (\\Flagged) MODSEQ (11))"; 10_001];
        status.push("* STATUS Other (MESSAGES 0)");
        answer(peer, "MYRIGHTS Other", &["* MYRIGHTS Other lr"]);
        answer(peer, "STATUS Other", &status);
        // Selected anew from where the index is: the server tells again
        // what the dropped news said.
        answer(
            peer,
            "SELECT Team (QRESYNC (7 10))",
            &[
                "* 3 EXISTS",
                "* OK [UIDVALIDITY 7] v",
                "* 1 FETCH (UID 1 FLAGS (\\Flagged) MODSEQ (11))",
            ],
        );
    });
    let (mut owner, mut folder) = open_synced(server.port, false);
    owner.status("Other").unwrap();
    let mut index = local(&[1, 2, 3]);
    index.flags[1] = Flags::from_names(["\\Seen"]);
    index.flags[2] = Flags::from_names(["$Work"]);
    let next = sync(&mut folder, &index, true);
    assert_eq!(
        next.changes,
        vec![Change::SetFlags(1, Flags::from_names(["\\Flagged"]))]
    );
    drop(folder);
    server.finish();
}

#[test]
fn a_keyword_named_nil_opens_the_folder_and_reaches_the_index() {
    let server = FakeServer::start(|peer| {
        log_in_and_answer_select(
            peer,
            &[
                "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft NIL)",
                "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft NIL \\*)] Flags permitted.",
                "* 2 EXISTS",
                "* OK [UIDVALIDITY 7] v",
                "* OK [UIDNEXT 3] n",
                "* OK [HIGHESTMODSEQ 10] m",
            ],
        );
        answer(peer, "NOOP", &[]);
        answer(
            peer,
            "UID FETCH 1:* (UID FLAGS MODSEQ)",
            &[
                "* 1 FETCH (UID 1 FLAGS (NIL \\Seen) MODSEQ (3))",
                "* 2 FETCH (UID 2 FLAGS () MODSEQ (4))",
            ],
        );
        answer(peer, "NOOP", &["* 2 FETCH (UID 2 FLAGS (NIL) MODSEQ (11))"]);
    });
    let mut folder = open(server.port);
    let nil = |system| Flags {
        system,
        keywords: vec!["NIL".into()],
    };
    let first = sync(&mut folder, &Local::default(), false);
    assert_eq!(
        first.changes,
        vec![
            // The SELECT's FLAGS: the index knows the keyword.
            Change::Keywords(vec!["NIL".into()]),
            Change::Append(1, nil(system_flags::SEEN)),
            Change::Append(2, Flags::default())
        ]
    );
    let next = sync(&mut folder, &local(&[1, 2]), false);
    assert_eq!(next.changes, vec![Change::SetFlags(2, nil(0))]);
    drop(folder);
    server.finish();
}

#[test]
fn a_message_whose_fetch_cannot_be_read_keeps_its_flags_and_the_rest_sync() {
    let server = serve(|peer| {
        // Message 2's flags are no list: its FETCH is cut short there.
        answer(peer, "NOOP", &[]);
        answer(
            peer,
            "UID FETCH 1:* (UID FLAGS MODSEQ)",
            &[
                "* 1 FETCH (UID 1 FLAGS (\\Seen) MODSEQ (3))",
                "* 2 FETCH (UID 2 FLAGS \\Flagged MODSEQ (4))",
                "* 3 FETCH (UID 3 FLAGS ($Work) MODSEQ (10))",
            ],
        );
        answer(
            peer,
            "NOOP",
            &["* 2 FETCH (UID 2 FLAGS (\\Flagged) MODSEQ (12))"],
        );
        let (tag, command) = peer.command();
        assert!(command.starts_with("UID SEARCH RETURN (ALL)"), "{command}");
        peer.send(format!("* ESEARCH (TAG \"{tag}\") UID ALL 1:x\r\n{tag} OK done\r\n").as_bytes());
        answer(peer, "NOOP", &[]);
    });
    let mut folder = open(server.port);
    let first = sync(&mut folder, &local(&[1, 2, 3]), false);
    // 2 is neither expunged nor changed; the connection goes on.
    assert_eq!(
        first.changes,
        vec![
            Change::SetFlags(1, Flags::from_names(["\\Seen"])),
            Change::SetFlags(3, Flags::from_names(["$Work"])),
        ]
    );
    let next = sync(&mut folder, &local(&[1, 2, 3]), false);
    assert_eq!(
        next.changes,
        vec![Change::SetFlags(2, Flags::from_names(["\\Flagged"]))]
    );
    // A search result that cannot be read fails that search, not the folder.
    let keys = vec![parse_key("SUBJECT \"x\"")];
    let plan = folder.plan_search(&keys, None).unwrap();
    let err = folder.search(&plan, &keys).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Temp, "{err:?}");
    sync(&mut folder, &local(&[1, 2, 3]), false);
    drop(folder);
    server.finish();
}

#[test]
fn an_answer_that_names_no_message_expunges_nothing_until_compared_again() {
    let server = serve(|peer| {
        answer(peer, "NOOP", &[]);
        answer(
            peer,
            "UID FETCH 1:* (UID FLAGS MODSEQ)",
            &[
                "* 1 FETCH (UID 1 FLAGS () MODSEQ (3))",
                "* 4294967296 FETCH (UID 2 FLAGS () MODSEQ (4))",
                "* 3 FETCH (UID 3 FLAGS () MODSEQ (10))",
            ],
        );
        // The next sync compares the whole folder again.
        answer(peer, "NOOP", &[]);
        answer(
            peer,
            "UID FETCH 1:* (UID FLAGS MODSEQ)",
            &[
                "* 1 FETCH (UID 1 FLAGS () MODSEQ (3))",
                "* 2 FETCH (UID 3 FLAGS () MODSEQ (10))",
            ],
        );
    });
    let mut folder = open(server.port);
    let first = sync(&mut folder, &local(&[1, 2, 3]), false);
    assert_eq!(first.changes, vec![]);
    let next = sync(&mut folder, &local(&[1, 2, 3]), false);
    assert_eq!(next.changes, vec![Change::Expunge(2)]);
    drop(folder);
    server.finish();
}

#[test]
fn a_search_result_too_large_to_list_is_an_error() {
    let server = serve(|peer| {
        answer(peer, "NOOP", &[]);
        answer(peer, "UID FETCH 1:* (UID FLAGS MODSEQ)", ALL_FLAGS);
        let (tag, command) = peer.command();
        assert!(command.starts_with("UID SEARCH RETURN (ALL)"), "{command}");
        peer.send(
            format!("* ESEARCH (TAG \"{tag}\") UID ALL 1:4294967295\r\n{tag} OK done\r\n")
                .as_bytes(),
        );
    });
    let mut folder = open(server.port);
    sync(&mut folder, &Local::default(), false);
    let keys = vec![parse_key("SUBJECT \"x\"")];
    let plan = folder.plan_search(&keys, None).unwrap();
    let err = folder.search(&plan, &keys).unwrap_err();
    assert_eq!(err.message, "alice's server: search result too large");
    drop(folder);
    server.finish();
}

#[test]
fn a_copy_within_the_owners_account_is_one_command_answering_where_each_went() {
    let server = serve(|peer| {
        answer(peer, "NOOP", &[]);
        answer(peer, "UID FETCH 1:* (UID FLAGS MODSEQ)", ALL_FLAGS);
        let (tag, command) = peer.command();
        assert_eq!(command, "UID COPY 1,3 Other");
        peer.send(format!("{tag} OK [COPYUID 9 1,3 7:8] copied\r\n").as_bytes());
        // Message 2 went meanwhile: the server passes over it.
        let (tag, command) = peer.command();
        assert_eq!(command, "UID COPY 2:3 Other");
        peer.send(format!("{tag} OK [COPYUID 9 3 9] copied\r\n").as_bytes());
    });
    let (_owner, mut folder) = open_synced(server.port, false);
    assert_eq!(
        folder.copy_to(&[3, 1], "Other", false).unwrap(),
        Some((9, vec![8, 7]))
    );
    let gone = folder.copy_to(&[2, 3], "Other", false).unwrap_err();
    assert_eq!(gone.kind, ErrorKind::Expunged);
    drop(folder);
    server.finish();
}

/// The greeting and login (with ACL), NAMESPACE and ENABLE.
fn log_in(peer: &mut Peer) {
    peer.send(GREETING);
    let (tag, _) = peer.command();
    peer.send(
        format!("{tag} OK [CAPABILITY IMAP4rev1 NAMESPACE QRESYNC CONDSTORE ACL] in\r\n")
            .as_bytes(),
    );
    answer(peer, "NAMESPACE", &["* NAMESPACE ((\"\" \"/\")) NIL NIL"]);
    answer(peer, "ENABLE QRESYNC", &["* ENABLED QRESYNC"]);
}

#[test]
fn status_counts_reach_only_users_the_rights_let_read() {
    // Dovecot 2.3.19 with mailbox_list_index may answer the STATUS of a
    // folder the user has no right on: MYRIGHTS, sent with it, decides.
    const COUNTS: &str = "* STATUS Team (MESSAGES 5 UIDNEXT 6 UIDVALIDITY 7 UNSEEN 5)";
    let server = serve_status(&[
        ("NO [NONEXISTENT] Mailbox doesn't exist: Team", None),
        ("OK done", Some("* MYRIGHTS Team lp")),
        ("OK done", Some("* MYRIGHTS Team r")),
    ]);
    let mut owner = account(server.port)
        .owner("shared/alice/", "alice")
        .unwrap();
    assert_eq!(owner.status("Team").unwrap_err().kind, ErrorKind::NotFound);
    assert_eq!(owner.status("Team").unwrap_err().kind, ErrorKind::Perm);
    assert_eq!(owner.status("Team").unwrap().messages, 5);
    server.finish();

    /// Answers a MYRIGHTS (with `rights`) and a STATUS (with COUNTS) per
    /// entry, both sent before either is answered.
    fn serve_status(answers: &'static [(&'static str, Option<&'static str>)]) -> FakeServer {
        FakeServer::start(move |peer| {
            log_in(peer);
            for (completion, rights) in answers {
                let (rights_tag, command) = peer.command();
                assert!(command.starts_with("MYRIGHTS Team"), "{command}");
                let (status_tag, command) = peer.command();
                assert!(command.starts_with("STATUS Team"), "{command}");
                if let Some(line) = rights {
                    peer.send(format!("{line}\r\n").as_bytes());
                }
                peer.send(format!("{rights_tag} {completion}\r\n").as_bytes());
                peer.send(format!("{COUNTS}\r\n{status_tag} OK done\r\n").as_bytes());
            }
        })
    }
}
