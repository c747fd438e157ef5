//! The client core against a scripted fake server: what a real server won't
//! do (drop mid-literal, BYE, garbage, huge literals, silence).

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::fake_server::{FakeServer, Peer, Script};
use shared_imapc::client::connection::{Connection, Target};
use shared_imapc::client::error::ClientError;
use shared_imapc::client::login::{login_as_master, MasterLogin};
use shared_imapc::client::session::{RetryPolicy, Session, SessionSpec};
use shared_imapc::imap::command::Command;
use shared_imapc::imap::response::{Code, Untagged};
use shared_imapc::storage::error::{ErrorKind, StorageError};
use shared_imapc::storage::settings::Secret;

const GREETING: &[u8] = b"* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN LITERAL+] ready\r\n";

fn target(port: u16) -> Target {
    Target {
        connect_timeout: Duration::from_secs(2),
        command_timeout: Duration::from_millis(500),
        ..common::target("127.0.0.1", port)
    }
}

#[test]
fn responses_split_at_every_byte_are_parsed() {
    let server = FakeServer::start(|peer| {
        peer.trickle(GREETING);
        let (tag, _) = peer.command();
        peer.trickle(b"* 1 FETCH (UID 7 BODY[] {11}\r\nhello\r\nbody FLAGS (\\Seen))\r\n");
        peer.trickle(format!("{tag} OK done\r\n").as_bytes());
    });
    let mut c = Connection::connect(&target(server.port)).unwrap();
    let done = c
        .execute(&Command::new("UID FETCH").syntax("7 (BODY[] FLAGS)"))
        .unwrap();
    let Untagged::Fetch { items, .. } = &done.data[0] else {
        panic!("{:?}", done.data)
    };
    assert_eq!(items[1].1.as_bytes(), Some(&b"hello\r\nbody"[..]));
    server.finish();
}

#[test]
fn disconnect_mid_literal_is_reported_and_breaks_the_connection() {
    let server = FakeServer::start(|peer| {
        peer.send(GREETING);
        peer.command();
        peer.send(b"* 1 FETCH (BODY[] {100}\r\nonly a part");
    });
    let mut c = Connection::connect(&target(server.port)).unwrap();
    let err = c
        .execute(&Command::new("FETCH").syntax("1 BODY[]"))
        .unwrap_err();
    assert!(
        matches!(&err, ClientError::Closed(r) if r.contains("middle of a response")),
        "{err}"
    );
    assert!(!c.is_usable());
    assert!(matches!(
        c.execute(&Command::new("NOOP")),
        Err(ClientError::Closed(_))
    ));
    server.finish();
}

#[test]
fn bye_greeting_and_bye_mid_session() {
    let server = FakeServer::start(|peer| peer.send(b"* BYE Too many connections\r\n"));
    let err = Connection::connect(&target(server.port))
        .err()
        .expect("BYE greeting refused");
    assert!(
        matches!(&err, ClientError::Closed(r) if r.contains("Too many connections")),
        "{err}"
    );
    server.finish();

    let server = FakeServer::start(|peer| {
        peer.send(GREETING);
        peer.command();
        peer.send(b"* BYE Server shutting down\r\n");
    });
    let mut c = Connection::connect(&target(server.port)).unwrap();
    let err = c.execute(&Command::new("NOOP")).unwrap_err();
    assert!(
        matches!(&err, ClientError::Closed(r) if r.contains("Server shutting down")),
        "{err}"
    );
    server.finish();
}

