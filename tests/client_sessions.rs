//! Sessions that reconnect, and the pool that logs in to many owners at once.

mod common;

use std::time::Duration;

use common::cluster::TestCluster;
use common::fake_server::{FakeServer, Peer, Script};
use shared_imapc::client::connection::Target;
use shared_imapc::client::error::ClientError;
use shared_imapc::client::pool::{Pool, PoolKey};
use shared_imapc::client::session::{RetryPolicy, Session, SessionSpec};
use shared_imapc::imap::command::Command;
use shared_imapc::imap::response::Untagged;
use shared_imapc::storage::settings::Secret;

const GREETING: &[u8] = b"* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] ready\r\n";

fn spec(port: u16, owner: &str, master: &str, password: &str) -> SessionSpec {
    SessionSpec {
        target: Target {
            connect_timeout: Duration::from_secs(2),
            command_timeout: Duration::from_secs(5),
            ..common::target("127.0.0.1", port)
        },
        owner: owner.into(),
        master: master.into(),
        password: Secret::new(password),
        separator: None,
        client_ip: None,
    }
}

/// `spec` with time for Dovecot's answer to a wrong password, which it
/// delays by auth_failure_delay (2 s): with `spec`'s 2 s to connect and
/// log in, the refusal raced the timeout.
fn refusable(port: u16, owner: &str, master: &str, password: &str) -> SessionSpec {
    let mut spec = spec(port, owner, master, password);
    spec.target.connect_timeout = Duration::from_secs(6);
    spec
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        tries: 3,
        first_pause: Duration::from_millis(10),
    }
}

/// Greets, accepts the login, and returns the next command's (tag, text).
fn greet_and_login(peer: &mut Peer) {
    peer.send(GREETING);
    let (tag, rest) = peer.command();
    assert!(rest.starts_with("AUTHENTICATE PLAIN "), "{rest}");
    peer.send(format!("{tag} OK [CAPABILITY IMAP4rev1] Logged in\r\n").as_bytes());
}

fn reply(peer: &mut Peer, expected: &str, answer: &str) {
    let (tag, rest) = peer.command();
    assert_eq!(rest, expected);
    peer.send(format!("{answer}{tag} OK done\r\n").as_bytes());
}

#[test]
fn a_dropped_connection_is_reopened_and_the_folder_selected_again() {
    let first: Script = Box::new(|peer| {
        greet_and_login(peer);
        reply(peer, "SELECT Team", "* 3 EXISTS\r\n");
        peer.command(); // the FETCH: drop the connection instead of answering
    });
    let second: Script = Box::new(|peer| {
        greet_and_login(peer);
        reply(peer, "SELECT Team", "* 3 EXISTS\r\n");
        reply(
            peer,
            "UID FETCH 1:* (FLAGS)",
            "* 1 FETCH (UID 1 FLAGS ())\r\n",
        );
    });
    let server = FakeServer::start_many(vec![first, second]);
    let mut session = Session::new(spec(server.port, "alice", "bob", "pw"), fast_retry());
    session.select("Team", false).unwrap();
    let done = session
        .execute(&Command::new("UID FETCH").syntax("1:* (FLAGS)"), true)
        .unwrap();
    assert!(
        matches!(&done.data[..], [Untagged::Fetch { seq: 1, .. }]),
        "{:?}",
        done.data
    );
    assert_eq!(session.logins(), 2);
    server.finish();
}

