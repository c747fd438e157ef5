//! The client core against real Dovecot behind the test proxy: master-user
//! logins as several owners, capabilities, LIST, SELECT, FETCH, UID SEARCH,
//! SORT, THREAD, IDLE, pipelining, and a refused master password.

mod common;

use common::cluster::TestCluster;
use shared_imapc::client::connection::{Connection, Target};
use shared_imapc::client::error::ClientError;
use shared_imapc::client::login::{login_as_master, MasterLogin};
use shared_imapc::imap::command::Command;
use shared_imapc::imap::response::{Code, Untagged};

fn target(cluster: &TestCluster) -> Target {
    common::target("127.0.0.1", cluster.proxy_port)
}

fn master_session(cluster: &TestCluster, owner: &str, master: &str) -> Connection {
    let mut c = Connection::connect(&target(cluster)).expect("connect to the proxy");
    let login = MasterLogin {
        owner,
        master,
        password: &cluster.master_password,
        separator: None,
        client_ip: None,
    };
    login_as_master(&mut c, &login).expect("master login");
    c
}

fn numbers(done: &[Untagged]) -> Vec<u32> {
    done.iter()
        .find_map(|d| match d {
            Untagged::Search { ids, .. } => Some(ids.clone()),
            Untagged::Sort(ids) => Some(ids.clone()),
            _ => None,
        })
        .expect("SEARCH or SORT data")
}

#[test]
fn against_real_dovecot() {
    let cluster = TestCluster::start();

    // Master login as alice with bob as master, through the proxy.
    let mut c = master_session(&cluster, "alice", "bob");
    for cap in [
        "IMAP4rev1",
        "SORT",
        "THREAD=REFERENCES",
        "ESEARCH",
        "QRESYNC",
        "LITERAL+",
    ] {
        assert!(
            c.has_capability(cap),
            "{cap} missing from {:?}",
            c.capabilities()
        );
    }

    let listed = c
        .execute(
            &Command::new("LIST")
                .astring(b"")
                .unwrap()
                .astring(b"*")
                .unwrap(),
        )
        .unwrap();
    let names: Vec<String> = listed
        .data
        .iter()
        .filter_map(|d| match d {
            Untagged::List(e) => Some(String::from_utf8_lossy(&e.name).into_owned()),
            _ => None,
        })
        .collect();
    assert!(names.contains(&"Team".to_string()), "{names:?}");

    let selected = c
        .execute(&Command::new("SELECT").mailbox("Team", false).unwrap())
        .unwrap();
    assert!(
        selected
            .data
            .iter()
            .any(|d| matches!(d, Untagged::Exists(5))),
        "{:?}",
        selected.data
    );
    assert!(selected
        .data
        .iter()
        .any(|d| matches!(d, Untagged::Status(l) if matches!(l.code, Some(Code::UidValidity(_))))));

    let fetched = c
        .execute(&Command::new("UID FETCH").syntax("1:* (UID FLAGS ENVELOPE BODY.PEEK[])"))
        .unwrap();
    let fetches: Vec<_> = fetched
        .data
        .iter()
        .filter(|d| matches!(d, Untagged::Fetch { .. }))
        .collect();
    assert_eq!(fetches.len(), 5);
    let Untagged::Fetch { items, .. } = fetches[2] else {
        unreachable!()
    };
    let body = items
        .iter()
        .find(|(n, _)| n == "BODY[]")
        .expect("BODY[]")
        .1
        .as_bytes()
        .unwrap();
    assert!(String::from_utf8_lossy(body).contains("Subject: Message 3"));

    let search = c
        .execute(
            &Command::new("UID SEARCH")
                .syntax("SUBJECT")
                .string(b"Message 4")
                .unwrap(),
        )
        .unwrap();
    assert_eq!(numbers(&search.data), vec![4]);
    let sort = c
        .execute(&Command::new("UID SORT").syntax("(REVERSE DATE) UTF-8 ALL"))
        .unwrap();
    assert_eq!(numbers(&sort.data), vec![5, 4, 3, 2, 1]);
    let thread = c
        .execute(&Command::new("UID THREAD").syntax("REFERENCES UTF-8 ALL"))
        .unwrap();
    assert!(
        thread
            .data
            .iter()
            .any(|d| matches!(d, Untagged::Thread(t) if t.len() == 5)),
        "{:?}",
        thread.data
    );

    // Pipelining: three commands in flight, answers routed to each.
    let tags: Vec<String> = ["INBOX", "Team", "INBOX"]
        .iter()
        .map(|m| {
            c.send(
                &Command::new("STATUS")
                    .mailbox(m, false)
                    .unwrap()
                    .syntax("(MESSAGES)"),
            )
            .unwrap()
        })
        .collect();
    for (tag, expected) in tags.iter().rev().zip([0, 5, 0]) {
        let done = c.wait(tag).unwrap();
        assert!(
            matches!(&done.data[..], [Untagged::MailboxStatus { items, .. }] if items == &[("MESSAGES".to_string(), expected)]),
            "{tag}: {:?}",
            done.data
        );
    }

    // Another owner on another connection: carol, as master bob.
    let mut carol = master_session(&cluster, "carol", "bob");
    carol
        .execute(&Command::new("SELECT").mailbox("INBOX", false).unwrap())
        .unwrap();

    // IDLE sees another client's APPEND.
    c.execute(&Command::new("SELECT").mailbox("INBOX", false).unwrap())
        .unwrap();
    let idle = c.send(&Command::new("IDLE")).unwrap();
    c.wait_continuation(&idle, "IDLE").unwrap();
    let mut appender = master_session(&cluster, "alice", "carol");
    appender
        .execute(
            &Command::new("APPEND")
                .mailbox("INBOX", false)
                .unwrap()
                .string(b"Subject: new\r\n\r\nhi\r\n")
                .unwrap(),
        )
        .unwrap();
    let mut seen = Vec::new();
    while !seen.iter().any(|d| matches!(d, Untagged::Exists(1))) {
        c.read_one("IDLE updates").unwrap();
        seen.extend(c.take_data(&idle));
    }
    c.send_line(b"DONE", "IDLE").unwrap();
    assert_eq!(
        c.wait(&idle).unwrap().line.status,
        shared_imapc::imap::response::Status::Ok
    );
}

#[test]
fn wrong_master_password_is_refused_as_authentication() {
    let cluster = TestCluster::start();
    let mut c = Connection::connect(&target(&cluster)).unwrap();
    let login = MasterLogin {
        owner: "alice",
        master: "bob",
        password: "not-the-secret",
        separator: None,
        client_ip: None,
    };
    let err = login_as_master(&mut c, &login).unwrap_err();
    assert!(matches!(err, ClientError::AuthFailed { .. }), "{err}");
    assert!(!err.to_string().contains("not-the-secret"));

    // The LOGIN form with Dovecot's separator works too.
    let mut c = Connection::connect(&target(&cluster)).unwrap();
    let login = MasterLogin {
        owner: "alice",
        master: "bob",
        password: &cluster.master_password,
        separator: Some("*"),
        client_ip: None,
    };
    login_as_master(&mut c, &login).expect("LOGIN alice*bob");
    c.execute(&Command::new("SELECT").mailbox("Team", false).unwrap())
        .unwrap();
}