#[test]
fn no_unavailable_keeps_its_code() {
    let server = FakeServer::start(|peer| {
        peer.send(GREETING);
        let (tag, _) = peer.command();
        peer.send(format!("{tag} NO [UNAVAILABLE] Backend is down\r\n").as_bytes());
        let (tag, _) = peer.command();
        peer.send(format!("{tag} OK still here\r\n").as_bytes());
    });
    let mut c = Connection::connect(&target(server.port)).unwrap();
    let err = c
        .execute(&Command::new("SELECT").astring(b"INBOX").unwrap())
        .unwrap_err();
    let ClientError::Rejected { code, text, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(code, &Some(Code::Named("UNAVAILABLE".into())));
    assert_eq!(text, "Backend is down");
    assert!(c.is_usable(), "a NO does not break the connection");
    c.execute(&Command::new("NOOP")).unwrap();
    server.finish();
}

#[test]
fn garbage_over_long_lines_and_huge_literals_are_protocol_errors() {
    for (reply, expected) in [
        (&b"<html>garbage</html>\r\n"[..], "unparsable"),
        (
            b"* 1 FETCH (BODY[] {4294967296}\r\n",
            "4294967296-byte literal",
        ),
    ] {
        let reply = reply.to_vec();
        let server = FakeServer::start(move |peer| {
            peer.send(GREETING);
            peer.command();
            peer.send(&reply);
        });
        let mut c = Connection::connect(&target(server.port)).unwrap();
        let err = c.execute(&Command::new("NOOP")).unwrap_err();
        assert!(
            matches!(&err, ClientError::Protocol(r) if r.contains(expected)),
            "{err}"
        );
        server.finish();
    }
    let server = FakeServer::start(|peer| {
        peer.send(GREETING);
        peer.command();
        peer.send(&[&b"* OK "[..], &vec![b'x'; 200_000], b"\r\n"].concat());
    });
    let mut c = Connection::connect(&target(server.port)).unwrap();
    let err = c.execute(&Command::new("NOOP")).unwrap_err();
    assert!(
        matches!(&err, ClientError::Protocol(r) if r.contains("longer than")),
        "{err}"
    );
    server.finish();
}

#[test]
fn a_server_that_never_answers_times_out() {
    let server = FakeServer::start(|peer| {
        peer.send(GREETING);
        peer.command();
        std::thread::sleep(Duration::from_millis(1500));
    });
    let mut c = Connection::connect(&target(server.port)).unwrap();
    let started = std::time::Instant::now();
    let err = c.execute(&Command::new("NOOP")).unwrap_err();
    assert!(matches!(err, ClientError::Timeout { .. }), "{err}");
    assert!(
        started.elapsed() < Duration::from_millis(1400),
        "the command timeout applies"
    );
    server.finish();

    let server = FakeServer::start(|_peer| std::thread::sleep(Duration::from_millis(1500)));
    assert!(matches!(
        Connection::connect(&target(server.port)),
        Err(ClientError::Timeout { .. })
    ));
    server.finish();
}

#[test]
fn ipv6_addresses_connect() {
    let server = FakeServer::start_at("[::1]:0", |peer| {
        peer.send(GREETING);
        let (tag, _) = peer.command();
        peer.send(format!("{tag} OK noop\r\n").as_bytes());
    });
    let target = Target {
        host: "::1".into(),
        ..target(server.port)
    };
    assert_eq!(target.display(), format!("[::1]:{}", server.port));
    let mut c = Connection::connect(&target).unwrap();
    c.execute(&Command::new("NOOP")).unwrap();
    server.finish();
}

#[test]
fn nothing_listening_is_a_connect_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = Connection::connect(&target(port)).err().expect("refused");
    assert!(
        matches!(&err, ClientError::Connect { target, .. } if target == &format!("127.0.0.1:{port}")),
        "{err}"
    );
}

#[test]
fn master_login_sends_plain_with_authzid_and_never_logs_the_password() {
    let server = FakeServer::start(|peer| {
        peer.send(GREETING);
        let (tag, rest) = peer.command();
        // "alice\0bob\0s3cret" in base64
        assert_eq!(rest, "AUTHENTICATE PLAIN YWxpY2UAYm9iAHMzY3JldA==");
        peer.send(format!("{tag} NO [AUTHENTICATIONFAILED] Authentication failed.\r\n").as_bytes());
    });
    let mut c = Connection::connect(&target(server.port)).unwrap();
    let login = MasterLogin {
        owner: "alice",
        master: "bob",
        password: "s3cret",
        separator: None,
        client_ip: None,
    };
    let err = login_as_master(&mut c, &login).unwrap_err();
    assert!(matches!(err, ClientError::AuthFailed { .. }), "{err}");
    assert!(!err.to_string().contains("s3cret") && !format!("{err:?}").contains("s3cret"));
    server.finish();
}

