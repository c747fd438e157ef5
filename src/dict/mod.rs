//! The `shared_dict` engine: Dovecot dictionary semantics (lookup, iterate
//! by prefix, atomic transactions with set, unset and atomic_inc; `shared/`
//! and per-user `priv/` keys) over a storage backend. Pure Rust; the C
//! adapter in `ffi.rs` connects it to Dovecot's `struct dict_vfuncs`.

pub mod ffi;
pub mod log_store;
pub mod pgsql;
pub mod record;
pub mod uri;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the keys live: the embedded store or PostgreSQL. Keys here are
/// physical (see [`physical_key`]).
pub trait Backend {
    fn lookup(&mut self, key: &str) -> DictResult<Option<String>>;
    /// Every key starting with `prefix`, sorted by key.
    fn scan(&mut self, prefix: &str) -> DictResult<Vec<(String, String)>>;
    /// Applies `ops` atomically; `Ok(false)` when an increment found no key.
    fn commit(&mut self, ops: &[Op]) -> DictResult<bool>;
    /// The next warning worth logging.
    fn next_warning(&mut self) -> Option<String> {
        None
    }
}

impl Backend for log_store::LogStore {
    fn lookup(&mut self, key: &str) -> DictResult<Option<String>> {
        log_store::LogStore::lookup(self, key)
    }
    fn scan(&mut self, prefix: &str) -> DictResult<Vec<(String, String)>> {
        log_store::LogStore::scan(self, prefix)
    }
    fn commit(&mut self, ops: &[Op]) -> DictResult<bool> {
        log_store::LogStore::commit(self, ops)
    }
    fn next_warning(&mut self) -> Option<String> {
        log_store::LogStore::next_warning(self)
    }
}

/// Longest key accepted, in bytes.
pub const MAX_KEY_LEN: usize = 4096;
/// Largest value accepted, in bytes.
pub const MAX_VALUE_LEN: usize = 1 << 20;

/// One change in a transaction, with physical keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Set(String, String),
    Unset(String),
    Inc(String, i64),
}

/// How `iterate` walks below its path (Dovecot's iterate flags).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IterateFlags {
    /// All levels below the path (else only the next one).
    pub recurse: bool,
    /// Only the path itself.
    pub exact_key: bool,
    pub sort_by_value: bool,
    pub no_value: bool,
}

/// What went wrong, naming the file, setting or key involved.
#[derive(Debug)]
pub enum DictError {
    /// The URI or a setting is wrong.
    Config(String),
    /// A key or value is refused (too long, not a dict key, …).
    Invalid(String),
    Io {
        path: PathBuf,
        action: &'static str,
        error: std::io::Error,
    },
    LockTimeout {
        path: PathBuf,
        after: Duration,
    },
    /// A damaged record: never read as data.
    Corrupt {
        path: PathBuf,
        offset: u64,
        reason: String,
    },
}

impl DictError {
    pub fn io(path: &Path, action: &'static str, error: std::io::Error) -> DictError {
        DictError::Io {
            path: path.to_path_buf(),
            action,
            error,
        }
    }
}

impl fmt::Display for DictError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DictError::Config(m) | DictError::Invalid(m) => f.write_str(m),
            DictError::Io {
                path,
                action,
                error,
            } => write!(f, "{action} {}: {error}", path.display()),
            DictError::LockTimeout { path, after } => {
                write!(
                    f,
                    "could not lock {} within {}s: held by another process",
                    path.display(),
                    after.as_secs_f32()
                )
            }
            DictError::Corrupt {
                path,
                offset,
                reason,
            } => {
                write!(
                    f,
                    "corrupt record in {} at offset {offset}: {reason}",
                    path.display()
                )
            }
        }
    }
}

impl std::error::Error for DictError {}

pub type DictResult<T> = Result<T, DictError>;

/// An open dictionary.
pub struct Dict {
    store: Box<dyn Backend>,
}

