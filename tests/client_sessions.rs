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
        spec(cluster.proxy_port, "alice", "bob", &cluster.master_password),
        spec(cluster.proxy_port, "carol", "bob", &cluster.master_password),
        spec(cluster.proxy_port, "alice", "bob", "wrong-secret"),
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
    let outcomes = pool.connect_all(&[spec(cluster.proxy_port, "carol", "alice", "wrong-secret")]);
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
