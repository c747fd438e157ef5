//! A throw-away PostgreSQL for Rust tests, run by `tests/support/postgres.py
//! serve` and removed when this guard drops.

use std::io::{BufRead, BufReader, Lines, Write};
use std::process::{Child, ChildStdout, Stdio};

pub struct TestPostgres {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    /// libpq connection string for the `postgres` database.
    pub conninfo: String,
}

impl TestPostgres {
    pub fn start() -> TestPostgres {
        let mut child = super::python()
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/support/postgres.py"
            ))
            .arg("serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start tests/support/postgres.py serve");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut conninfo = None;
        for line in lines.by_ref() {
            let line = line.unwrap();
            if line == "ready" {
                break;
            }
            if let Some(c) = line.strip_prefix("conninfo=") {
                conninfo = Some(c.to_string());
            }
        }
        TestPostgres {
            child,
            lines,
            conninfo: conninfo.expect("PostgreSQL did not start"),
        }
    }

    /// Restarts the server (dropping every connection) and waits for it.
    pub fn restart(&mut self) {
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "restart").unwrap();
        stdin.flush().unwrap();
        let answer = self.lines.next().expect("postgres.py answered").unwrap();
        assert_eq!(answer, "restarted");
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}
