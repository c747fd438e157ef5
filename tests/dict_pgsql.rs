//! shared_dict on a real PostgreSQL (Debian's `postgresql`, started by the
//! test on loopback): the same dict semantics as the embedded store,
//! visibility across handles, reconnecting after a server restart, and a
//! clear error for an unreachable server.

mod common;

use common::postgres::TestPostgres;
use shared_imapc::dict::{Dict, Op};

fn set(k: &str, v: &str) -> Op {
    Op::Set(k.into(), v.into())
}

#[test]
fn postgresql_backend() {
    let mut pg = TestPostgres::start();
    let uri = format!("pgsql:{}", pg.conninfo);
    let mut a = Dict::open(&uri).unwrap();
    common::dict_semantics::check(&mut a);

    // Another handle (another backend) sees a commit at its next lookup.
    let mut b = Dict::open(&uri).unwrap();
    a.commit(None, &[set("shared/seen-by-b", "yes")]).unwrap();
    assert_eq!(
        b.lookup(None, "shared/seen-by-b").unwrap().as_deref(),
        Some("yes")
    );

    // Prefixes with LIKE wildcards match literally.
    a.commit(None, &[set("shared/a_b/x", "1"), set("shared/aXb/x", "2")])
        .unwrap();
    let rows = a.iterate(None, "shared/a_b/", Default::default()).unwrap();
    assert_eq!(rows, vec![("shared/a_b/x".to_string(), "1".to_string())]);

    // The connection string may come from a file (a password stays out of
    // dovecot.conf).
    let file = common::scratch_dir("pgsql-conninfo").join("shared-dict.pgsql");
    std::fs::write(&file, format!("{}\n", pg.conninfo)).unwrap();
    let mut c = Dict::open(&format!("pgsql:{}", file.display())).unwrap();
    assert_eq!(
        c.lookup(None, "shared/seen-by-b").unwrap().as_deref(),
        Some("yes")
    );
    let err = Dict::open("pgsql:/nonexistent/shared-dict.pgsql")
        .err()
        .expect("missing file")
        .to_string();
    assert!(err.contains("/nonexistent/shared-dict.pgsql"), "{err}");

    // A lost connection is reopened once.
    pg.restart();
    assert_eq!(
        a.lookup(None, "shared/seen-by-b").unwrap().as_deref(),
        Some("yes")
    );
    a.commit(None, &[set("shared/after-restart", "1")]).unwrap();
    assert_eq!(
        b.lookup(None, "shared/after-restart").unwrap().as_deref(),
        Some("1")
    );
}

#[test]
fn an_unreachable_server_is_a_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let uri = format!("pgsql:host=127.0.0.1 port={port} dbname=dovecot user=dovecot password=hunter2 connect_timeout=2");
    let err = Dict::open(&uri)
        .err()
        .expect("nothing listens there")
        .to_string();
    assert!(err.contains("cannot connect to PostgreSQL"), "{err}");
    assert!(err.contains(&format!("port={port}")), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}