#[test]
fn without_sasl_ir_the_plain_response_follows_the_continuation() {
    let server = FakeServer::start(|peer| {
        peer.send(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n");
        let (tag, rest) = peer.command();
        assert_eq!(rest, "AUTHENTICATE PLAIN");
        peer.send(b"+ \r\n");
        let (response, _) = peer.command();
        assert_eq!(response, "YWxpY2UAYm9iAHMzY3JldA==");
        peer.send(format!("{tag} OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n").as_bytes());
    });
    let mut c = Connection::connect(&target(server.port)).unwrap();
    let login = MasterLogin {
        owner: "alice",
        master: "bob",
        password: "s3cret",
        separator: None,
        client_ip: None,
    };
    login_as_master(&mut c, &login).unwrap();
    assert!(c.has_capability("IDLE"), "capabilities from the login's OK");
    server.finish();
}

#[test]
fn login_as_oneself_with_oneself_as_master_is_never_attempted() {
    let server = FakeServer::start(|peer| peer.send(GREETING));
    let mut c = Connection::connect(&target(server.port)).unwrap();
    let login = MasterLogin {
        owner: "alice",
        master: "alice",
        password: "x",
        separator: None,
        client_ip: None,
    };
    assert!(matches!(
        login_as_master(&mut c, &login),
        Err(ClientError::SelfMaster { .. })
    ));
    server.finish();
}

#[test]
fn synchronizing_literals_wait_for_the_continuation() {
    let server = FakeServer::start(|peer| {
        peer.send(b"* OK [CAPABILITY IMAP4rev1] ready\r\n");
        let (tag, rest) = peer.command();
        assert_eq!(rest, "SEARCH CHARSET UTF-8 SUBJECT {6}");
        peer.send(b"+ go ahead\r\n");
        let (_, literal_and_rest) = peer.command();
        assert_eq!(literal_and_rest, "");
        peer.send(format!("* SEARCH 3\r\n{tag} OK done\r\n").as_bytes());
    });
    let mut c = Connection::connect(&target(server.port)).unwrap();
    let cmd = Command::new("SEARCH")
        .syntax("CHARSET UTF-8 SUBJECT")
        .string("Grüß".as_bytes())
        .unwrap();
    let done = c.execute(&cmd).unwrap();
    assert!(matches!(&done.data[0], Untagged::Search { ids, .. } if ids == &[3]));
    server.finish();
}

#[test]
fn an_unreadable_response_is_left_out_and_the_connection_goes_on() {
    let server = FakeServer::start(|peer| {
        peer.send(GREETING);
        let (tag, _) = peer.command();
        peer.send(b"* LIST () \"/\" Team\r\n* LIST (\\X) \"toolong\" x\r\n");
        peer.send(b"* FLAGS (\\Seen \"quoted\" NIL)\r\n* LIST () \"/\" Other\r\n");
        peer.send(format!("{tag} OK listed\r\n").as_bytes());
        let (tag, _) = peer.command();
        peer.send(format!("{tag} OK noop\r\n").as_bytes());
    });
    let mut c = Connection::connect(&target(server.port)).unwrap();
    let done = c.execute(&Command::new("LIST").syntax("\"\" *")).unwrap();
    let names: Vec<&[u8]> = done
        .data
        .iter()
        .filter_map(|d| match d {
            Untagged::List(entry) => Some(&entry.name[..]),
            _ => None,
        })
        .collect();
    assert_eq!(names, [&b"Team"[..], b"Other"]);
    assert!(done
        .data
        .iter()
        .any(|d| matches!(d, Untagged::Flags(f) if f == &["\\Seen", "NIL"])));
    let warnings = c.take_warnings();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(c.take_warnings().is_empty());
    c.execute(&Command::new("NOOP")).unwrap();
    server.finish();
}

/// Short timeouts for the frozen-proxy tests; a margin for a loaded
/// machine (these are bounds on behaviour, not benchmarks).
const CONNECT: Duration = Duration::from_millis(300);
const COMMAND: Duration = Duration::from_millis(2000);
const MARGIN: Duration = Duration::from_millis(1000);

/// A session on `target` with the frozen-proxy timeouts, retrying often.
fn session(target: Target) -> Session {
    let spec = SessionSpec {
        target: Target {
            connect_timeout: CONNECT,
            command_timeout: COMMAND,
            ..target
        },
        owner: "alice".into(),
        master: "bob".into(),
        password: Secret::new("secret"),
        separator: None,
        client_ip: None,
    };
    let retry = RetryPolicy {
        tries: 5,
        first_pause: Duration::from_millis(10),
    };
    Session::new(spec, retry)
}

/// A proxy that accepts TCP connections (the kernel does, from its
/// backlog) and never says a word.
fn frozen_proxy() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").unwrap()
}