#[test]
fn a_reconnect_whose_folder_is_gone_still_serves_the_owner() {
    let first: Script = Box::new(|peer| {
        greet_and_login(peer);
        reply(peer, "SELECT Team", "* 3 EXISTS\r\n");
        let (_, rest) = peer.command();
        assert_eq!(rest, "LIST \"\" \"*\"");
        peer.send(b"* BYE IMAP session state is inconsistent, please relogin.\r\n");
    });
    let second: Script = Box::new(|peer| {
        greet_and_login(peer);
        let (tag, rest) = peer.command();
        assert_eq!(rest, "SELECT Team");
        peer.send(format!("{tag} NO [NONEXISTENT] Mailbox doesn't exist: Team\r\n").as_bytes());
        reply(peer, "LIST \"\" \"*\"", "* LIST () \"/\" Other\r\n");
    });
    let server = FakeServer::start_many(vec![first, second]);
    let mut session = Session::new(spec(server.port, "alice", "bob", "pw"), fast_retry());
    session.select("Team", false).unwrap();
    let selection = session.selection();
    let list = Command::new("LIST")
        .string(b"")
        .unwrap()
        .mailbox("*", false)
        .unwrap();
    let done = session.execute(&list, true).unwrap();
    assert!(
        matches!(&done.data[..], [Untagged::List(_)]),
        "{:?}",
        done.data
    );
    assert_eq!(session.selected_mailbox(), None);
    assert_ne!(
        session.selection(),
        selection,
        "the folder sees it lost its selection"
    );
    server.finish();
}

#[test]
fn a_command_that_is_not_repeatable_is_not_sent_twice() {
    let server = FakeServer::start(|peer| {
        greet_and_login(peer);
        peer.command(); // the STORE: drop
    });
    let mut session = Session::new(spec(server.port, "alice", "bob", "pw"), fast_retry());
    let err = session
        .execute(
            &Command::new("UID STORE").syntax("1 +FLAGS (\\Seen)"),
            false,
        )
        .unwrap_err();
    assert!(matches!(err, ClientError::Closed(_)), "{err}");
    assert_eq!(session.logins(), 1);
    server.finish();
}

#[test]
fn reconnecting_gives_up_after_the_configured_tries() {
    let server = FakeServer::start(|peer| {
        greet_and_login(peer);
        peer.command(); // drop; nothing listens afterwards
    });
    let mut session = Session::new(spec(server.port, "alice", "bob", "pw"), fast_retry());
    let err = session.execute(&Command::new("NOOP"), true).unwrap_err();
    assert!(matches!(err, ClientError::Connect { .. }), "{err}");
    assert_eq!(session.logins(), 1);
    server.finish();
}

#[test]
fn the_pool_logs_in_to_many_owners_at_once_and_reuses_sessions() {
    let cluster = TestCluster::start();
    let mut pool = Pool::new(2, fast_retry());
    let owners = [
        refusable(cluster.proxy_port, "alice", "bob", &cluster.master_password),
        refusable(cluster.proxy_port, "carol", "bob", &cluster.master_password),
        refusable(cluster.proxy_port, "alice", "bob", "wrong-secret"),
    ];
    let outcomes = pool.connect_all(&owners);
    assert_eq!(
        outcomes.len(),
        2,
        "alice/bob appears once whatever the password"
    );
    assert!(outcomes.iter().all(|(_, r)| r.is_ok()), "{outcomes:?}");
    assert_eq!(pool.connected(), 2);

    // Already connected: nothing logs in again.
    pool.connect_all(&owners[..2]);
    let keys: Vec<PoolKey> = owners.iter().map(PoolKey::of).collect();
    assert_eq!(pool.session(&keys[0], &owners[0]).logins(), 1);
    assert_eq!(pool.session(&keys[1], &owners[1]).logins(), 1);
    pool.session(&keys[1], &owners[1])
        .select("INBOX", true)
        .unwrap();

    // A refused login is reported for that owner only.
    let outcomes = pool.connect_all(&[refusable(
        cluster.proxy_port,
        "carol",
        "alice",
        "wrong-secret",
    )]);
    assert!(
        matches!(outcomes[0].1, Err(ClientError::AuthFailed { .. })),
        "{outcomes:?}"
    );
    assert_eq!(pool.connected(), 2);
}

#[test]
fn a_connection_idle_past_the_idle_timeout_is_replaced_before_use() {
    let first: Script = Box::new(|peer| {
        greet_and_login(peer);
        reply(peer, "SELECT Team", "");
        let (_, rest) = peer.command();
        assert_eq!(rest, "LOGOUT", "the idle connection is logged out");
    });
    let second: Script = Box::new(|peer| {
        greet_and_login(peer);
        reply(peer, "SELECT Team", "");
        reply(peer, "NOOP", "");
    });
    let server = FakeServer::start_many(vec![first, second]);
    let mut idle_spec = spec(server.port, "alice", "bob", "pw");
    idle_spec.target.idle_timeout = Duration::from_millis(50);
    let mut session = Session::new(idle_spec, fast_retry());
    session.select("Team", false).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    session.execute(&Command::new("NOOP"), true).unwrap();
    assert_eq!(session.logins(), 2);
    server.finish();
}