impl Dict {
    /// Opens the dictionary a `shared_dict:` URI (without the prefix) names.
    pub fn open(uri: &str) -> DictResult<Dict> {
        let store: Box<dyn Backend> = match uri::parse(uri)? {
            uri::Uri::Directory { directory, options } => {
                Box::new(log_store::LogStore::open(&directory, options)?)
            }
            uri::Uri::Pgsql { conninfo } => {
                Box::new(pgsql::PgStore::open(&pgsql::conninfo_from(&conninfo)?)?)
            }
        };
        Ok(Dict { store })
    }

    /// The next warning the backend wants logged.
    pub fn next_warning(&mut self) -> Option<String> {
        self.store.next_warning()
    }

    pub fn lookup(&mut self, username: Option<&str>, key: &str) -> DictResult<Option<String>> {
        self.store.lookup(&physical_key(username, key)?)
    }

    /// The (key, value) pairs below `path`, keys as the caller wrote them.
    pub fn iterate(
        &mut self,
        username: Option<&str>,
        path: &str,
        flags: IterateFlags,
    ) -> DictResult<Vec<(String, String)>> {
        let physical = physical_key(username, path)?;
        let mut rows: Vec<(String, String)> = self
            .store
            .scan(&physical)?
            .into_iter()
            .filter(|(k, _)| {
                let rest = &k[physical.len()..];
                if flags.exact_key {
                    rest.is_empty()
                } else {
                    flags.recurse || !rest.contains('/')
                }
            })
            .map(|(k, v)| {
                (
                    logical_key(username, path, &physical, k),
                    if flags.no_value { String::new() } else { v },
                )
            })
            .collect();
        if flags.sort_by_value {
            rows.sort_by(|a, b| a.1.cmp(&b.1));
        }
        Ok(rows)
    }

    /// Commits a transaction. `Ok(false)`: committed, but an atomic_inc
    /// found no key (Dovecot's `DICT_COMMIT_RET_NOTFOUND`).
    pub fn commit(&mut self, username: Option<&str>, ops: &[Op]) -> DictResult<bool> {
        let physical: Vec<Op> = ops
            .iter()
            .map(|op| {
                Ok(match op {
                    Op::Set(k, v) => {
                        if v.len() > MAX_VALUE_LEN {
                            return Err(DictError::Invalid(format!(
                                "value of {k} is {} bytes, over the {MAX_VALUE_LEN}-byte limit",
                                v.len()
                            )));
                        }
                        Op::Set(physical_key(username, k)?, v.clone())
                    }
                    Op::Unset(k) => Op::Unset(physical_key(username, k)?),
                    Op::Inc(k, d) => Op::Inc(physical_key(username, k)?, *d),
                })
            })
            .collect::<DictResult<_>>()?;
        self.store.commit(&physical)
    }
}

/// `shared/x` stays; `priv/x` becomes `priv/<user>/x` (the user name with
/// `%` and `/` escaped), so each user's private keys are their own.
pub fn physical_key(username: Option<&str>, key: &str) -> DictResult<String> {
    if key.len() > MAX_KEY_LEN {
        return Err(DictError::Invalid(format!(
            "key of {} bytes is over the {MAX_KEY_LEN}-byte limit",
            key.len()
        )));
    }
    if key.starts_with("shared/") {
        return Ok(key.to_string());
    }
    match (key.strip_prefix("priv/"), username) {
        (Some(rest), Some(user)) if !user.is_empty() => Ok(format!(
            "priv/{}/{rest}",
            user.replace('%', "%25").replace('/', "%2F")
        )),
        (Some(_), _) => Err(DictError::Invalid(format!(
            "private key {key:?} used without a user name"
        ))),
        (None, _) => Err(DictError::Invalid(format!(
            "key {key:?} starts with neither shared/ nor priv/"
        ))),
    }
}

fn logical_key(
    username: Option<&str>,
    path: &str,
    physical_path: &str,
    physical: String,
) -> String {
    if path.starts_with("priv/") && username.is_some() {
        format!("{path}{}", &physical[physical_path.len()..])
    } else {
        physical
    }
}