/// Greets and accepts the master login.
fn greet_and_log_in(peer: &mut Peer) {
    peer.send(GREETING);
    let (tag, _) = peer.command();
    peer.send(format!("{tag} OK [CAPABILITY IMAP4rev1] in\r\n").as_bytes());
}

#[test]
fn a_proxy_that_never_greets_fails_the_command_within_the_connect_timeout() {
    let proxy = frozen_proxy();
    let port = proxy.local_addr().unwrap().port();
    let mut s = session(target(port));
    for _ in 0..2 {
        let started = Instant::now();
        let err = s.execute(&Command::new("NOOP"), true).unwrap_err();
        let elapsed = started.elapsed();
        // The greeting is waited for connect_timeout, not command_timeout.
        assert!(elapsed < CONNECT + MARGIN, "took {elapsed:?}: {err}");
        assert!(matches!(err, ClientError::Timeout { .. }), "{err}");
        let err = StorageError::from_client("alice", err);
        assert_eq!(err.kind, ErrorKind::Unavailable);
        assert_eq!(err.message, "alice's server did not answer in time");
    }
}

#[test]
fn all_tries_of_a_reconnect_share_one_deadline() {
    let working: Script = Box::new(|peer| {
        greet_and_log_in(peer);
        let (tag, _) = peer.command();
        peer.send(format!("* 1 EXISTS\r\n{tag} OK [READ-WRITE] selected\r\n").as_bytes());
        // Gone at the next command; the proxy then freezes (below).
        peer.command();
    });
    // Outlives the tries (that took 5 command timeouts before the fix).
    let frozen: Script = Box::new(|_| std::thread::sleep(CONNECT + COMMAND + 2 * MARGIN));
    let server = FakeServer::start_many(vec![working, frozen]);
    let mut s = session(target(server.port));
    s.select("INBOX", false).unwrap();
    let started = Instant::now();
    let err = s.execute(&Command::new("NOOP"), true).unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        elapsed < CONNECT + COMMAND + MARGIN,
        "5 tries took {elapsed:?}: {err}"
    );
    assert_eq!(
        StorageError::from_client("alice", err).kind,
        ErrorKind::Unavailable
    );
    server.finish();
}

#[test]
fn after_an_address_that_never_greets_the_next_one_is_tried() {
    let proxy = frozen_proxy();
    let first: Script = Box::new(|peer| {
        greet_and_log_in(peer);
        let (tag, _) = peer.command();
        peer.send(format!("{tag} OK noop\r\n").as_bytes());
        // Gone at the next command.
        peer.command();
    });
    let again: Script = Box::new(|peer| {
        greet_and_log_in(peer);
        let (tag, _) = peer.command();
        peer.send(format!("{tag} OK noop\r\n").as_bytes());
    });
    let server = FakeServer::start_many(vec![first, again]);
    let addresses = vec![
        proxy.local_addr().unwrap(),
        format!("127.0.0.1:{}", server.port).parse().unwrap(),
    ];
    let mut s = session(Target {
        addresses,
        ..target(server.port)
    });
    let started = Instant::now();
    s.execute(&Command::new("NOOP"), true).unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed < CONNECT + MARGIN, "took {elapsed:?}");
    // The connection breaks: the new one goes where the last one worked,
    // with no wait on the frozen address.
    let started = Instant::now();
    s.execute(&Command::new("NOOP"), true).unwrap();
    assert!(started.elapsed() < CONNECT, "took {:?}", started.elapsed());
    assert_eq!(s.logins(), 2);
    server.finish();
}
