//! TLS against a real Dovecot proxy with its own test CA: imaps and
//! STARTTLS with verification, and a clear error for an untrusted
//! certificate or a wrong host name.

mod common;

use common::cluster::TestCluster;
use shared_imapc::client::connection::{Connection, Target};
use shared_imapc::client::error::ClientError;
use shared_imapc::client::login::{login_as_master, MasterLogin};
use shared_imapc::client::tls::TlsConfig;
use shared_imapc::imap::command::Command;
use shared_imapc::storage::settings::SslMode;

fn target(host: &str, port: u16, ssl: SslMode, tls: TlsConfig) -> Target {
    Target {
        ssl,
        tls,
        ..common::target(host, port)
    }
}

fn trusted(cluster: &TestCluster) -> TlsConfig {
    TlsConfig {
        verify: true,
        ca_file: cluster.ca_file.clone(),
        ca_dir: None,
    }
}

fn assert_master_login_works(cluster: &TestCluster, target: &Target) {
    let mut c = Connection::connect(target).unwrap_or_else(|e| panic!("{}: {e}", target.display()));
    let login = MasterLogin {
        owner: "alice",
        master: "bob",
        password: &cluster.master_password,
        separator: None,
        client_ip: None,
    };
    login_as_master(&mut c, &login).unwrap();
    c.execute(&Command::new("EXAMINE").mailbox("Team", false).unwrap())
        .unwrap();
}

#[test]
fn imaps_and_starttls_verify_the_certificate() {
    let cluster = TestCluster::start_with(&["--tls"]);
    let imaps = cluster.imaps_port.expect("imaps port");

    assert_master_login_works(
        &cluster,
        &target("127.0.0.1", imaps, SslMode::Imaps, trusted(&cluster)),
    );
    assert_master_login_works(
        &cluster,
        &target("localhost", imaps, SslMode::Imaps, trusted(&cluster)),
    );
    assert_master_login_works(
        &cluster,
        &target(
            "127.0.0.1",
            cluster.proxy_port,
            SslMode::Starttls,
            trusted(&cluster),
        ),
    );

    // The system CA store does not know the test CA.
    let untrusted = target("127.0.0.1", imaps, SslMode::Imaps, TlsConfig::default());
    let err = Connection::connect(&untrusted)
        .err()
        .expect("untrusted certificate refused");
    assert!(
        matches!(&err, ClientError::Tls { reason, .. } if reason.contains("certificate verification failed")),
        "{err}"
    );
    let err = Connection::connect(&target(
        "127.0.0.1",
        cluster.proxy_port,
        SslMode::Starttls,
        TlsConfig::default(),
    ))
    .err()
    .expect("untrusted certificate refused after STARTTLS");
    assert!(matches!(err, ClientError::Tls { .. }), "{err}");

    // The certificate names localhost and 127.0.0.1, not 127.0.0.2.
    let err = Connection::connect(&target(
        "127.0.0.2",
        imaps,
        SslMode::Imaps,
        trusted(&cluster),
    ));
    assert!(matches!(
        err,
        Err(ClientError::Connect { .. }) | Err(ClientError::Tls { .. })
    ));

    // A CA directory (hashed, as `openssl rehash` leaves it) works as well.
    let ca_dir = cluster.root.join("ca-dir");
    std::fs::create_dir_all(&ca_dir).unwrap();
    std::fs::copy(
        cluster.ca_file.as_ref().unwrap(),
        ca_dir.join("test-ca.pem"),
    )
    .unwrap();
    let rehash = std::process::Command::new("openssl")
        .arg("rehash")
        .arg(&ca_dir)
        .status()
        .unwrap();
    assert!(rehash.success());
    let by_dir = TlsConfig {
        verify: true,
        ca_file: None,
        ca_dir: Some(ca_dir),
    };
    assert_master_login_works(
        &cluster,
        &target("127.0.0.1", imaps, SslMode::Imaps, by_dir),
    );

    // ssl_verify = no accepts it.
    let unverified = TlsConfig {
        verify: false,
        ..TlsConfig::default()
    };
    assert_master_login_works(
        &cluster,
        &target("127.0.0.1", imaps, SslMode::Imaps, unverified),
    );
}
