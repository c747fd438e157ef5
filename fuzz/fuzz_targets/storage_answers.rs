//! What the owner's server answers, as the storage takes it in: the input
//! is cut into answers at NUL bytes, and a server on loopback gives them in
//! turn to the commands of the real storage code: the owner's LIST and
//! STATUS, a folder opened (SELECT), synced twice (every message's flags,
//! then a NOOP's news), its messages read (ENVELOPE, BODYSTRUCTURE, …) and
//! searched (ESEARCH). The login, NAMESPACE and ENABLE are answered as
//! Dovecot would. Whatever the answers hold, the storage must return data
//! or errors: never panic, hang or allocate without bound.
//!
//! Warnings about what was left out go to stderr (`-close_fd_mask=2`
//! silences them).
#![no_main]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use shared_imapc::storage::account::Account;
use shared_imapc::storage::fetch_items::want;
use shared_imapc::storage::folder::Folder;
use shared_imapc::storage::search_plan::parse_key;
use shared_imapc::storage::settings::Settings;
use shared_imapc::storage::sync_plan::{Change, Flags, Local};
use shared_imapc::sys::log::DebugLog;

const GREETING: &[u8] = b"* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN LITERAL+] ready\r\n";
const CAPABILITIES: &str =
    "IMAP4rev1 LITERAL+ NAMESPACE QRESYNC CONDSTORE ESEARCH UIDPLUS ACL SORT THREAD=REFERENCES";
/// Messages read one by one at most (each may cost a round trip).
const MESSAGES_READ: usize = 20;

fuzz_target!(|data: &[u8]| {
    let done = Arc::new(AtomicBool::new(false));
    let answers = data.split(|&b| b == 0).map(<[u8]>::to_vec).collect();
    let server = serve(answers, Arc::clone(&done));
    exercise();
    done.store(true, Ordering::Relaxed);
    server.join().expect("the scripted server panicked");
});

/// One listener for the whole run: inputs are tried one after another.
fn listener() -> &'static TcpListener {
    static LISTENER: OnceLock<TcpListener> = OnceLock::new();
    LISTENER.get_or_init(|| {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        // Polled, so that the server stops when the input is done.
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        listener
    })
}

/// Answers every connection made until `done` (the storage reconnects
/// after what breaks a connection) with the next of `answers`.
fn serve(answers: Vec<Vec<u8>>, done: Arc<AtomicBool>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut answers = answers.into_iter();
        while !done.load(Ordering::Relaxed) {
            match listener().accept() {
                Ok((stream, _)) => converse(stream, &mut answers),
                Err(_) => std::thread::sleep(Duration::from_millis(1)),
            }
        }
    })
}

/// One connection: the greeting, then an answer to each command line.
fn converse(stream: TcpStream, answers: &mut impl Iterator<Item = Vec<u8>>) {
    let _ = stream.set_nonblocking(false);
    // The client may wait for more than an answer held; it gives up first.
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let Ok(reader) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(reader);
    let mut writer = stream;
    let _ = writer.write_all(GREETING);
    let mut line = String::new();
    while matches!(reader.read_line(&mut line), Ok(n) if n > 0) {
        let (tag, command) = line.trim_end().split_once(' ').unwrap_or(("*", ""));
        let word = command.split(' ').next().unwrap_or("");
        let reply = match word {
            "AUTHENTICATE" => format!("{tag} OK [CAPABILITY {CAPABILITIES}] in\r\n").into_bytes(),
            "NAMESPACE" => {
                format!("* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n{tag} OK\r\n").into_bytes()
            }
            "ENABLE" => format!("* ENABLED QRESYNC\r\n{tag} OK\r\n").into_bytes(),
            "LOGOUT" => return,
            _ => answer(answers.next().unwrap_or_default(), tag),
        };
        if writer.write_all(&reply).is_err() {
            return;
        }
        line.clear();
    }
}

/// `data`, then the completion: on a line of its own, or a line left open
/// would take it in, and the client would wait for it in vain (a literal
/// still can: that path is reached too).
fn answer(mut data: Vec<u8>, tag: &str) -> Vec<u8> {
    if !data.is_empty() && !data.ends_with(b"\n") {
        data.extend_from_slice(b"\r\n");
    }
    data.extend_from_slice(format!("{tag} OK done\r\n").as_bytes());
    data
}

/// What the storage does with an owner's folder, each step's answer from
/// the input; failures end it, as they would the user's command.
fn exercise() {
    let mut account = Account::new(settings(), DebugLog::default(), None, None);
    let Ok(mut owner) = account.owner("shared/alice/", "alice") else {
        return;
    };
    let _ = owner.list();
    let _ = owner.status("Team");
    let Ok(mut folder) = Folder::open(owner, "Team", false, (0, 0)) else {
        return;
    };
    let Ok(index) = sync(&mut folder, Local::default()) else {
        return;
    };
    let Ok(index) = sync(&mut folder, index) else {
        return;
    };
    read_messages(&mut folder, &index.uids);
    let keys = vec![parse_key("OR SUBJECT \"x\" BODY \"y\"")];
    if let Ok(plan) = folder.plan_search(&keys, None) {
        let _ = folder.search(&plan, &keys);
    }
}

fn settings() -> Settings {
    let port = listener()
        .local_addr()
        .expect("listening")
        .port()
        .to_string();
    Settings::parse([
        ("shared_imapc_host", "127.0.0.1"),
        ("shared_imapc_port", port.as_str()),
        ("shared_imapc_master_user", "bob"),
        ("shared_imapc_password", "secret"),
        // Loopback: a wait in vain costs little.
        ("shared_imapc_connect_timeout", "200ms"),
        ("shared_imapc_command_timeout", "100ms"),
        ("shared_imapc_list_cache_time", "0"),
    ])
    .expect("valid settings")
}

/// One sync as the C shim runs it; the index it leaves.
fn sync(folder: &mut Folder, mut index: Local) -> Result<Local, ()> {
    folder
        .begin_sync(index.uidvalidity, index.last_uid, false, 0)
        .map_err(drop)?;
    let result = folder.finish_sync(&index).map_err(drop)?;
    let mut messages: BTreeMap<u32, Flags> = index.uids.into_iter().zip(index.flags).collect();
    for change in result.changes {
        match change {
            Change::Reset => messages.clear(),
            Change::Expunge(uid) => drop(messages.remove(&uid)),
            Change::SetFlags(uid, flags) | Change::Append(uid, flags) => {
                messages.insert(uid, flags);
            }
            // The folder's keyword list: no message changes.
            Change::Keywords(_) => {}
        }
    }
    index.uidvalidity = result.uidvalidity;
    index.last_uid = index
        .last_uid
        .max(messages.keys().copied().max().unwrap_or(0));
    (index.uids, index.flags) = messages.into_iter().unzip();
    Ok(index)
}

/// A local FETCH of the messages' structure and dates.
fn read_messages(folder: &mut Folder, uids: &[u32]) {
    let uids = &uids[..uids.len().min(MESSAGES_READ)];
    let wanted = want::ENVELOPE | want::BODYSTRUCTURE | want::INTERNALDATE | want::SIZE;
    if folder.prefetch(uids, wanted).is_err() {
        return;
    }
    for &uid in uids {
        if folder.message(uid, wanted).is_err() {
            return;
        }
    }
}
