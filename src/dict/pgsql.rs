//! shared_dict on PostgreSQL, for clusters that outgrow a shared filesystem.
//!
//! One table, created on first use: `shared_dict (key text COLLATE "C"
//! PRIMARY KEY, value text)`; the byte-wise collation lets prefix scans use
//! the primary key index. A dict transaction is one SQL transaction. A lost
//! connection is reopened once; an operation that still fails reports why.
//!
//! The connection string is given in the URI (`pgsql:host=… dbname=…`) or,
//! to keep a password out of dovecot.conf, in a file (`pgsql:/etc/dovecot/shared-dict.pgsql`).

use postgres::{Client, NoTls, Transaction};

use super::{Backend, DictError, DictResult, Op};

const CREATE_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS shared_dict (key text COLLATE \"C\" PRIMARY KEY, value text NOT NULL)";

/// A PostgreSQL-backed store.
pub struct PgStore {
    conninfo: String,
    client: Client,
}

impl PgStore {
    pub fn open(conninfo: &str) -> DictResult<PgStore> {
        let mut client = connect(conninfo)?;
        client
            .batch_execute(CREATE_TABLE)
            .map_err(|e| sql_error(conninfo, "cannot create table shared_dict", e))?;
        Ok(PgStore {
            conninfo: conninfo.to_string(),
            client,
        })
    }

    /// Runs `operation`, reconnecting once if the connection was lost.
    /// Runs `operation`; if the connection was lost, reconnects and, when
    /// `repeatable`, runs it once more.
    fn with_client<T>(
        &mut self,
        repeatable: bool,
        operation: impl Fn(&mut Client) -> Result<T, postgres::Error>,
    ) -> DictResult<T> {
        match operation(&mut self.client) {
            Err(e) if self.client.is_closed() || e.is_closed() => {
                self.client = connect(&self.conninfo)?;
                if !repeatable {
                    return Err(sql_error(
                        &self.conninfo,
                        "connection lost; the commit may or may not have happened",
                        e,
                    ));
                }
                operation(&mut self.client)
                    .map_err(|e| sql_error(&self.conninfo, "query failed", e))
            }
            other => other.map_err(|e| sql_error(&self.conninfo, "query failed", e)),
        }
    }
}

impl Backend for PgStore {
    fn lookup(&mut self, key: &str) -> DictResult<Option<String>> {
        self.with_client(true, |c| {
            Ok(
                c.query_opt("SELECT value FROM shared_dict WHERE key = $1", &[&key])?
                    .map(|row| row.get(0)),
            )
        })
    }

    fn scan(&mut self, prefix: &str) -> DictResult<Vec<(String, String)>> {
        let pattern = format!("{}%", like_escape(prefix));
        self.with_client(true, |c| {
            let rows = c.query(
                "SELECT key, value FROM shared_dict WHERE key LIKE $1 ESCAPE '\\' ORDER BY key",
                &[&pattern],
            )?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })
    }

    fn commit(&mut self, ops: &[Op]) -> DictResult<bool> {
        // Sets and unsets give the same result twice; an increment would not,
        // if the first COMMIT reached the server before the connection broke.
        let repeatable = !ops.iter().any(|op| matches!(op, Op::Inc(..)));
        self.with_client(repeatable, |c| {
            let mut txn = c.transaction()?;
            let all_found = apply(&mut txn, ops)?;
            txn.commit()?;
            Ok(all_found)
        })
    }
}

fn apply(txn: &mut Transaction<'_>, ops: &[Op]) -> Result<bool, postgres::Error> {
    let mut all_found = true;
    for op in ops {
        match op {
            Op::Set(k, v) => {
                txn.execute(
                    "INSERT INTO shared_dict (key, value) VALUES ($1, $2) \
                     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                    &[k, v],
                )?;
            }
            Op::Unset(k) => {
                txn.execute("DELETE FROM shared_dict WHERE key = $1", &[k])?;
            }
            Op::Inc(k, diff) => {
                let updated = txn.execute(
                    "UPDATE shared_dict SET value = (value::bigint + $2)::text WHERE key = $1",
                    &[k, diff],
                )?;
                all_found &= updated > 0;
            }
        }
    }
    Ok(all_found)
}

/// The connection string itself, or the contents of the file it names.
pub fn conninfo_from(text: &str) -> DictResult<String> {
    if !text.starts_with('/') {
        return Ok(text.to_string());
    }
    let path = std::path::Path::new(text);
    let contents = std::fs::read_to_string(path)
        .map_err(|e| DictError::io(path, "cannot read the connection string", e))?;
    Ok(contents.trim().to_string())
}

fn connect(conninfo: &str) -> DictResult<Client> {
    Client::connect(conninfo, NoTls)
        .map_err(|e| sql_error(conninfo, "cannot connect to PostgreSQL", e))
}

/// An error naming the server (never the password of the connection string).
fn sql_error(conninfo: &str, action: &str, e: postgres::Error) -> DictError {
    let server: Vec<&str> = conninfo
        .split_whitespace()
        .filter(|part| {
            ["host=", "port=", "dbname=", "user="]
                .iter()
                .any(|k| part.starts_with(k))
        })
        .collect();
    let detail = e
        .as_db_error()
        .map_or_else(|| e.to_string(), |db| db.message().to_string());
    let cause = std::error::Error::source(&e)
        .map(|s| format!(" ({s})"))
        .unwrap_or_default();
    DictError::Config(format!(
        "pgsql ({}): {action}: {detail}{cause}",
        server.join(" ")
    ))
}

/// `%`, `_` and `\` taken literally in a LIKE pattern.
fn like_escape(prefix: &str) -> String {
    prefix
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