/// Greets and accepts the login, announcing IDLE.
fn login_with_idle(peer: &mut Peer) {
    peer.send(GREETING);
    let (tag, _) = peer.command();
    peer.send(format!("{tag} OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n").as_bytes());
}

/// `read_idle` until it finds news or `tries` polls passed.
fn poll_idle(session: &mut Session, tries: u32) -> bool {
    for _ in 0..tries {
        if session.read_idle().unwrap() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn idle_updates_are_news_and_the_next_command_ends_the_idle_first() {
    let server = FakeServer::start(|peer| {
        login_with_idle(peer);
        reply(peer, "SELECT Team", "* 3 EXISTS\r\n");
        let (idle, rest) = peer.command();
        assert_eq!(rest, "IDLE");
        // An update in the same packet as the continuation: buffered
        // already when IDLE starts, the socket shows nothing of it.
        peer.send(b"+ idling\r\n* 4 EXISTS\r\n");
        std::thread::sleep(Duration::from_millis(100));
        peer.send(b"* OK Still here\r\n* 2 FETCH (FLAGS (\\Seen))\r\n");
        assert_eq!(peer.command().0, "DONE");
        peer.send(format!("* 1 EXPUNGE\r\n{idle} OK Idle completed\r\n").as_bytes());
        reply(peer, "NOOP", "");
    });
    let mut session = Session::new(spec(server.port, "alice", "bob", "pw"), fast_retry());
    session.select("Team", false).unwrap();
    assert!(session.idle().unwrap() && session.idle_fd().is_some());
    assert!(session.read_idle().unwrap(), "the buffered update");
    assert!(matches!(session.take_news()[..], [Untagged::Exists(4)]));
    assert!(poll_idle(&mut session, 100));
    assert!(session.is_idling());
    session.execute(&Command::new("NOOP"), true).unwrap();
    assert!(!session.is_idling() && session.idle_ends() == 1);
    // What came with the IDLE's end is news too; the OK is not.
    let news = session.take_news();
    assert!(
        matches!(
            news[..],
            [Untagged::Fetch { seq: 2, .. }, Untagged::Expunge(1)]
        ),
        "{news:?}"
    );
    assert_eq!(session.logins(), 1);
    server.finish();
}

#[test]
fn no_idle_is_sent_to_a_server_without_it() {
    let server = FakeServer::start(|peer| {
        greet_and_login(peer);
        reply(peer, "SELECT Team", "* 3 EXISTS\r\n");
        reply(peer, "NOOP", "");
    });
    let mut session = Session::new(spec(server.port, "alice", "bob", "pw"), fast_retry());
    session.select("Team", false).unwrap();
    assert!(!session.can_idle() && !session.idle().unwrap());
    session.execute(&Command::new("NOOP"), true).unwrap();
    server.finish();
}

#[test]
fn a_connection_lost_during_idle_ends_it_and_the_next_command_reconnects() {
    let first: Script = Box::new(|peer| {
        login_with_idle(peer);
        reply(peer, "SELECT Team", "* 3 EXISTS\r\n");
        peer.command();
        peer.send(b"+ idling\r\n");
        // Gone without a word.
    });
    let second: Script = Box::new(|peer| {
        login_with_idle(peer);
        reply(peer, "SELECT Team", "* 3 EXISTS\r\n");
        reply(peer, "NOOP", "");
    });
    let server = FakeServer::start_many(vec![first, second]);
    let mut session = Session::new(spec(server.port, "alice", "bob", "pw"), fast_retry());
    session.select("Team", false).unwrap();
    assert!(session.idle().unwrap());
    let mut ended = false;
    for _ in 0..100 {
        if session.read_idle().is_err() {
            ended = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(ended && !session.is_idling());
    session.execute(&Command::new("NOOP"), true).unwrap();
    assert_eq!(session.logins(), 2);
    server.finish();
}
