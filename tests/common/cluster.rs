//! A real Dovecot cluster (proxy + backends) for Rust tests, started by
//! `tests/support/cluster.py serve` and stopped when this guard drops.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Stdio};

/// A running cluster; stops it on drop (printing its logs if the test failed).
pub struct TestCluster {
    child: Option<Child>,
    pub root: PathBuf,
    pub proxy_port: u16,
    pub master_password: String,
    /// user name -> password
    pub passwords: HashMap<String, String>,
    /// With TLS: the proxy's imaps port and the CA that signed its certificate.
    pub imaps_port: Option<u16>,
    pub ca_file: Option<PathBuf>,
}

impl TestCluster {
    /// Starts a cluster where alice owns a folder `Team` of 5 messages.
    pub fn start() -> TestCluster {
        Self::start_with(&[])
    }

    /// Same, with `cluster.py serve` options such as `--tls`.
    pub fn start_with(options: &[&str]) -> TestCluster {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/cluster.py");
        let mut child = super::python()
            .arg(script)
            .arg("serve")
            .args(options)
            .env("SHARED_IMAPC_MODULE", super::built_module())
            .env("SHARED_IMAPC_IMAP_MODULE", env!("SIC_IMAP_MODULE"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start tests/support/cluster.py serve");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut values: HashMap<String, Vec<String>> = HashMap::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("read cluster.py output");
            if line == "ready" {
                break;
            }
            if let Some((key, value)) = line.split_once('=') {
                values
                    .entry(key.to_string())
                    .or_default()
                    .push(value.to_string());
            }
        }
        let one = |key: &str| {
            values
                .get(key)
                .and_then(|v| v.first())
                .cloned()
                .unwrap_or_else(|| panic!("cluster.py did not start (no {key})"))
        };
        let passwords = values
            .get("user")
            .into_iter()
            .flatten()
            .filter_map(|u| {
                let mut parts = u.split(':');
                Some((parts.next()?.to_string(), parts.next()?.to_string()))
            })
            .collect();
        TestCluster {
            root: PathBuf::from(one("root")),
            proxy_port: one("proxy_port").parse().expect("port"),
            master_password: one("master_password"),
            passwords,
            imaps_port: values.get("imaps_port").and_then(|v| v[0].parse().ok()),
            ca_file: values.get("ca_file").map(|v| PathBuf::from(&v[0])),
            child: Some(child),
        }
    }

    /// Every instance's log, for failure reports.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for name in ["proxy", "backenda", "backendb"] {
            let path = self.root.join(name).join("dovecot.log");
            if let Ok(text) = std::fs::read_to_string(&path) {
                out.push_str(&format!("===== {} =====\n{text}\n", path.display()));
            }
        }
        out
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
        }
        if let Some(mut child) = self.child.take() {
            drop(child.stdin.take());
            let _ = child.wait();
        }
    }
}
